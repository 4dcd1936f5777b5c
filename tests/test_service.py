import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.rulebook import RULE_IDS
from moderation.moderator import Comment, Moderator
from service import MAX_BATCH, MAX_TEXT_CHARS, create_app


@pytest.fixture
def app(moderator):
    return create_app({"max_body": 64_000}, moderator=moderator)


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, body, content_type="application/json", **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/v1/moderate", data=data, content_type=content_type, **kwargs)


def test_one_comment_gets_its_verdict_with_id_echoed(client, moderator):
    response = post(client, {"text": "see a.com/x and b.com/y", "id": "c-17", "thread": "t1", "author": "ann",
                             "store": False})
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert list(body) == ["id", "verdict", "flags", "scores", "model"]
    assert body["id"] == "c-17" and list(body["scores"]) == list(RULE_IDS)
    assert body == moderator.check("see a.com/x and b.com/y", id="c-17").to_dict()


def test_batch_keeps_order_and_equals_single_verdicts(client, moderator):
    texts = ["Nice work", "You are a complete idiot", "buy at shop dot com now", "THIS IS AWFUL!!!"]
    response = post(client, {"comments": [{"text": t, "id": str(i)} for i, t in enumerate(texts)]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == ["0", "1", "2", "3"]
    assert results == [moderator.check(t, id=str(i)).to_dict() for i, t in enumerate(texts)]


def test_model_rules_and_health_routes(client, moderator):
    card = client.get("/v1/model").get_json()
    assert card["version"] == moderator.version and set(card["thresholds"]) >= {"respect", "volume"}
    assert "metrics" in card and card["data"]["sources"][0]["name"] == "tiny.jsonl"
    rules = client.get("/v1/rules").get_json()
    assert [r["id"] for r in rules["rules"]] == list(RULE_IDS)
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready", "model": moderator.version}


LONG = "x" * (MAX_TEXT_CHARS + 1)
BAD_BODIES = [
    # (body, content type, status, code, words the message must contain)
    ('{"text": ', "application/json", 400, "malformed_json", "not valid JSON"),
    (b'{"text": "caf\xe9"}', "application/json", 400, "malformed_json", "not UTF-8"),
    ('{"text": "hi"}', "text/plain", 415, "unsupported_media_type", "Content-Type: application/json"),
    ('{"text": "hi"}', "", 415, "unsupported_media_type", "Content-Type: application/json"),
    ([{"text": "hi"}], "application/json", 422, "invalid_body", "must be a JSON object"),
    ("null", "application/json", 422, "invalid_body", "must be a JSON object"),
    ({}, "application/json", 422, "missing_field", "'text' is required"),
    ({"txt": "hi"}, "application/json", 422, "unknown_field", "'txt' is not allowed"),
    ({"text": ""}, "application/json", 422, "invalid_field", "'text' is empty"),
    ({"text": "  \n "}, "application/json", 422, "invalid_field", "'text' is empty"),
    ({"text": 5}, "application/json", 422, "invalid_field", "'text' must be a string, got a number"),
    ({"text": None}, "application/json", 422, "invalid_field", "'text' must be a string, got null"),
    ({"text": LONG}, "application/json", 422, "invalid_field", f"more than the limit of {MAX_TEXT_CHARS}"),
    ({"text": "hi", "id": 7}, "application/json", 422, "invalid_field", "'id' must be a string"),
    ({"text": "hi", "author": ["a"]}, "application/json", 422, "invalid_field", "'author' must be a string, got a list"),
    ({"text": "hi", "store": "yes"}, "application/json", 422, "invalid_field", "'store' must be true or false"),
    ({"comments": []}, "application/json", 422, "invalid_field", f"list of 1 to {MAX_BATCH}"),
    ({"comments": "hi"}, "application/json", 422, "invalid_field", f"list of 1 to {MAX_BATCH}"),
    ({"comments": [{"text": "a"}] * (MAX_BATCH + 1)}, "application/json", 422, "invalid_field", "split larger batches"),
    ({"comments": [{"text": "ok"}, 5]}, "application/json", 422, "invalid_field", "'comments[1]' must be an object"),
    ({"comments": [{"text": "ok"}, {"text": ""}]}, "application/json", 422, "invalid_field", "'comments[1].text' is empty"),
    ({"comments": [{"id": "a"}]}, "application/json", 422, "missing_field", "'comments[0].text' is required"),
    ({"comments": [{"text": "a"}], "id": "x"}, "application/json", 422, "unknown_field", "'id' is not allowed beside"),
    ({"text": "y" * 70_000}, "application/json", 413, "body_too_large", "larger than the limit of 64000 bytes"),
    # hostile JSON: a lone surrogate in any string field, nesting past any sane depth, huge numbers
    ('{"text": "hi", "id": "\\ud800"}', "application/json", 422, "invalid_field", "'id' is not valid Unicode"),
    ('{"text": "hi", "author": "a\\udfff"}', "application/json", 422, "invalid_field", "'author' is not valid Unicode"),
    ('{"text": "hi", "thread": "\\ud800x"}', "application/json", 422, "invalid_field", "'thread' is not valid Unicode"),
    ('{"text": "caf\\ud800"}', "application/json", 422, "invalid_field", "'text' is not valid Unicode"),
    ('{"comments": [{"text": "ok"}, {"text": "ok", "id": "\\udc00"}]}', "application/json", 422, "invalid_field",
     "'comments[1].id' is not valid Unicode"),
    ("[" * 30_000 + "]" * 30_000, "application/json", 400, "malformed_json", "nested more than"),
    ('{"text": "hi", "n": ' + "9" * 5_000 + "}", "application/json", 400, "malformed_json", "more than 4300 digits"),
]


@pytest.mark.parametrize("body,content_type,status,code,words", BAD_BODIES)
def test_bad_bodies_get_one_json_error_shape(client, body, content_type, status, code, words):
    response = post(client, body, content_type=content_type)
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"code", "message"} and error["code"] == code
    assert words in error["message"]


@pytest.mark.parametrize("method,path,status,code", [
    ("get", "/nope", 404, "not_found"),
    ("get", "/v1/moderate", 405, "method_not_allowed"),
    ("post", "/healthz", 405, "method_not_allowed"),
    ("delete", "/v1/rules", 405, "method_not_allowed"),
])
def test_unknown_routes_and_methods_are_json_too(client, method, path, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status and response.is_json
    assert response.get_json()["error"]["code"] == code


def test_bearer_token_guards_everything_but_health_checks(moderator):
    client = create_app({"token": "s3cret"}, moderator=moderator).test_client()
    assert post(client, {"text": "hi"}).status_code == 401
    wrong = post(client, {"text": "hi"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "unauthorized"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert post(client, {"text": "hi"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert post(client, {"text": "hi"}, headers={"Authorization": "bearer s3cret"}).status_code == 200
    assert post(client, {"text": "hi"}, headers={"Authorization": "BEARER  s3cret "}).status_code == 200
    assert post(client, {"text": "hi"}, headers={"Authorization": "Basic s3cret"}).status_code == 401
    assert client.get("/v1/model").status_code == 401
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200


def test_access_log_has_one_line_per_request_and_no_text_unless_configured(moderator, caplog):
    caplog.set_level(logging.INFO, logger="moderation.access")
    client = create_app(moderator=moderator).test_client()
    post(client, {"text": "a secret comment"})
    client.get("/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.access"]
    assert len(lines) == 2
    assert lines[0].startswith("POST /v1/moderate 200 ") and lines[0].endswith("ms")
    assert lines[1].startswith("GET /nope 404 ")
    assert "secret" not in " ".join(lines)
    caplog.clear()
    client = create_app({"log_text": True}, moderator=moderator).test_client()
    post(client, {"text": "a secret comment"})
    assert "a secret comment" in caplog.records[-1].getMessage()


def test_a_request_cannot_forge_or_break_an_access_log_line(moderator, caplog):
    caplog.set_level(logging.INFO, logger="moderation.access")
    client = create_app({"log_text": True}, moderator=moderator).test_client()
    client.get("/x%0a2026-12-01 00:00:00,000 moderation.access POST /v1/moderate 200 1.0ms")
    client.get("/y%00z%e2%80%a8w%c2%85")
    post(client, {"text": "line one\u2028forged\u0085line"})
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.access"]
    assert len(lines) == 3
    for line in lines:
        assert not any(c in line for c in "\n\r\x00\u2028\x85"), line
    assert lines[0].startswith("GET /x\\n2026-12-01 ") and lines[0].endswith("ms")
    assert lines[1].startswith("GET /y\\x00z\\u2028w\\x85 404 ")


class Broken:
    """A moderator whose model fails: the service must still answer in its JSON shape."""

    def __init__(self, real):
        self.artifact, self.rulebook, self.version = real.artifact, real.rulebook, real.version

    def check(self, *args, **kwargs):
        raise RuntimeError("model exploded")

    check_batch = ready = check


def test_server_faults_are_json_500_and_not_ready(moderator):
    client = create_app(moderator=Broken(moderator)).test_client()
    response = post(client, {"text": "hi"})
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    assert "exploded" not in response.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["code"] == "model_unavailable"


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12)
FIELDS = st.fixed_dictionaries({}, optional={"text": JSON | st.text(), "id": JSON, "thread": JSON,
                                             "author": JSON, "store": JSON, "comments": st.lists(JSON, max_size=3)})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(JSON | FIELDS)
def test_no_client_body_gives_a_500_or_html(client, body):
    response = post(client, body)
    assert response.status_code in (200, 400, 413, 415, 422)
    assert response.is_json


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url, body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def wait_ready(base: str, process, what: str = "server", seconds: float = 60) -> None:
    """Until ``base``/readyz answers 200; fails if ``process`` exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if _request(f"{base}/readyz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert process.poll() is None and time.monotonic() < deadline, f"{what} did not come up"
        time.sleep(0.2)


@contextlib.contextmanager
def running_server(tiny_model_path, tmp_path, *options):
    """A real ``moderation serve`` (gunicorn) in a subprocess; yields (process, port, log file)."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port), "--workers", "2",
               "--model", str(tiny_model_path), "--db", str(tmp_path / "history.sqlite3"), *options]
    log = open(tmp_path / "serve.log", "w+")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        wait_ready(f"http://127.0.0.1:{port}", server)
        yield server, port, log
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def test_real_server_serves_a_verdict_and_stops_cleanly(tiny_model_path, tmp_path):
    with running_server(tiny_model_path, tmp_path) as (server, port, log):
        status, verdict = _request(f"http://127.0.0.1:{port}/v1/moderate",
                                   {"text": "see a.com/x and b.com/y", "id": "real-1"})
        assert status == 200 and verdict["id"] == "real-1"
        assert "links" in [f["rule"] for f in verdict["flags"]]
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    log.seek(0)
    output = log.read()
    assert code == 0, output
    assert "POST /v1/moderate 200" in output and "a.com/x" not in output


def _raw(port: int, head: bytes, body: bytes = b"", timeout: float = 30) -> tuple[int, dict]:
    """Send raw bytes to the server and read its JSON answer: (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head + body)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    header, _, payload = data.partition(b"\r\n\r\n")
    status = int(header.split()[1])
    if b"transfer-encoding: chunked" in header.lower():
        out, rest = b"", payload
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        payload = out
    return status, json.loads(payload)


def _chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_over_the_limit_is_refused_by_the_real_server(tiny_model_path, tmp_path):
    head = (b"POST /v1/moderate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    with running_server(tiny_model_path, tmp_path, "--max-body", "4096") as (_, port, _log):
        status, answer = _raw(port, head, _chunked(b'{"text": "hello", "store": false}' + b" " * 8000 + b"garbage"))
        assert status == 413 and answer["error"]["code"] == "body_too_large"
        status, answer = _raw(port, head, _chunked(b'{"text": "a short one", "store": false}' + b" " * 2000))
        assert status == 200 and answer["verdict"] == "publish"


LONG = ("Residents of Harlow Bay deserve better than this. The new bus schedule cuts the evening routes that "
        "shift workers depend on, and the board approved it without a single public meeting.")


@pytest.fixture
def history_client(tiny_artifact, tmp_path):
    from moderation.rulebook import load_rulebook
    from moderation.store import SqliteStore

    book = load_rulebook()
    return create_app(moderator=Moderator(tiny_artifact, book, history=SqliteStore(tmp_path / "h.sqlite3"))).test_client()


def test_service_flags_repeats_and_honours_store_false(history_client):
    assert post(history_client, {"text": LONG, "id": "c1", "author": "ann", "store": False}).get_json()["scores"]["repeated"] == 0
    assert post(history_client, {"text": LONG, "id": "c2", "author": "ann"}).get_json()["scores"]["repeated"] == 0
    verdict = post(history_client, {"text": LONG, "id": "c3", "author": "ann"}).get_json()
    flag = next(f for f in verdict["flags"] if f["rule"] == "repeated")
    assert flag["evidence"][0]["earlier"]["id"] == "c2" and verdict["verdict"] != "publish"
    batch = post(history_client, {"comments": [{"text": LONG + " Again.", "id": "c4", "author": "bob", "thread": "t"},
                                               {"text": LONG + " Again.", "id": "c5", "author": "bob", "thread": "t"}]})
    assert [r["scores"]["repeated"] for r in batch.get_json()["results"]][1] == 1.0


def test_service_without_a_store_still_answers_and_is_not_ready(tiny_artifact, tmp_path):
    from moderation.rulebook import load_rulebook
    from moderation.store import SqliteStore

    (tmp_path / "file").write_text("x")
    book = load_rulebook()
    client = create_app(moderator=Moderator(tiny_artifact, book, history=SqliteStore(tmp_path / "file" / "h.sqlite3"))).test_client()
    response = post(client, {"text": LONG})
    assert response.status_code == 200 and response.get_json()["unavailable"] == ["repeated"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["code"] == "store_unavailable"


def _store_client(tiny_artifact, path):
    from moderation.rulebook import load_rulebook
    from moderation.store import SqliteStore

    store = SqliteStore(path)
    return create_app(moderator=Moderator(tiny_artifact, load_rulebook(), history=store)).test_client(), store


def test_a_history_file_deleted_while_running_is_noticed_not_recreated(tiny_artifact, tmp_path):
    client, store = _store_client(tiny_artifact, tmp_path / "h.sqlite3")
    assert client.get("/readyz").status_code == 200
    assert "unavailable" not in post(client, {"text": LONG, "id": "a"}).get_json()
    for name in ("h.sqlite3", "h.sqlite3-wal", "h.sqlite3-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["code"] == "store_unavailable"
    assert post(client, {"text": LONG, "id": "b"}).get_json()["unavailable"] == ["repeated"]
    # A connection opened later (another thread or worker) does not start a history of its own.
    store.close()
    assert post(client, {"text": LONG, "id": "c"}).get_json()["unavailable"] == ["repeated"]
    assert not (tmp_path / "h.sqlite3").exists()


def test_a_corrupt_history_file_is_not_ready(tiny_artifact, tmp_path):
    (tmp_path / "h.sqlite3").write_bytes(b"this is not a database" * 100)
    client, _ = _store_client(tiny_artifact, tmp_path / "h.sqlite3")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["code"] == "store_unavailable"
    assert post(client, {"text": LONG}).get_json()["unavailable"] == ["repeated"]


@pytest.fixture
def open_folder():
    """A folder every user can enter (pytest's own are its owner's only)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="moderation-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_read_only_history_file_is_not_ready(open_folder):
    """As a user who may not write the file (root may write any: the check runs as nobody)."""
    from moderation.store import SqliteStore

    path = open_folder / "h.sqlite3"
    SqliteStore(path).ping()
    for item in open_folder.iterdir():
        item.chmod(0o444)
    script = ("import os, sys\n"
              "from moderation.store import SqliteStore, StoreUnavailable\n"   # before: nobody cannot read root's Python
              "if os.geteuid() == 0:\n    os.setgid(65534); os.setuid(65534)\n"
              f"store = SqliteStore({str(path)!r})\n"
              "store._run('SELECT COUNT(*) FROM comments').fetchone()\n"
              "try:\n    store.ping()\nexcept StoreUnavailable as exc:\n    print('unavailable', exc)\n"
              "else:\n    print('ready')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=str(Path(__file__).resolve().parents[1]))
    assert result.stdout.startswith("unavailable") and "cannot be written" in result.stdout, result.stdout + result.stderr


def test_an_expired_backlog_is_pruned_a_batch_a_request(tiny_artifact, tmp_path):
    from moderation.fingerprints import codes_and_keys, kgram_hashes, words
    from moderation.repeats import PRUNE_BATCH

    client, store = _store_client(tiny_artifact, tmp_path / "h.sqlite3")
    codes, keys = codes_and_keys(kgram_hashes(words(LONG)))
    with store.transaction():
        for i in range(3 * PRUNE_BATCH + 10):
            store.add(f"old{i}", "t", "a", 1.0, codes, keys)   # 1970: long expired
    counts = []
    for i in range(5):
        assert post(client, {"text": f"A new comment number {i}.", "store": False}).status_code == 200
        counts.append(store.count())
    assert counts == [2 * PRUNE_BATCH + 10, PRUNE_BATCH + 10, 10, 0, 0]


def test_a_busy_port_is_one_error_line(tiny_model_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run([str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port),
                                 "--model", str(tiny_model_path)], capture_output=True, text=True, timeout=60)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 1 and lines == [f"Error: port {port} on 127.0.0.1 is in use (another server?); "
                                                "stop it or give another --port"], lines
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_dev_py_start_stops_its_server_on_a_signal(tiny_model_path, tmp_path, stop):
    port = _free_port()
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, MODERATION_VENV=str(Path(sys.executable).parents[1]))
    log = open(tmp_path / "start.log", "w+")
    process = subprocess.Popen([sys.executable, str(root / "dev.py"), "start", "--port", str(port), "--model",
                                str(tiny_model_path), "--db", str(tmp_path / "h.sqlite3")],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, "dev.py start", seconds=90)
        process.send_signal(stop)
        process.wait(timeout=30)
        # Nothing answers on the port any more: no server was left behind.
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _request(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()


def test_clients_that_trickle_their_bodies_do_not_stop_the_service(tiny_model_path, tmp_path):
    head = (b"POST /v1/moderate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    # The body timeout is far longer than the answers may take: with workers that a slow client holds
    # (gunicorn's sync workers), /healthz would wait for it.
    with running_server(tiny_model_path, tmp_path, "--body-timeout", "8") as (_, port, _log):
        slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(2)]
        try:
            for conn in slow:
                conn.sendall(head + b'{"text": "half')
            time.sleep(0.5)
            started = time.monotonic()
            assert _request(f"http://127.0.0.1:{port}/healthz", timeout=5)[0] == 200
            status, verdict = _request(f"http://127.0.0.1:{port}/v1/moderate", {"text": "fine", "store": False})
            assert status == 200 and verdict["verdict"] == "publish"
            assert time.monotonic() - started < 2
            # The slow ones are answered in time with a 408, and their connections closed.
            for conn in slow:
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 408") and b'"body_timeout"' in answer
        finally:
            for conn in slow:
                conn.close()


def _metric(text: str, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_metrics_count_requests_verdicts_flags_and_the_model(client, moderator):
    before = client.get("/metrics").get_data(as_text=True)
    post(client, {"text": "see a.com/x and b.com/y and c.com/z", "store": False})
    post(client, {"text": "Thanks for the clear reporting.", "store": False})
    post(client, {"text": ""})
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    def grew(name, **labels):
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert grew("moderation_requests_total", route="/v1/moderate", method="POST", status="200") == 2
    assert grew("moderation_requests_total", route="/v1/moderate", method="POST", status="422") == 1
    assert grew("moderation_requests_total", route="unmatched", method="GET", status="404") == 2
    assert grew("moderation_request_seconds_count", route="/v1/moderate") == 3
    assert grew("moderation_verdicts_total") == 2
    assert grew("moderation_flags_total", rule="links") == 1
    assert _metric(after, "moderation_model_info", version=moderator.version) == 1


def test_metrics_add_up_every_worker_of_a_real_server(tiny_model_path, tmp_path):
    with running_server(tiny_model_path, tmp_path) as (_, port, _log):
        for i in range(12):
            assert _request(f"http://127.0.0.1:{port}/v1/moderate", {"text": f"comment {i}", "store": False})[0] == 200
        for _ in range(3):   # whichever worker answers the scrape, it counts all twelve
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
            assert _metric(text, "moderation_requests_total", route="/v1/moderate", method="POST", status="200") == 12
            assert _metric(text, "moderation_verdicts_total") == 12


def test_the_json_access_log_has_the_request_id_ids_verdicts_and_flags_never_the_text(moderator, caplog):
    caplog.set_level(logging.INFO, logger="moderation.access")
    client = create_app({"log_format": "json", "log_text": True}, moderator=moderator).test_client()
    given = post(client, {"comments": [{"text": "a secret: see a.com/x b.com/y c.com/z", "id": "c1", "store": False},
                                       {"text": "fine words", "id": "c2", "store": False}]},
                 headers={"X-Request-ID": "req-42"})
    made = post(client, {"text": "hi", "store": False}, headers={"X-Request-ID": "bad id; forged"})
    assert given.headers["X-Request-ID"] == "req-42"
    assert made.headers["X-Request-ID"] != "bad id; forged" and len(made.headers["X-Request-ID"]) == 32
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.access"]
    first, second = (json.loads(line) for line in lines)
    assert first["request_id"] == "req-42" and first["status"] == 200 and first["path"] == "/v1/moderate"
    assert [c["id"] for c in first["comments"]] == ["c1", "c2"]
    assert "links" in first["comments"][0]["flags"] and first["comments"][1]["flags"] == []
    assert second["request_id"] == made.headers["X-Request-ID"]
    assert "secret" not in " ".join(lines)


def test_the_service_answers_the_verdict_bytes_of_the_cli(client, moderator):
    comment = {"text": "You moron, buy at a.com/x now!!!", "id": "c9", "store": False}
    single = client.post("/v1/moderate", json=comment)
    assert single.status_code == 200 and single.mimetype == "application/json"
    assert single.data == moderator.check_batch([Comment(comment["text"], id="c9", store=False)])[0].to_bytes()
    batch = client.post("/v1/moderate", json={"comments": [comment, {"text": "Fine work", "store": False}]})
    assert list(batch.get_json()) == ["results"] and batch.get_json()["results"][0] == single.get_json()
