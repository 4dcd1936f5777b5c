import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.artifact import metadata_path
from moderation.cli import main
from tests.conftest import TINY, TINY_CONFIG

BIN = Path(sys.executable).parent / "moderation"


def run(*args, input=None):
    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output
    return result


def one_line_error(result, code=1):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    # Progress lines may come first; the error itself is one line, and the last.
    assert len(errors) == 1 and lines[-1] == errors[0], result.output
    return errors[0]


def test_check_text_prints_the_verdict(tiny_model_path):
    result = run("check", "--model", tiny_model_path, "--id", "c-1", "see a.com/x and b.com/y")
    assert result.exit_code == 0
    verdict = json.loads(result.output)
    assert verdict["id"] == "c-1" and "links" in [f["rule"] for f in verdict["flags"]]


def test_check_reads_stdin(tiny_model_path):
    result = run("check", "--model", tiny_model_path, "-", input="You are a complete idiot\n")
    assert result.exit_code == 0
    assert json.loads(result.output)["scores"]["respect"] > 0


def test_check_jsonl_keeps_order_and_matches_single_checks(tiny_model_path):
    comments = [{"text": t, "id": f"c{i}"} for i, t in enumerate(
        ["Nice work", "You moron", "buy at shop dot com", "THIS IS AWFUL!!!", "ok", "a.com/x b.com/y"])]
    stdin = "\n".join(json.dumps(c) for c in comments) + "\n\n"
    result = run("check", "--model", tiny_model_path, "--jsonl", "--batch-size", "4", input=stdin)
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [v["id"] for v in lines] == [c["id"] for c in comments]
    for comment, verdict in zip(comments, lines):
        single = json.loads(run("check", "--model", tiny_model_path, "--id", comment["id"], comment["text"]).output)
        assert single == verdict


@pytest.mark.parametrize("bad,message", [
    ('{"text": \n', "stdin line 2 is not valid JSON"),
    ('{"id": "x"}\n', "stdin line 2: \"text\" is missing or not a string"),
    ('["text"]\n', "expected a JSON object"),
    ('{"text": "hi", "id": 5}\n', "\"id\" must be a string, got int"),
    ('{"text": "   "}\n', "\"text\" is empty"),
    ('{"text": "hi", "author": "\\ud800"}\n', "\"author\" holds a lone surrogate"),
    (b'{"text": "caf\xe9"}\n', "stdin line 2 is not UTF-8"),
])
def test_check_jsonl_writes_an_error_for_a_bad_line_and_goes_on(tiny_model_path, bad, message):
    good = '{"text": "fine", "id": "a"}\n'
    stdin = good.encode() + (bad if isinstance(bad, bytes) else bad.encode()) + b'{"text": "also fine", "id": "b"}\n'
    result = run("check", "--model", tiny_model_path, "--jsonl", "--batch-size", "8", input=stdin)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("id") for line in lines] == ["a", None, "b"]
    assert lines[1]["line"] == 2 and lines[1]["error"]["code"] == "invalid_line"
    assert message in lines[1]["error"]["message"]
    assert "1 of 3 lines could not be checked" in result.stderr


def test_check_bad_input(tiny_model_path, tmp_path):
    assert "the comment is empty" in one_line_error(run("check", "--model", tiny_model_path, "   "))
    assert "is not UTF-8 (byte 0xff" in one_line_error(run("check", "--model", tiny_model_path, "-", input=b"ok \xff"))
    assert run("check", "--model", tiny_model_path).exit_code == 2  # usage: no text given
    missing = tmp_path / "none.joblib"
    assert f"no model file at {missing}" in one_line_error(run("check", "--model", missing, "hi"))


def test_check_refuses_a_tampered_model(model_copy):
    with open(model_copy, "ab") as handle:
        handle.write(b"!")
    line = one_line_error(run("check", "--model", model_copy, "hello"))
    assert "does not match the SHA-256" in line and "retrain" in line


def test_check_refuses_a_model_from_other_versions(model_copy):
    meta = metadata_path(model_copy)
    card = json.loads(meta.read_text())
    card["versions"]["scikit-learn"] = "0.24.2"
    meta.write_text(json.dumps(card))
    line = one_line_error(run("check", "--model", model_copy, "hello"))
    assert "built with scikit-learn 0.24.2" in line and f"moderation train --out {model_copy}" in line


