"""Adapters for the public labelled corpora: each reads a corpus's original files and yields rows
with partial rule labels. The mapping (which label counts as positive or negative for which rule,
which rows are left out and why) is the table in README.md, and each adapter's docstring.

Nothing here copies corpus text into the project: texts are read from the folder given at run time.
Our own accusation labels for corpus comments live in ``training/labels/*.csv`` as
``(corpus, row_id, label)`` only, and are joined to the texts here.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

from moderation.errors import DataError

from .data import NEWS, LabelledData, _text_key

csv.field_size_limit(10_000_000)


@dataclass
class Row:
    text: str
    labels: dict[str, int]
    row_id: str
    group: str | None = None      # a source group (a video, a thread) kept whole on one side of a split
    split: str | None = None      # "test" forces the row into the held-out part


@dataclass(frozen=True)
class Adapter:
    name: str                       # the folder name under the corpora directory
    licence: str
    rules: tuple[str, ...]
    read: Callable[[Path, dict], Iterator[Row]]
    files: tuple[str, ...]          # files whose hashes identify the data
    domain: str                     # where the comments were posted: NEWS, or another kind of site
    train: bool = True              # False: evaluation only (e.g. positives-only corpora)
    note: str = ""


def _labels_path() -> Path:
    return Path(str(resources.files("training") / "labels"))


@lru_cache(maxsize=1)
def our_labels() -> dict[str, dict[str, dict[str, int | str]]]:
    """Our own labels for corpus rows: corpus -> row id -> {column: value}. Rule columns hold 0/1;
    other columns (``foul_tier``: 0 none, 1 mild words only, 2 strong; ``sample``: how the row was
    drawn) describe the row."""
    out: dict[str, dict[str, dict[str, int | str]]] = defaultdict(lambda: defaultdict(dict))
    folder = _labels_path()
    for path in sorted(folder.glob("*.csv")) if folder.exists() else []:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for column, value in row.items():
                    if column in ("corpus", "row_id") or value in (None, ""):
                        continue
                    out[row["corpus"]][row["row_id"]][column] = int(value) if value.isdigit() else value
    return out


def _rule_labels(values: dict) -> dict[str, int]:
    from moderation.detectors import RULE_IDS

    return {k: v for k, v in values.items() if k in RULE_IDS}


def _csv(path: Path, **kwargs) -> Iterator[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, **kwargs)


# --- civil comments (news-site comments) ----------------------------------------------------------

def read_civil_comments(folder: Path, extra: dict) -> Iterator[Row]:
    """Civil Comments posts with toxic-span annotations (acl2022 release).

    foul_language: 1 when any annotator marked a Profane/Obscene span, else 0. (Each annotator picks
    one type per span, so a majority rule labelled most profane posts clean: an insult made with a
    swear word was marked Insult by most.)
    respect: 1 when more than half marked an Insult, Identity based Attack or Threat span, else 0.
    accusations: our own labels (training/labels/accusations.csv), blank elsewhere.
    Posts with no annotators are left out (nothing was judged).
    """
    base = folder / "acl2022"
    annotators: dict[str, set] = defaultdict(set)
    for row in _csv(base / "annotations.csv"):
        annotators[row["comment_id"]].add(row["annotation"])
    owner = {}
    for comment_id, annotation_ids in annotators.items():
        for a in annotation_ids:
            owner[a] = comment_id
    marked: dict[tuple[str, str], set] = defaultdict(set)
    for row in _csv(base / "spans.csv"):
        comment_id = owner.get(row["annotation"])
        if comment_id is not None:
            marked[(comment_id, row["type"])].add(row["annotation"])
    ours = extra.get("civil-comments-toxic-spans", {})
    for row in _csv(base / "comments.csv"):
        cid, text = row["comment_id"], row["comment_text"]
        n = len(annotators.get(cid, ()))
        if n == 0 or not text.strip():
            continue

        def share(*types):
            return len(set().union(*(marked.get((cid, t), set()) for t in types))) / n

        labels = {"foul_language": int(share("Profane/Obscene") > 0),
                  "respect": int(share("Insult", "Identity based Attack", "Threat") > 0.5)}
        labels.update(_rule_labels(ours.get(cid, {})))
        yield Row(text=text, labels=labels, row_id=cid)


def read_civil_sample(folder: Path, extra: dict) -> Iterator[Row]:
    """Two general samples of the Civil Comments stream (not selected for toxicity).

    Rows we labelled (training/labels/civil-comments-sample*.csv: two readers each, a third on
    disagreements): our accusations, foul_language (strong words as written) and respect labels,
    and volume and promotional for the rows that shout at all or hold a link.
    Other rows of care-civilcomments.csv: respect 1 when the share of raters who saw an insult,
    identity attack or threat is at least 0.5, 0 when it is under ``RESPECT_CLEAN_BELOW``, blank in
    between; other rows of sociosim-civilcomments.jsonl: respect 0 for its non-toxic rows (toxicity
    under 0.1), blank for its toxic ones (toxic is not always an attack). CARE's ``obscene`` share
    is a rating of offensiveness, not of foul words: not used.
    """
    ours = extra.get("civil-comments-sample", {})
    for i, row in enumerate(_csv(folder / "care-civilcomments.csv")):
        rid = f"care:{i}"
        if rid in ours:
            labels = _rule_labels(ours[rid])
        else:
            attack = max(float(row[k] or 0) for k in ("insult", "identity_attack", "threat"))
            labels = {"respect": 1} if attack >= 0.5 else ({"respect": 0} if attack < RESPECT_CLEAN_BELOW else {})
        yield Row(text=row["text"], labels=labels, row_id=rid)
    with open(folder / "sociosim-civilcomments.jsonl", encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if not line.strip():
                continue
            item = json.loads(line)
            rid = f"sociosim:{i}"
            labels = _rule_labels(ours[rid]) if rid in ours else ({"respect": 0} if int(item["label"]) == 0 else {})
            yield Row(text=item["text"], labels=labels, row_id=rid)


#: care-civilcomments rows with a smaller share of raters seeing an attack are respect 0.
RESPECT_CLEAN_BELOW = 0.2


# --- Twitter offence corpora ----------------------------------------------------------------------

def read_davidson(folder: Path, extra: dict) -> Iterator[Row]:
    """Davidson et al.: class 0 hate, 1 offensive, 2 neither (crowd majority).

    foul_language: 1 for hate or offensive (mostly profanity and slurs), 0 for neither.
    respect: 1 for hate, 0 for neither; blank for offensive (often untargeted profanity).
    """
    for row in _csv(folder / "labeled_data.csv"):
        cls = int(row["class"])
        labels = {"foul_language": int(cls in (0, 1))}
        if cls != 1:
            labels["respect"] = int(cls == 0)
        yield Row(text=row["tweet"], labels=labels, row_id=row[""] if "" in row else row.get("Unnamed: 0", ""))


def read_olid(folder: Path, extra: dict) -> Iterator[Row]:
    """OLID: subtask a OFF/NOT, b TIN (targeted) / UNT (untargeted), c IND/GRP/OTH.

    respect: 1 for OFF/TIN aimed at an individual or group (IND/GRP), 0 for NOT; other offensive
    tweets are left out. foul_language is not used: "untargeted offensive" is often no foul word at
    all (held-out ROC AUC of a model trained with it was 0.68 on OLID rows).
    Training file only; the small test set is left out (its labels are in three CR-ended files).
    """
    with open(folder / "olid-training-v1.0.tsv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            a, b, c = row["subtask_a"], row["subtask_b"], row["subtask_c"]
            labels = {}
            if a == "NOT":
                labels = {"respect": 0}
            elif b == "TIN" and c in ("IND", "GRP"):
                labels = {"respect": 1}
            if labels:
                yield Row(text=row["tweet"], labels=labels, row_id=row["id"])


def read_hatexplain(folder: Path, extra: dict) -> Iterator[Row]:
    """HateXplain (MAGPIE copy, lower-cased, no punctuation): respect 1 for hate or offensive,
    0 for normal. foul_language is left blank: "offensive" there is not always a foul word."""
    for i, row in enumerate(_csv(folder / "preprocessed.csv")):
        label = str(row.get("label", "")).strip().lower()
        mapped = {"hatespeech": 1, "hate": 1, "offensive": 1, "normal": 0, "0": 0, "1": 1, "2": 1}.get(label)
        if mapped is None or not row.get("text", "").strip():
            continue
        yield Row(text=row["text"], labels={"respect": mapped}, row_id=str(i))


def read_wiki(folder: Path, extra: dict) -> Iterator[Row]:
    """Wikipedia talk-page comments (gn.csv: judged without context): respect = toxic label."""
    for row in _csv(folder / "gn.csv"):
        yield Row(text=row["text"], labels={"respect": int(float(row["label"]) >= 0.5)}, row_id=row["id"])


def read_ethos(folder: Path, extra: dict) -> Iterator[Row]:
    """ETHOS binary (YouTube and Reddit comments): respect 1 when isHate >= 0.5."""
    with open(folder / "Ethos_Dataset_Binary.csv", encoding="utf-8", newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle, delimiter=";")):
            yield Row(text=row["comment"], labels={"respect": int(float(row["isHate"]) >= 0.5)}, row_id=str(i))


# --- spam -----------------------------------------------------------------------------------------

def read_youtube(folder: Path, extra: dict) -> Iterator[Row]:
    """YouTube comments on 5 music videos: promotional = spam label. The video is the source
    group; the video named in the training config's ``holdout_groups`` is never trained on."""
    for path in sorted(folder.glob("Youtube*.csv")):
        video = path.stem
        for row in _csv(path):
            text = html.unescape(re.sub(r"<br\s*/?>", "\n", row["CONTENT"]))
            label = row.get("label", row.get("CLASS"))
            yield Row(text=text, labels={"promotional": int(label)}, row_id=row["COMMENT_ID"], group=video)


