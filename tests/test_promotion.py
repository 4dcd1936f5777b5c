"""Retraining and promotion: a candidate replaces the served model only when it is not worse, a
rollback puts the previous one back, and a running service switches without a failed request."""
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.artifact import metadata_path, read_card
from moderation.cli import main
from tests.conftest import TINY, TINY_CONFIG
from training.train import train


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _copy(model: Path, target: Path) -> Path:
    shutil.copy(model, target)
    shutil.copy(metadata_path(model), metadata_path(target))
    return target


@pytest.fixture(scope="module")
def retrained(tmp_path_factory) -> Path:
    """The tiny model trained again on the same rows: as good, another version."""
    time.sleep(1.1)   # the version carries the training time, to the second
    path = tmp_path_factory.mktemp("retrained") / "model.joblib"
    train([TINY], with_starter=False, config=TINY_CONFIG, out=path)
    return path


@pytest.fixture(scope="module")
def flipped(tmp_path_factory) -> Path:
    """A candidate trained on the tiny rows with every label flipped."""
    folder = tmp_path_factory.mktemp("flipped")
    rows = [json.loads(line) for line in TINY.read_text().splitlines() if line.strip()]
    for row in rows:
        for rule in ("respect", "accusations", "foul_language", "promotional", "volume"):
            if row.get(rule) in (0, 1):
                row[rule] = 1 - row[rule]
    data = folder / "flipped.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    path = folder / "model.joblib"
    train([data], with_starter=False, config=TINY_CONFIG, out=path)
    return path


def test_a_candidate_trained_on_flipped_labels_is_refused_in_one_line(tiny_model_path, flipped, tmp_path):
    served = _copy(tiny_model_path, tmp_path / "served.joblib")
    result = run("promote", flipped, "--model", served, "--data", TINY)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: not promoted: ")
    assert "PR AUC" in lines[0] and "against the served model's" in lines[0]
    assert read_card(served)["version"] == read_card(tiny_model_path)["version"]   # untouched


def test_an_equal_candidate_is_promoted_and_the_previous_one_rolled_back(tiny_model_path, retrained, tmp_path):
    served = _copy(tiny_model_path, tmp_path / "served.joblib")
    old, new = read_card(tiny_model_path)["version"], read_card(retrained)["version"]
    assert old != new
    result = run("promote", retrained, "--model", served, "--data", TINY)
    assert result.exit_code == 0, result.output
    assert f"serves model {new} (was {old})" in result.output
    assert read_card(served)["version"] == new               # card and file agree (read_card checks the SHA)
    result = run("promote", "--rollback", "--model", served)
    assert result.exit_code == 0 and read_card(served)["version"] == old



def test_by_default_promote_scores_both_on_the_held_out_rows_their_cards_share(tiny_model_path, retrained,
                                                                               flipped, tmp_path):
    served = _copy(tiny_model_path, tmp_path / "served.joblib")
    result = run("promote", retrained, "--model", served)
    assert result.exit_code == 0, result.output
    held = read_card(tiny_model_path)["data"]["held_out_rows"]
    assert f"scoring both on the {held} held-out rows their cards share" in result.output
    # Trained on other rows: nothing held out from both, so the rows must be given.
    refused = run("promote", flipped, "--model", served)
    assert refused.exit_code == 1 and "share no held-out rows" in refused.output and "--data" in refused.output


def test_a_running_service_switches_to_a_promoted_model_without_a_failed_request(tiny_model_path, retrained,
                                                                                   tmp_path):
    from tests.test_service import _free_port, wait_ready

    served = _copy(tiny_model_path, tmp_path / "served.joblib")
    port, pid_file = _free_port(), tmp_path / "serve.pid"
    log = open(tmp_path / "serve.log", "w+")
    server = subprocess.Popen([str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port),
                               "--model", str(served), "--db", str(tmp_path / "h.sqlite3"), "--pid-file", str(pid_file)],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def get(path, body=None, timeout=10):
        request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())

    stop, threads = threading.Event(), []
    try:
        wait_ready(base, server)
        old = get("/v1/model")[1]["version"]
        counts = {"ok": 0, "failed": 0}

        def load():
            while not stop.is_set():
                try:
                    status, _ = get("/v1/moderate", {"text": "see a.com/x and b.com/y", "store": False})
                    counts["ok" if status == 200 else "failed"] += 1
                except Exception:   # noqa: BLE001 - any failure counts
                    counts["failed"] += 1

        threads += [threading.Thread(target=load) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        result = run("promote", retrained, "--model", served, "--data", TINY, "--reload", pid_file)
        assert result.exit_code == 0, result.output
        new, deadline = read_card(retrained)["version"], time.monotonic() + 20
        while get("/v1/model")[1]["version"] != new:
            assert time.monotonic() < deadline, "the service did not switch"
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join()
        assert old != new and counts["failed"] == 0 and counts["ok"] > 20, counts
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