def _write(path, text):
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("name,content,message", [
    (None, None, "cannot read"),
    ("bad-label.csv", "text,respect\nhello,maybe\n", "label 'maybe' for rule 'respect' must be 1, 0 or blank"),
    ("unknown.csv", "text,rudeness\nhello,1\n", "unknown rule id 'rudeness'"),
    ("empty.jsonl", "", "holds no labelled rows"),
    ("latin.csv", b"text,respect\ncaf\xe9,1\n", "is not UTF-8 text"),
    ("no-positives.jsonl", "\n".join(json.dumps({"text": f"t{i}", "respect": 0, "accusations": i % 2,
                                                  "foul_language": i % 2, "promotional": i % 2}) for i in range(9)),
     "rule 'respect' has no positive rows"),
    ("partial.jsonl", '{"text": "spam", "promotional": 1}\n', "rule 'respect' has no labelled rows"),
])
def test_train_bad_data(tmp_path, name, content, message):
    path = tmp_path / (name or "missing.csv")
    if content is not None:
        _write(path, content)
    line = one_line_error(run("train", "--no-starter", "--data", path, "--out", tmp_path / "m.joblib"))
    assert message in line
    assert not (tmp_path / "m.joblib").exists()


def test_train_bad_config(tmp_path):
    config = _write(tmp_path / "c.toml", 'seed = 1\n[thresholds]\nreview = "best recall"\n')
    line = one_line_error(run("train", "--config", config, "--out", tmp_path / "m.joblib"))
    assert "'best recall' is not a goal" in line
    config = _write(tmp_path / "c2.toml", "sed = 1\n")
    assert "unknown key 'sed'" in one_line_error(run("train", "--config", config))
    config = _write(tmp_path / "c3.toml", "[classifier]\nnb_alpha = -1\n")
    line = one_line_error(run("train", "--config", config))
    assert "classifier.nb_alpha" in line and "-1" in line


def test_train_and_info(tmp_path):
    out = tmp_path / "m.joblib"
    result = run("train", "--no-starter", "--data", TINY, "--config", TINY_CONFIG, "--model", out)
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.output and "respect" in result.output and out.exists()
    info = run("info", "--model", out)
    assert info.exit_code == 0 and "tiny.jsonl" in info.output and "seed 7" in info.output
    card = json.loads(run("info", "--model", out, "--json").output)
    assert card["data"]["sources"][0]["name"] == "tiny.jsonl"


