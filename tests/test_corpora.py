"""Each corpus adapter on a few rows written here, in the corpus's own file format (never copied
from a corpus), plus integration checks on the real corpora when ../shared/data is present."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from training.corpora import ADAPTERS, load_corpus
from training.data import combine, deduplicate, group_split

SHARED = Path(os.environ.get("MODERATION_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_corpora = pytest.mark.skipif(not (SHARED / "civil-comments-toxic-spans").is_dir(),
                                   reason=f"public corpora not found at {SHARED} (set MODERATION_CORPORA)")


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def rows_of(name, folder, extra=None, holdout=()):
    data = load_corpus(ADAPTERS[name], folder, extra or {}, holdout)
    return data, {rule: [None if np.isnan(v) else int(v) for v in values] for rule, values in data.labels.items()}


def test_civil_comments_span_types_and_our_labels(tmp_path):
    write(tmp_path, "acl2022/comments.csv", 'comment_id,comment_text\n1,"You absolute clown, what a crap idea"\n'
                                            '2,"The mayor took bribes, plain and simple"\n3,"Nobody annotated me"\n')
    write(tmp_path, "acl2022/annotations.csv", "annotation,comment_id,worker,country,all toxic,not toxic\n"
                                               "10,1,a,USA,False,False\n11,1,b,USA,False,False\n12,1,c,USA,False,False\n"
                                               "20,2,a,USA,False,False\n21,2,b,USA,False,False\n")
    write(tmp_path, "acl2022/spans.csv", "annotation,type,start,end\n10,Insult,13,18\n11,Insult,13,18\n"
                                         "10,Profane/Obscene,27,31\n21,Insult,4,9\n")
    data, labels = rows_of("civil-comments-toxic-spans", tmp_path,
                           {"civil-comments-toxic-spans": {"2": {"accusations": 1}}})
    assert data.texts == ["You absolute clown, what a crap idea", "The mayor took bribes, plain and simple"]
    assert labels["respect"] == [1, 0]          # 2 of 3 annotators vs 1 of 2
    assert labels["foul_language"] == [1, 0]    # any annotator's Profane/Obscene span (1 of 3 here)
    assert labels["accusations"] == [None, 1]
    assert data.origins == ["civil-comments-toxic-spans:1", "civil-comments-toxic-spans:2"]


def test_civil_comments_sample_our_labels_first_then_the_raters_shares(tmp_path):
    write(tmp_path, "care-civilcomments.csv",
          "label,text,toxicity,severe_toxicity,obscene,threat,insult,identity_attack,sexual_explicit\n"
          '1,"You are a fool and a liar, Senator",0.8,0.1,0.0,0.0,0.7,0.0,0.0\n'
          '1,"What a clown show, truly",0.6,0.0,0.0,0.0,0.6,0.0,0.0\n'
          '0,"Thanks for the clear story",0.0,0.0,0.0,0.0,0.0,0.0,0.0\n'
          '0,"Not sure that is fair to them",0.3,0.0,0.0,0.0,0.3,0.0,0.0\n'
          '0,"The damn bus was late again",0.4,0.0,0.6,0.0,0.1,0.0,0.0\n')
    write(tmp_path, "sociosim-civilcomments.jsonl", json.dumps({"text": "Good point about the levy", "label": 0}) + "\n"
          + json.dumps({"text": "Toxic but who knows what", "label": 1}) + "\n"
          + json.dumps({"text": "The mayor lied to us all", "label": 1}) + "\n")
    ours = {"civil-comments-sample": {"care:0": {"respect": 1, "accusations": 1, "foul_language": 0, "foul_tier": 0},
                                      "sociosim:2": {"respect": 0, "accusations": 1, "foul_language": 0}}}
    data, labels = rows_of("civil-comments-sample", tmp_path, ours)
    assert data.origins[0] == "civil-comments-sample:care:0" and data.origins[-1] == "civil-comments-sample:sociosim:2"
    assert labels["respect"] == [1, 1, 0, None, 0, 0, None, 0]   # ours; share >= 0.5; < 0.2; between; ...
    assert labels["accusations"] == [1, None, None, None, None, None, None, 1]
    assert labels["foul_language"] == [0, None, None, None, None, None, None, 0]   # CARE's obscene share unused
    assert data.sources[0]["domain"] == "news"


def test_reddit_incivility_codes(tmp_path):
    write(tmp_path, "incivility_coded_0302.csv", 'comment,correction\n"you utter muppet",1\n"fair point",0\n"",1\n')
    data, labels = rows_of("reddit-incivility", tmp_path)
    assert labels["respect"] == [1, 0] and data.sources[0]["domain"] == "Reddit"


def test_davidson_classes(tmp_path):
    write(tmp_path, "labeled_data.csv", ",count,hate_speech,offensive_language,neither,class,tweet\n"
                                        "0,3,3,0,0,0,hateful words here\n1,3,0,3,0,1,damn this traffic\n"
                                        "2,3,0,0,3,2,lovely day at the lake\n")
    _, labels = rows_of("davidson-hate-offensive", tmp_path)
    assert labels["foul_language"] == [1, 1, 0]
    assert labels["respect"] == [1, None, 0]


def test_olid_subtasks(tmp_path):
    write(tmp_path, "olid-training-v1.0.tsv", "id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
                                              "1\t@USER what a sh*t day\tOFF\tUNT\tNULL\n"
                                              "2\t@USER you are a fool\tOFF\tTIN\tIND\n"
                                              "3\t@USER the league is rigged\tOFF\tTIN\tOTH\n"
                                              "4\t@USER nice goal\tNOT\tNULL\tNULL\n")
    data, labels = rows_of("olid", tmp_path)
    assert len(data) == 2                       # UNT and TIN/OTH are left out
    assert "foul_language" not in labels
    assert labels["respect"] == [1, 0]


def test_hatexplain_wiki_ethos(tmp_path):
    write(tmp_path / "h", "preprocessed.csv", "text,rationale_pos,label\nthey are vermin,vermin,2\n"
                                              "you are daft,daft,1\nnice weather today,,0\n")
    _, labels = rows_of("hatexplain-magpie", tmp_path / "h")
    assert labels["respect"] == [1, 1, 0]
    write(tmp_path / "w", "gn.csv", "id,text,label,api,parent\na1,please add a source,0,0.1,\na2,you idiot,1,0.9,\n")
    _, labels = rows_of("wiki-context-toxicity", tmp_path / "w")
    assert labels["respect"] == [0, 1]
    write(tmp_path / "e", "Ethos_Dataset_Binary.csv", "comment;isHate\nthose people are animals;0.8\ngreat video;0.0\n")
    _, labels = rows_of("ethos", tmp_path / "e")
    assert labels["respect"] == [1, 0]


def test_youtube_groups_by_video_and_holds_a_video_out(tmp_path):
    header = "COMMENT_ID,AUTHOR,DATE,CONTENT,label\n"
    write(tmp_path, "Youtube01-Alpha.csv", header + 'a1,x,2014,"check out my channel<br />now",1\na2,y,2014,great song,0\n')
    write(tmp_path, "Youtube02-Beta.csv", header + "b1,z,2014,love this &amp; that,0\n")
    data, labels = rows_of("youtube-spam", tmp_path, holdout={"youtube-spam:Youtube02-Beta"})
    assert data.texts == ["check out my channel\nnow", "great song", "love this & that"]
    assert labels["promotional"] == [1, 0, 0]
    assert data.groups == ["youtube-spam:Youtube01-Alpha"] * 2 + ["youtube-spam:Youtube02-Beta"]
    assert data.forced_test.tolist() == [False, False, True]
    held = group_split(data.groups, 0.0, seed=1, forced=data.forced_test)
    assert held.tolist() == [False, False, True]


def test_sms_reddit_propaganda(tmp_path):
    write(tmp_path / "s", "SMSSpamCollection.tsv", 'Label\tSMS\nspam\tWIN a "free" prize now\nham\tsee you at 5\n')
    _, labels = rows_of("sms-spam", tmp_path / "s")
    assert labels["promotional"] == [1, 0]
    write(tmp_path / "r", "macro-norm-violations-n10-t8-personal-attacks.csv", "you are a clown\n\nget lost troll\n")
    write(tmp_path / "r", "macro-norm-violations-n10-t5-porno-links.csv", "hot pics here\n")
    write(tmp_path / "r", "macro-norm-violations-n10-t3-opposing-political-views-trump.csv", "vote for him\n")
    data, labels = rows_of("reddit-norm-violations", tmp_path / "r")
    assert sorted(zip(data.texts, labels["respect"], labels["promotional"]), key=str) == sorted(
        [("get lost troll", 1, None), ("hot pics here", None, 1), ("you are a clown", 1, None)], key=str)
    items = [{"id": 1, "labels": ["Smears", "Loaded Language"], "text": "HE STOLE THE ELECTION"},
             {"id": 2, "labels": ["Slogans"], "text": "VOTE TODAY"}]
    for name in ("training_set_task1.json", "dev_set_task1.json", "test_set_task1.json"):
        write(tmp_path / "p", name, json.dumps(items if name.startswith("training") else []))
    _, labels = rows_of("semeval2021-task6-propaganda", tmp_path / "p")
    assert labels["accusations"] == [1, 0]


def test_a_broken_corpus_is_a_one_line_error(tmp_path):
    from moderation.errors import DataError

    write(tmp_path, "labeled_data.csv", "tweet\nno class column\n")
    with pytest.raises(DataError, match="corpus davidson-hate-offensive .* could not be read"):
        load_corpus(ADAPTERS["davidson-hate-offensive"], tmp_path, {})


def test_deduplicate_merges_near_copies_and_blanks_conflicts(tmp_path):
    write(tmp_path / "s", "SMSSpamCollection.tsv", "Label\tSMS\nspam\tWIN a prize at http://x.co now!!\n"
                                                   "spam\twin a PRIZE at http://y.co now\nham\tWin a prize at: now 22\n"
                                                   "ham\tsee you at five\n")
    data, _ = rows_of("sms-spam", tmp_path / "s")
    merged, count = deduplicate(combine([data]))
    assert count == 2 and len(merged) == 2
    assert np.isnan(merged.labels["promotional"][0]) and merged.labels["promotional"][1] == 0


def test_every_committed_label_is_two_readers_agreeing_or_the_third_deciding():
    """Each file of our labels with readers' files beside it (``readers/NAME-A.csv``, ``-B``, ``-C``):
    every post in it was read by the first two, and each label is theirs where they agree and the
    third reader's where they do not."""
    import csv

    folder = Path(__file__).resolve().parents[1] / "training" / "labels"

    def read(path):
        if not path.exists():
            return {}
        with path.open(newline="", encoding="utf-8") as f:
            return {(r["corpus"], r["row_id"]): r for r in csv.DictReader(f)}

    checked = 0
    for path in sorted(folder.glob("*.csv")):
        first = folder / "readers" / f"{path.stem}-A.csv"
        if not first.exists():
            continue
        final, a, b = read(path), read(first), read(folder / "readers" / f"{path.stem}-B.csv")
        c = read(folder / "readers" / f"{path.stem}-C.csv")
        columns = [k for k in next(iter(a.values())) if k not in ("corpus", "row_id")]
        assert set(final) == set(a) == set(b), path.name
        for key, row in final.items():
            for column in columns:
                if column in row:
                    agreed = a[key][column] == b[key][column]
                    assert row[column] == (a[key][column] if agreed else c[key][column]), (path.name, key, column)
                    checked += 1
    assert checked > 10_000