def read_sms(folder: Path, extra: dict) -> Iterator[Row]:
    """SMS Spam Collection: promotional 1 for spam, 0 for ham (SMS, a fallback for spam wording)."""
    with open(folder / "SMSSpamCollection.tsv", encoding="utf-8", newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)):
            yield Row(text=row["SMS"], labels={"promotional": int(row["Label"] == "spam")}, row_id=str(i))


def read_reddit(folder: Path, extra: dict) -> Iterator[Row]:
    """Comments removed by Reddit moderators (positives only, lower-cased, punctuation stripped):
    respect 1 for the personal-attack, name-calling, hate-speech and slur files; promotional 1 for
    porn links. Evaluation only: with no negatives it cannot teach precision."""
    mapping = {"personal-attacks": "respect", "namecalling": "respect", "hatespeech": "respect",
               "misogynistic-slurs": "respect", "verbal-attacks": "respect", "porno-links": "promotional"}
    for path in sorted(folder.glob("macro-norm-violations-*.csv")):
        rule = next((r for key, r in mapping.items() if key in path.name), None)
        if rule is None:
            continue
        with open(path, encoding="utf-8", newline="") as handle:
            for i, line in enumerate(handle):
                if line.strip():
                    yield Row(text=line.strip(), labels={rule: 1}, row_id=f"{path.stem}:{i}")


