"""The moderators' loop over HTTP: the queue, decisions, the figures, an author's erasure."""
import pytest

from moderation.moderator import Moderator
from moderation.rulebook import load_rulebook
from moderation.store import SqliteStore
from service import create_app

FLAGGED = "Buy cheap pills now at pills-shop.com/deal and cheap-meds.net/x, limited offer!!!"
CLEAN = "Thanks for the clear reporting on the school board meeting."


@pytest.fixture
def store(tmp_path):
    return SqliteStore(tmp_path / "history.sqlite3")


@pytest.fixture
def client(tiny_artifact, store):
    return create_app(moderator=Moderator(tiny_artifact, load_rulebook(), history=store)).test_client()


def moderate(client, text, **fields):
    response = client.post("/v1/moderate", json={"text": text, **fields})
    assert response.status_code == 200
    return response.get_json()


def test_flagged_comments_are_queued_with_their_text_and_published_ones_never(client):
    held = moderate(client, FLAGGED, id="c1", author="ann", thread="t1")
    assert held["verdict"] != "publish"
    moderate(client, CLEAN, id="c2", author="bob")
    moderate(client, FLAGGED + " again", id="c3", store=False)   # a check that is not remembered
    items = client.get("/v1/queue").get_json()["items"]
    assert [i["id"] for i in items] == ["c1"]
    assert items[0]["text"] == FLAGGED and items[0]["author"] == "ann" and items[0]["verdict"] == held
    assert items[0]["received"].endswith("Z")


def test_the_queue_pages_newest_first_and_filters_by_rule(client):
    for i in range(5):
        moderate(client, f"{FLAGGED} number {i}", id=f"c{i}")
    first = client.get("/v1/queue?limit=2").get_json()
    assert [i["id"] for i in first["items"]] == ["c4", "c3"] and first["next"]
    second = client.get(f"/v1/queue?limit=2&before={first['next']}").get_json()
    assert [i["id"] for i in second["items"]] == ["c2", "c1"]
    rule = first["items"][0]["verdict"]["flags"][0]["rule"]
    assert len(client.get(f"/v1/queue?rule={rule}").get_json()["items"]) == 5
    assert client.get("/v1/queue?rule=volume_xx").status_code == 422


def test_a_decision_takes_the_comment_out_of_the_queue_and_a_second_replaces_it(client, store):
    moderate(client, FLAGGED, id="c1")
    flagged = [f["rule"] for f in client.get("/v1/queue").get_json()["items"][0]["verdict"]["flags"]]
    answer = client.post("/v1/decisions", json={"id": "c1", "decision": "approve", "moderator": "mo"})
    assert answer.status_code == 201 and answer.get_json()["flagged"] == flagged
    assert client.get("/v1/queue").get_json()["items"] == []
    client.post("/v1/decisions", json={"id": "c1", "decision": "reject", "rules": ["promotional"]})
    [decision] = store.decisions()
    assert decision.decision == "reject" and decision.rules == ("promotional",) and decision.text == FLAGGED


@pytest.mark.parametrize("body,field", [
    ({"id": "c1", "decision": "maybe"}, "decision"),
    ({"id": "c1", "decision": "reject", "rules": ["rudeness"]}, "rules"),
    ({"id": "c1", "decision": "approve", "rules": ["respect"]}, "rules"),
    ({"id": "nowhere", "decision": "reject", "rules": ["respect"]}, "text"),
    ({"decision": "reject"}, "id"),
    ({"id": "c1", "decision": "reject", "extra": 1}, "extra"),
])
def test_a_bad_decision_is_a_422_naming_the_field(client, body, field):
    moderate(client, FLAGGED, id="c1")
    answer = client.post("/v1/decisions", json=body)
    assert answer.status_code == 422 and f"'{field}'" in answer.get_json()["error"]["message"]


def test_a_decision_on_a_comment_never_queued_needs_its_text(client, store):
    answer = client.post("/v1/decisions", json={"id": "x9", "decision": "reject", "rules": ["respect"],
                                                "text": "You are all idiots."})
    assert answer.status_code == 201 and answer.get_json()["flagged"] == []
    assert store.decisions()[0].text == "You are all idiots."


def test_stats_count_upheld_overturned_and_missed_flags(client):
    for i in range(3):
        moderate(client, f"{FLAGGED} {i}", id=f"c{i}")
    rule = client.get("/v1/queue").get_json()["items"][0]["verdict"]["flags"][0]["rule"]
    client.post("/v1/decisions", json={"id": "c0", "decision": "reject", "rules": [rule]})
    client.post("/v1/decisions", json={"id": "c1", "decision": "reject", "rules": [rule, "respect"]})
    client.post("/v1/decisions", json={"id": "c2", "decision": "approve"})
    client.post("/v1/decisions", json={"id": "n1", "decision": "reject", "rules": ["respect"], "text": "idiots"})
    stats = client.get("/v1/stats?days=7").get_json()
    assert stats["days"] == 7
    assert stats["rules"][rule] == {"flagged": 3, "decided": 3, "upheld": 2, "overturned": 1, "missed": 0,
                                    "precision": 0.6667}
    assert stats["rules"]["respect"]["missed"] == 2 and stats["rules"]["respect"]["precision"] is None
    assert client.get("/v1/stats?days=0").status_code == 422