@needs_corpora
def test_real_corpora_load_with_the_documented_mapping():
    from training.corpora import load_corpora, our_labels

    parts = {p.sources[0]["name"]: p for p in load_corpora(SHARED, holdout_groups={"youtube-spam:Youtube04-Eminem"})}
    assert {"civil-comments-toxic-spans", "davidson-hate-offensive", "youtube-spam", "sms-spam"} <= set(parts)
    civil = parts["civil-comments-toxic-spans"]
    labelled = ~np.isnan(civil.labels["accusations"])
    ours = our_labels()["civil-comments-toxic-spans"]
    read_for_accusations = [row for row, labels in ours.items() if "accusations" in labels]
    assert labelled.sum() == len(read_for_accusations) >= 1500 and np.nansum(civil.labels["accusations"]) >= 400
    # Our readers' foul-language label replaces the annotators' spans on the posts they read.
    index = {row_id: i for i, row_id in enumerate(o.split(":", 1)[1] for o in civil.origins)}
    read_for_foul = {row: labels["foul_language"] for row, labels in ours.items() if "foul_language" in labels}
    assert len(read_for_foul) >= 2000
    assert all(civil.labels["foul_language"][index[row]] == value for row, value in read_for_foul.items())
    youtube = parts["youtube-spam"]
    assert youtube.forced_test.any() and not youtube.forced_test.all()
    for part in parts.values():
        assert all(0 < len(t) for t in part.texts)