def read_reddit_incivility(folder: Path, extra: dict) -> Iterator[Row]:
    """Reddit comments coded for incivility by the corpus authors: respect = the ``correction`` code
    (1 uncivil, 0 civil)."""
    for i, row in enumerate(_csv(folder / "incivility_coded_0302.csv")):
        value = str(row.get("correction", "")).strip()
        if value in ("0", "1") and row.get("comment", "").strip():
            yield Row(text=row["comment"], labels={"respect": int(value)}, row_id=str(i))


# --- claims and smears (related to accusations) ---------------------------------------------------

def read_propaganda(folder: Path, extra: dict) -> Iterator[Row]:
    """SemEval-2021 task 6 memes: accusations 1 for the "Smears" technique, else 0. A related label
    (meme text, not comments); measured as extra rows, see README."""
    for name in ("training_set_task1.json", "dev_set_task1.json", "test_set_task1.json"):
        for item in json.loads((folder / name).read_text(encoding="utf-8")):
            yield Row(text=item["text"], labels={"accusations": int("Smears" in item["labels"])}, row_id=str(item["id"]))


ADAPTERS: dict[str, Adapter] = {a.name: a for a in (
    Adapter("civil-comments-toxic-spans", "CC0 1.0", ("foul_language", "respect", "accusations"), read_civil_comments,
            ("acl2022/comments.csv", "acl2022/annotations.csv", "acl2022/spans.csv"), NEWS),
    Adapter("civil-comments-sample", "CC0 1.0 (Civil Comments); samples from CARE (no licence stated) and sociosim (MIT)",
            ("respect", "accusations", "foul_language", "volume", "promotional"), read_civil_sample,
            ("care-civilcomments.csv", "sociosim-civilcomments.jsonl"), NEWS),
    Adapter("davidson-hate-offensive", "MIT", ("foul_language", "respect"), read_davidson, ("labeled_data.csv",),
            "tweets"),
    Adapter("olid", "not stated; research use", ("respect",), read_olid, ("olid-training-v1.0.tsv",), "tweets"),
    Adapter("hatexplain-magpie", "MIT (HateXplain), Apache-2.0 (MAGPIE copy)", ("respect",), read_hatexplain,
            ("preprocessed.csv",), "tweets and Gab"),
    Adapter("wiki-context-toxicity", "Apache-2.0; Wikipedia text CC BY-SA", ("respect",), read_wiki, ("gn.csv",),
            "Wikipedia talk"),
    Adapter("ethos", "GPL-3.0", ("respect",), read_ethos, ("Ethos_Dataset_Binary.csv",), "YouTube and Reddit"),
    Adapter("youtube-spam", "CC BY 4.0 (UCI)", ("promotional",), read_youtube,
            ("Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv", "Youtube04-Eminem.csv",
             "Youtube05-Shakira.csv"), "YouTube"),
    Adapter("sms-spam", "CC BY 4.0 (UCI)", ("promotional",), read_sms, ("SMSSpamCollection.tsv",), "SMS"),
    Adapter("reddit-incivility", "BSD-3-Clause", ("respect",), read_reddit_incivility,
            ("incivility_coded_0302.csv",), "Reddit"),
    Adapter("reddit-norm-violations", "not stated", ("respect", "promotional"), read_reddit, (), "Reddit",
            train=False, note="positives only: evaluation (recall) only"),
    Adapter("semeval2021-task6-propaganda", "free for general research use", ("accusations",), read_propaganda,
            ("training_set_task1.json", "dev_set_task1.json", "test_set_task1.json"), "memes", train=False,
            note="related label (smears in memes); measured as extra rows, not used by default"),
)}