@pytest.mark.parametrize("command", [[], ["check"], ["train"], ["info"]])
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_console_script_reports_non_utf8_argument_without_traceback(tiny_model_path):
    result = subprocess.run([str(BIN), "check", "--model", str(tiny_model_path), b"caf\xe9"],
                            capture_output=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "Error: TEXT is not UTF-8 (byte 0xe9 at offset 3); convert it to UTF-8, e.g. with iconv -t UTF-8"
    assert b"Traceback" not in result.stderr


def test_check_remembers_comments_in_the_db_only_with_store(tiny_model_path, tmp_path):
    text = "The transit board approved the cuts without a single public meeting or any survey of riders."
    db = tmp_path / "h.sqlite3"
    args = ("check", "--model", tiny_model_path, "--db", db, "--author", "ann")
    assert json.loads(run(*args, text).output)["scores"]["repeated"] == 0.0
    assert json.loads(run(*args, text).output)["scores"]["repeated"] == 0.0   # the first was not remembered
    assert json.loads(run(*args, "--store", text).output)["scores"]["repeated"] == 0.0
    second = json.loads(run(*args, "--id", "c2", text).output)
    assert second["scores"]["repeated"] == 1.0
    flag = next(f for f in second["flags"] if f["rule"] == "repeated")
    assert flag["evidence"][0]["earlier"]["author"] == "ann"


def test_per_rule_threshold_goals(tmp_path):
    from training.config import load_config

    config = _write(tmp_path / "c.toml", '[thresholds.rules.respect]\nreview = "maximum f1 @ fpr <= 0.03"\n')
    cfg = load_config(config)
    assert cfg.goals_for("respect")[0] == "maximum f1 @ fpr <= 0.03"
    assert cfg.goals_for("foul_language")[0] == cfg.thresholds.review
    # A file's per-rule goals replace the packaged ones; a file without any keeps them.
    assert cfg.goals_for("accusations")[0] == cfg.thresholds.review != load_config().goals_for("accusations")[0]
    kept = load_config(_write(tmp_path / "k.toml", "seed = 3\n"))
    assert kept.goals_for("accusations") == load_config().goals_for("accusations") and kept.seed == 3
    bad = _write(tmp_path / "b.toml", '[thresholds.rules.politeness]\nreview = "maximum f1"\n')
    assert "thresholds.rules.politeness must be one of" in one_line_error(run("train", "--config", bad))


@pytest.mark.parametrize("features, message", [
    ("word_ngram_range = [1, 3]", "features.word_ngram_range must be [1, 1] or [1, 2]"),
    ("char_ngram_range = [5, 2]", "features.char_ngram_range must be [low, high] with 1 <= low <= high"),
])
def test_feature_ranges_outside_what_the_model_supports_are_a_one_line_error(tmp_path, features, message):
    bad = _write(tmp_path / "b.toml", f"[features]\n{features}\n")
    assert message in one_line_error(run("train", "--config", bad))


def test_evaluate_on_a_labelled_file_writes_a_report(tiny_model_path, tmp_path):
    out = tmp_path / "report"
    result = run("evaluate", "--model", tiny_model_path, "--data", TINY, "--out", out, "--no-peer")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["held_out_rows"] == 52 and report["rules"]["respect"]["positives"] == 8
    assert (out / "report.md").exists() and (out / "pr-respect.png").stat().st_size > 1000
    assert "exactly one of --corpora DIR or --data FILE" in one_line_error(
        run("evaluate", "--model", tiny_model_path, "--out", out))


def test_a_target_a_hair_under_its_bound_reads_as_under_it():
    from training.evaluate import targets_table

    rows = targets_table([{"target": "ROC AUC >= 0.97", "value": 0.96981, "met": False},
                          {"target": "mild-only rejected", "value": 1, "met": False},
                          {"target": "respect", "value": None, "met": None}])
    assert rows[2:] == ["| ROC AUC >= 0.97 | 0.9698 | no |", "| mild-only rejected | 1 | no |", "| respect | - | - |"]


@pytest.mark.parametrize("variable,value,words", [
    ("MODERATION_PORT", "eighty", "MODERATION_PORT must be a whole number from 1 to 65535, got 'eighty'"),
    ("MODERATION_WORKERS", "0", "MODERATION_WORKERS must be a whole number from 1 to 64, got '0'"),
    ("MODERATION_MAX_BODY", "12", "MODERATION_MAX_BODY must be a whole number >= 1024"),
    ("MODERATION_LOG_TEXT", "maybe", "MODERATION_LOG_TEXT must be one of 1, true"),
])
def test_serve_with_a_bad_environment_value_is_one_line(monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    assert words in one_line_error(run("serve"))


def test_service_settings_come_from_the_environment_then_the_options(monkeypatch):
    from moderation.settings import Settings

    monkeypatch.setenv("MODERATION_PORT", "9001")
    monkeypatch.setenv("MODERATION_LOG_TEXT", "yes")
    settings = Settings.from_env()
    assert (settings.port, settings.log_text, settings.workers) == (9001, True, 2)
    assert settings.replace(port=9002, workers=None).port == 9002


def test_the_token_comes_from_a_file_or_the_environment_never_the_command_line(monkeypatch, tmp_path):
    from moderation.settings import Settings

    assert "--token-file" in run("serve", "--help").output and "--token " not in run("serve", "--help").output
    secret = tmp_path / "token"
    secret.write_text("s3cret-token\n")
    monkeypatch.setenv("MODERATION_TOKEN_FILE", str(secret))
    assert Settings.from_env().token == "s3cret-token"
    monkeypatch.setenv("MODERATION_TOKEN", "from-env")
    assert Settings.from_env().token == "from-env"


@pytest.mark.parametrize("content,words", [(None, "cannot read the token file"), ("\n\n", "holds no token"),
                                           ("two words\n", "holds no token")])
def test_a_bad_token_file_is_one_line(tmp_path, content, words):
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    assert words in one_line_error(run("serve", "--token-file", str(path)))


class _Plant:
    """What a forged model file holds: unpickling it would create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("how", ["plain", "in an object array"])
def test_a_forged_model_with_a_matching_card_runs_no_code(model_copy, tmp_path, how):
    import joblib
    import numpy as np

    from moderation.artifact import sha256_file

    marker = tmp_path / "ran"
    plant = _Plant(marker) if how == "plain" else np.array([_Plant(marker), 1], dtype=object)
    joblib.dump({"format": 1, "model": plant}, model_copy, compress=3)
    meta = metadata_path(model_copy)
    card = json.loads(meta.read_text())
    card["sha256"] = sha256_file(model_copy)
    meta.write_text(json.dumps(card))
    line = one_line_error(run("check", "--model", model_copy, "hello"))
    assert "refused before anything in it ran" in line and "pathlib" in line
    assert not marker.exists()


def test_coral_secrets_come_from_the_environment_or_a_file(monkeypatch, tmp_path):
    from moderation.settings import Settings

    monkeypatch.setenv("MODERATION_CORAL_SECRETS", "first, second")
    assert Settings.from_env().coral_secrets == ("first", "second")
    secrets = tmp_path / "coral"
    secrets.write_text("third\n")
    monkeypatch.setenv("MODERATION_CORAL_SECRETS_FILE", str(secrets))
    assert Settings.from_env().coral_secrets == ("first", "second", "third")
    monkeypatch.setenv("MODERATION_CORAL_SECRETS_FILE", str(tmp_path / "missing"))
    assert "cannot read" in one_line_error(run("serve"))


def test_check_without_the_history_says_repeats_were_not_checked_and_opens_no_store(tiny_model_path, tmp_path):
    db = tmp_path / "history.sqlite3"
    stdin = json.dumps({"text": "The harbour repairs were finished on time this spring, well done.", "id": "c1"}) + "\n"
    result = run("check", "--model", tiny_model_path, "--db", db, "--jsonl", "--no-history", input=stdin)
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["unavailable"] == ["repeated"] and list(verdict)[-1] == "unavailable"
    single = json.loads(run("check", "--model", tiny_model_path, "--db", db, "--no-history", "Fine work").output)
    assert single["unavailable"] == ["repeated"]
    assert not db.exists()   # the history was never opened
    with_history = json.loads(run("check", "--model", tiny_model_path, "--db", db, "--jsonl", input=stdin).output)
    assert "unavailable" not in with_history and with_history["scores"] == verdict["scores"]


def test_store_and_no_history_together_are_one_usage_error(tiny_model_path):
    assert "give one" in one_line_error(run("check", "--model", tiny_model_path, "--store", "--no-history", "hi"), 2)
    assert run("check", "--model", tiny_model_path, "--no-store", "hi").exit_code == 0


def test_check_jsonl_cuts_a_batch_at_its_size_or_its_characters_and_keeps_the_order(tiny_model_path, monkeypatch):
    from moderation import cli
    from moderation.moderator import WARM_UP, Moderator

    sizes = []
    real = Moderator.check_batch
    monkeypatch.setattr(Moderator, "check_batch", lambda self, comments: sizes.append(len(comments)) or real(self, comments))
    monkeypatch.setattr(cli, "BATCH_CHARS", 100)
    comments = [{"id": f"c{i}", "text": ("word " * (30 if i in (2, 3) else 2)).strip()} for i in range(6)]
    stdin = "".join(json.dumps(c) + "\n" for c in comments)
    result = run("check", "--model", tiny_model_path, "--jsonl", "--batch-size", "4", input=stdin)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == [c["id"] for c in comments]
    # The warm-up's comments first; then cut by the characters of c2 (149 + 10), then of c3, then the end.
    assert sizes == [len(WARM_UP), 3, 1, 2]