@pytest.fixture(scope="module")
def spam_corpora(tmp_path_factory):
    """A corpora folder holding only the two spam corpora: real data, small enough for a test."""
    folder = tmp_path_factory.mktemp("corpora")
    for name in ("youtube-spam", "sms-spam"):
        (folder / name).symlink_to(SHARED / name)
    return folder


@needs_corpora
def test_train_and_evaluate_on_real_corpora(spam_corpora, tmp_path):
    from tests.conftest import TINY, TINY_CONFIG
    from training.train import train
    from training.evaluate import evaluate

    artifact = train([TINY], with_starter=False, corpora=spam_corpora, config=TINY_CONFIG, out=tmp_path / "m.joblib")
    names = {s["name"]: s for s in artifact.card["data"]["sources"]}
    assert {"tiny.jsonl", "youtube-spam", "sms-spam"} <= set(names)
    assert names["youtube-spam"]["licence"].startswith("CC BY 4.0")
    report = evaluate(tmp_path / "m.joblib", corpora=spam_corpora, out=tmp_path / "report", peer=False)
    video = report["by_source"]["promotional@youtube-spam:Youtube04-Eminem"]
    assert video["rows"] > 300 and video["roc_auc"] > 0.8       # a whole video never trained on
    sms = report["by_source"]["promotional@sms-spam"]["rows"]
    assert 0.15 * 5574 < sms < 0.25 * 5574                      # the training split's held-out share only
    assert report["by_source"]["promotional@starter.jsonl"]["rows"] > 2000   # never trained on: all held out
    assert (tmp_path / "report" / "report.md").read_text().startswith("# Evaluation of model")
    assert (tmp_path / "report" / "pr-promotional.png").stat().st_size > 1000