def corpus_hash(adapter: Adapter, folder: Path) -> str:
    digest = hashlib.sha256()
    for name in adapter.files or sorted(p.name for p in folder.iterdir() if p.is_file()):
        path = folder / name
        if path.exists():
            digest.update(name.encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def found_corpora(directory: Path) -> list[Adapter]:
    """The known corpora present under ``directory`` (a folder per corpus)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"corpora directory {directory} does not exist; give the folder that holds the corpus folders "
                        f"(e.g. ../shared/data)")
    return [a for name, a in ADAPTERS.items() if (directory / name).is_dir()]


def load_corpus(adapter: Adapter, folder: Path, extra: dict, holdout_groups=()):
    """One corpus as LabelledData: rows, partial labels, source groups and forced held-out rows."""
    import numpy as np

    from moderation.detectors import RULE_IDS


    texts, groups, forced, origins = [], [], [], []
    columns: dict[str, list] = {r: [] for r in RULE_IDS}
    try:
        for row in adapter.read(folder, extra):
            if not row.text or not row.text.strip():
                continue
            texts.append(row.text)
            group = f"{adapter.name}:{row.group}" if row.group else _text_key(row.text)
            groups.append(group)
            forced.append(row.split == "test" or (row.group is not None and group in holdout_groups))
            origins.append(f"{adapter.name}:{row.row_id}")
            for rule in RULE_IDS:
                columns[rule].append(row.labels.get(rule, np.nan))
    except (OSError, KeyError, ValueError, csv.Error, json.JSONDecodeError) as exc:
        raise DataError(f"corpus {adapter.name} in {folder} could not be read ({type(exc).__name__}: {exc}); "
                        "check that the folder holds the original files described in its PROVENANCE.md") from None
    labels = {r: np.asarray(v, dtype=np.float64) for r, v in columns.items() if not np.all(np.isnan(np.asarray(v, dtype=float)))}
    source = {"name": adapter.name, "rows": len(texts), "sha256": corpus_hash(adapter, folder), "licence": adapter.licence,
              "domain": adapter.domain}
    return LabelledData(texts=texts, labels=labels, groups=groups, sources=[source],
                        forced_test=np.asarray(forced, dtype=bool), origins=origins)


def load_corpora(directory: Path, holdout_groups=(), training_only: bool = True, say=lambda m: None) -> list:
    """Every known corpus found under ``directory`` (those meant for training, by default)."""
    extra = our_labels()
    parts = []
    for adapter in found_corpora(directory):
        if training_only and not adapter.train:
            continue
        part = load_corpus(adapter, Path(directory) / adapter.name, extra, holdout_groups)
        say(f"{adapter.name}: {len(part)} rows")
        parts.append(part)
    return parts
