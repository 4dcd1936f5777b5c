import json

import numpy as np
import pytest

from moderation.errors import DataError
from training.data import combine, group_split, read_labelled


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_csv_and_jsonl_with_partial_labels(tmp_path):
    csv_file = write(tmp_path / "mods.csv", 'text,respect,promotional,author\n"Hi, all",0,,ann\nYou fool,1,0,bob\n')
    data = read_labelled(csv_file)
    assert data.texts == ["Hi, all", "You fool"]
    assert data.labels["respect"].tolist() == [0.0, 1.0]
    assert np.isnan(data.labels["promotional"][0]) and data.labels["promotional"][1] == 0.0
    jsonl = write(tmp_path / "spam.jsonl", '{"text": "buy now", "promotional": 1}\n\n{"text": "ok", "promotional": "0"}\n')
    both = combine([data, read_labelled(jsonl)])
    assert len(both) == 4
    assert np.isnan(both.labels["respect"][2:]).all()
    assert both.labels["promotional"][2:].tolist() == [1.0, 0.0]
    assert [s["rows"] for s in both.sources] == [2, 2] and len(both.sources[0]["sha256"]) == 64


@pytest.mark.parametrize("name,content,message", [
    ("a.csv", "text,respect\nhello,yes\n", "label 'yes' for rule 'respect' must be 1, 0 or blank"),
    ("a.jsonl", '{"text": "hi", "respect": 2}\n', "label 2 for rule 'respect' must be 1, 0 or blank"),
    ("a.csv", "text,respectt\nhello,1\n", "unknown rule id 'respectt'"),
    ("a.csv", "text,respect\n", "holds no labelled rows"),
    ("a.jsonl", "", "holds no labelled rows"),
    ("a.jsonl", '{"text": "hi"\n', "line 1: not valid JSON"),
    ("a.jsonl", '["hi"]\n', "expected a JSON object"),
    ("a.csv", "respect\n1\n", "\"text\" is missing or empty"),
    ("a.txt", "hello", "unknown file type '.txt'"),
])
def test_bad_data_is_one_line_naming_the_value(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError) as info:
        read_labelled(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(DataError, match="cannot read .*nope.csv"):
        read_labelled(tmp_path / "nope.csv")
    path = write(tmp_path / "latin.csv", "text,respect\ncaf\xe9,0\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"not UTF-8 text \(byte 0xe9 at offset 16\)"):
        read_labelled(path)


def test_group_split_keeps_groups_and_near_copies_together(tmp_path):
    rows = [{"text": f"comment number {i}", "respect": i % 2} for i in range(50)]
    rows += [{"text": "Comment number 7!!", "respect": 1}, {"text": "x", "respect": 0, "group": "g1"},
             {"text": "y", "respect": 1, "group": "g1"}]
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows))
    data = read_labelled(path)
    held = group_split(data.groups, 0.3, seed=3)
    assert held[7] == held[50]          # the same text up to case and punctuation
    assert held[51] == held[52]         # an explicit group
    assert 0.15 < held.mean() < 0.45
    assert (group_split(data.groups, 0.3, seed=3) == held).all()


def test_mixed_rows_keep_labels_and_groups(tmp_path):
    from training.train import with_mixed_rows

    rows = [{"text": f"clean comment {i}", "respect": 0, "accusations": 0, "foul_language": 0, "promotional": 0}
            for i in range(6)]
    rows += [{"text": "you utter fool", "respect": 1, "accusations": 0, "foul_language": 0, "promotional": 0},
             {"text": "spam here", "promotional": 1}]
    data = read_labelled(write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows)))
    texts, labels, groups = with_mixed_rows(data, share=2.0, seed=1)
    assert len(texts) == 3 * len(data) and texts[:len(data)] == data.texts
    clean = [i for i in range(6)]

    def same(a, b):
        return a == b or (np.isnan(a) and np.isnan(b))

    for k in range(len(data), len(texts)):
        # Some labelled row i joined (either way round) to some clean row c explains row k.
        assert any(texts[k] in (f"{data.texts[i]} {data.texts[c]}", f"{data.texts[c]} {data.texts[i]}")
                   and groups[k] == data.groups[i]
                   and all(same(labels[r][k], data.labels[r][i]) for r in labels)
                   for i in range(len(data)) for c in clean), texts[k]
    assert with_mixed_rows(data, share=0.0, seed=1)[0] == data.texts


def test_a_corpus_trains_a_rule_on_our_readers_rows_only_when_its_entry_says_ours(monkeypatch):
    import dataclasses

    import numpy as np

    from training import corpora
    from training.config import load_config
    from training.data import LabelledData
    from training.train import select_corpus_rules

    monkeypatch.setattr(corpora, "our_labels", lambda: {"civil-comments-toxic-spans": {"7": {"foul_language": 0}}})
    data = LabelledData(texts=["a", "b", "c"], labels={"foul_language": np.array([0.0, 1.0, 1.0]),
                                                     "respect": np.array([1.0, 0.0, 1.0])},
                        groups=["1", "2", "3"], origins=["civil-comments-toxic-spans:7", "civil-comments-toxic-spans:8",
                                                         "olid:1"])
    config = load_config()
    for trains, expected in ((("respect", "foul_language:ours"), [0.0, np.nan]),
                             (("respect",), [np.nan, np.nan]), (("respect", "foul_language"), [0.0, 1.0])):
        chosen = select_corpus_rules(data, dataclasses.replace(config, corpora={**config.corpora,
                                                                                "civil-comments-toxic-spans": trains}))
        np.testing.assert_array_equal(chosen.labels["foul_language"][:2], expected)
        assert chosen.labels["respect"][0] == 1.0


def test_a_corpus_entry_with_an_unknown_suffix_is_refused_in_one_line(tmp_path):
    import pytest

    from moderation.errors import ModerationError
    from training.config import load_config

    path = tmp_path / "c.toml"
    path.write_text('[corpora]\ncivil-comments-toxic-spans = ["foul_language:theirs"]\n')
    with pytest.raises(ModerationError, match="optionally with ':ours'"):
        load_config(path)