def test_erasing_an_author_forgets_their_history_queue_and_decision_texts(client, store):
    moderate(client, FLAGGED, id="c1", author="ann")
    moderate(client, "The transit board approved the cuts without a single public meeting or survey.", id="c2",
             author="ann")
    moderate(client, FLAGGED + " too", id="c3", author="bob")
    client.post("/v1/decisions", json={"id": "c1", "decision": "reject", "rules": ["promotional"]})
    answer = client.delete("/v1/authors/ann").get_json()
    assert answer == {"author": "ann", "history": 2, "queue": 1, "decisions": 1}
    assert [i["id"] for i in client.get("/v1/queue").get_json()["items"]] == ["c3"]
    assert [d.text for d in store.decisions()] == [None]


def test_without_a_store_the_queue_answers_503(tiny_artifact):
    client = create_app(moderator=Moderator(tiny_artifact, load_rulebook())).test_client()
    answer = client.get("/v1/queue")
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "store_unavailable"


def test_decisions_export_as_training_rows_that_training_reads(client, store, tmp_path):
    import json

    from click.testing import CliRunner

    from moderation.cli import main
    from training.data import read_labelled

    moderate(client, FLAGGED, id="c1", author="ann")
    moderate(client, FLAGGED + " twice", id="c2", author="bob")
    client.post("/v1/decisions", json={"id": "c1", "decision": "reject", "rules": ["promotional"]})
    client.post("/v1/decisions", json={"id": "c2", "decision": "approve"})
    out = tmp_path / "decisions.jsonl"
    result = CliRunner().invoke(main, ["decisions", "export", "--db", str(store.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["author"], r["promotional"], r["respect"]) for r in rows] == [("c1", "ann", 1, None),
                                                                                     ("c2", "bob", 0, 0)]
    data = read_labelled(out)
    assert data.texts == [FLAGGED, FLAGGED + " twice"]
    erased = CliRunner().invoke(main, ["erase", "--author", "ann", "--db", str(store.path)])
    assert json.loads(erased.output) == {"author": "ann", "history": 1, "queue": 1, "decisions": 1}


def test_train_with_decisions_uses_them_as_a_source_of_their_own(client, store, tmp_path):
    from click.testing import CliRunner

    from moderation.artifact import read_card
    from moderation.cli import main
    from tests.conftest import TINY, TINY_CONFIG

    for i in range(12):
        moderate(client, f"{FLAGGED} offer {i}", id=f"s{i}")
        client.post("/v1/decisions", json={"id": f"s{i}", "decision": "reject", "rules": ["promotional"]})
    for i in range(12):
        client.post("/v1/decisions", json={"id": f"a{i}", "decision": "approve",
                                           "text": f"A calm note about the budget vote, number {i}."})
    out = tmp_path / "model.joblib"
    result = CliRunner().invoke(main, ["train", "--data", str(TINY), "--no-starter", "--config", str(TINY_CONFIG),
                                       "--decisions", "--db", str(store.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert [s["name"] for s in card["data"]["sources"]] == ["tiny.jsonl", "decisions.jsonl"]
    assert [s["rows"] for s in card["data"]["sources"]][1] == 24
    # Its own held-out part, reported apart from the other sources'.
    assert any("decisions.jsonl" in key for key in card["metrics"]["by_source"]), card["metrics"]["by_source"].keys()
    assert "24 moderators' decisions" in result.output


def test_the_loop_end_to_end_decisions_exported_trained_on_and_promoted(client, store, tiny_model_path, tmp_path):
    import shutil

    from click.testing import CliRunner

    from moderation.artifact import metadata_path, read_card
    from moderation.cli import main
    from tests.conftest import TINY, TINY_CONFIG

    for i in range(10):
        moderate(client, f"{FLAGGED} deal {i}", id=f"e{i}")
        client.post("/v1/decisions", json={"id": f"e{i}", "decision": "reject", "rules": ["promotional"]})
    runner = CliRunner()
    exported = tmp_path / "decisions.jsonl"
    assert runner.invoke(main, ["decisions", "export", "--db", str(store.path), "--out", str(exported)]).exit_code == 0
    candidate = tmp_path / "candidate.joblib"
    trained = runner.invoke(main, ["train", "--data", str(TINY), "--data", str(exported), "--no-starter",
                                   "--config", str(TINY_CONFIG), "--out", str(candidate)])
    assert trained.exit_code == 0, trained.output
    served = tmp_path / "served.joblib"
    shutil.copy(tiny_model_path, served)
    shutil.copy(metadata_path(tiny_model_path), metadata_path(served))
    promoted = runner.invoke(main, ["promote", str(candidate), "--model", str(served), "--data", str(TINY)])
    assert promoted.exit_code == 0, promoted.output
    assert read_card(served)["version"] == read_card(candidate)["version"]


def test_a_store_that_fails_makes_the_queue_routes_answer_503(tiny_artifact, tmp_path):
    (tmp_path / "h.sqlite3").write_bytes(b"this is not a database" * 100)
    client = create_app(moderator=Moderator(tiny_artifact, load_rulebook(),
                                            history=SqliteStore(tmp_path / "h.sqlite3"))).test_client()
    for answer in (client.get("/v1/queue"), client.get("/v1/stats"), client.get("/review"),
                   client.post("/v1/decisions", json={"id": "x", "decision": "approve", "text": "hi"})):
        assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "store_unavailable"
