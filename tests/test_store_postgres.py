"""The PostgreSQL history store keeps the same store contract, on a real PostgreSQL server started
here (Debian's postgresql binaries: initdb and pg_ctl, into a temporary folder)."""
import glob
import os
import shutil
import subprocess
import uuid

import pytest

from tests.store_contract import StoreContract

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
INITDB = BIN[-1] if BIN else shutil.which("initdb")   # Debian's binaries first
pytestmark = pytest.mark.skipif(not (INITDB and os.path.exists(INITDB)),
                                reason="PostgreSQL is not installed (apt-get install postgresql)")


class Server:
    """A PostgreSQL server of its own, on a Unix socket in a temporary folder (Debian's binaries)."""

    def __init__(self):
        import tempfile
        from pathlib import Path

        self.folder = Path(tempfile.mkdtemp(prefix="moderation-pg-"))   # not under pytest's: postgres enters it
        self.folder.chmod(0o755)
        self.data, self.sockets = self.folder / "data", self.folder / "run"
        self.sockets.mkdir()
        self.bin = os.path.dirname(INITDB)
        self.as_user: list[str] = []
        if os.geteuid() == 0:   # PostgreSQL refuses to run as root: Debian's "postgres" user runs it
            os.chown(self.folder, *_ids("postgres"))
            os.chown(self.sockets, *_ids("postgres"))
            self.as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.as_user, INITDB, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"],
                       check=True, capture_output=True)
        self.start()

    def _ctl(self, *args):
        subprocess.run([*self.as_user, os.path.join(self.bin, "pg_ctl"), "-D", str(self.data), *args], check=True,
                       capture_output=True)

    def start(self):
        self._ctl("-w", "-l", str(self.folder / "log"), "-o",
                  f"-k {self.sockets} -c listen_addresses='' -c fsync=off", "start")

    def stop(self):
        self._ctl("-m", "fast", "-w", "stop")

    def fresh(self) -> str:
        name = "t" + uuid.uuid4().hex[:12]
        subprocess.run([*self.as_user, os.path.join(self.bin, "createdb"), "-h", str(self.sockets), "-U", "postgres",
                        name], check=True, capture_output=True)
        return f"postgresql://postgres@/{name}?host={self.sockets}"

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A shared PostgreSQL server; yields a function making a fresh database URL on it."""
    server = Server()
    yield server.fresh
    server.remove()


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture
    def make_store(self, postgres):
        from moderation.store.postgres import PostgresStore

        url = postgres()
        return lambda: PostgresStore(url)

    @staticmethod
    def make_newer(store):
        store._run("INSERT INTO schema_version (version) VALUES (99)")


def test_a_schema_1_database_is_migrated_and_its_comments_are_still_repeats(postgres):
    import time
    from array import array

    import psycopg

    from moderation.moderator import Comment
    from moderation.fingerprints import kgram_hashes, winnow, words
    from moderation.repeats import RepeatChecker
    from moderation.store.postgres import PostgresStore
    from tests.test_store_sqlite import OLD

    url = postgres()
    hashes = kgram_hashes(words(OLD))
    with psycopg.connect(url, autocommit=True) as conn:   # schema 1 as it was written
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
                     "CREATE TABLE comments (key BIGSERIAL PRIMARY KEY, comment_id TEXT, thread TEXT, author TEXT, "
                     "created DOUBLE PRECISION NOT NULL, hashes BYTEA NOT NULL);"
                     "CREATE TABLE fingerprints (hash BIGINT NOT NULL, comment BIGINT NOT NULL, "
                     "PRIMARY KEY (hash, comment)); CREATE INDEX fingerprints_by_comment ON fingerprints(comment)")
        conn.execute("INSERT INTO comments VALUES (7, 'c1', 't1', 'ann', %s, %s)",
                     (time.time() - 60, array("q", hashes).tobytes()))
        conn.execute("INSERT INTO fingerprints SELECT unnest(%s::bigint[]), 7", (sorted(set(winnow(hashes))),))
    store = PostgresStore(url)
    result = RepeatChecker(store).check_batch([Comment(OLD, id="c2", thread="t2", author="ann", store=False)])[0]
    assert result.score == 1.0 and result.evidence[0].extra["earlier"]["id"] == "c1"
    assert store.upgrade() == 2 and store.key_of("c1") == 7


def test_a_database_that_is_down_is_unavailable_at_once(postgres):
    import time

    from moderation.store import StoreUnavailable
    from moderation.store.postgres import PostgresStore

    store = PostgresStore("postgresql://postgres@/nowhere?host=/nonexistent-socket-dir", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.ping()
    assert time.monotonic() - started < 5


def test_a_postgresql_url_opens_the_shared_store_not_a_file(tmp_path, monkeypatch):
    from moderation.store import open_store
    from moderation.store.postgres import PostgresStore

    monkeypatch.chdir(tmp_path)
    assert isinstance(open_store("postgresql://user@db.internal/moderation"), PostgresStore)
    assert list(tmp_path.iterdir()) == []   # no "postgresql:" folder made


def test_two_services_share_one_history_queue_and_decisions(postgres, tiny_model_path, tmp_path):
    import json
    import signal
    import sys
    import threading
    import urllib.error
    import urllib.request
    from pathlib import Path

    from tests.test_service import _free_port, wait_ready

    url = postgres()
    servers, bases = [], []
    for i in range(2):
        port = _free_port()
        log = open(tmp_path / f"serve{i}.log", "w+")
        servers.append(subprocess.Popen([str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port),
                                         "--workers", "1", "--model", str(tiny_model_path), "--db", url],
                                        stdout=log, stderr=subprocess.STDOUT))
        bases.append(f"http://127.0.0.1:{port}")

    def call(base, path, body=None):
        request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    try:
        for base, server in zip(bases, servers):
            wait_ready(base, server, "a service")
        # Longer than the rulebook's campaign_min_words: a repeat across authors.
        text = ("The transit board approved the cuts without a single public meeting or any survey of the riders "
                "who depend on the evening routes, and now the night shift workers across the whole east side of "
                "the city have no way home at all.")
        # Two identical comments at the same moment, one to each host: exactly one is a repeat.
        answers, barrier = [None, None], threading.Barrier(2)

        def post(i):
            barrier.wait()
            answers[i] = call(bases[i], "/v1/moderate", {"text": text, "author": f"author{i}"})
        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a["scores"]["repeated"] >= 0.5 for a in answers) == [False, True], answers
        # Stored through one, a repeat on the other.
        other = ("A council that cuts the evening buses while raising its own expenses and travel budget for the "
                 "third year in a row has lost the plot entirely, and every rider on the number nine knows it well.")
        call(bases[0], "/v1/moderate", {"text": other, "author": "x"})
        assert call(bases[1], "/v1/moderate", {"text": other, "author": "y"})["scores"]["repeated"] >= 0.5
        # A decision posted to one shows in the other's queue and stats.
        held = call(bases[0], "/v1/moderate", {"text": "Only a moron would vote for that clown again.", "id": "pg-1"})
        assert held["verdict"] != "publish"
        assert [i["id"] for i in call(bases[1], "/v1/queue")["items"]][:1] == ["pg-1"]
        call(bases[1], "/v1/decisions", {"id": "pg-1", "decision": "approve"})
        assert "pg-1" not in [i["id"] for i in call(bases[0], "/v1/queue")["items"]]
        assert any(r["decided"] for r in call(bases[0], "/v1/stats?days=1")["rules"].values())
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def test_the_service_goes_on_while_postgresql_is_down_and_reconnects_when_it_is_back(tiny_artifact):
    from moderation.moderator import Moderator
    from moderation.rulebook import load_rulebook
    from moderation.store.postgres import PostgresStore
    from service import create_app

    server = Server()
    try:
        store = PostgresStore(server.fresh(), connect_timeout=1)
        client = create_app(moderator=Moderator(tiny_artifact, load_rulebook(), history=store)).test_client()
        text = ("The transit board approved the cuts without a single public meeting or any survey of the riders "
                "who depend on the evening routes, and the night shift has no way home.")
        assert "unavailable" not in client.post("/v1/moderate", json={"text": text, "author": "a"}).get_json()
        server.stop()
        import time

        started = time.monotonic()
        answer = client.post("/v1/moderate", json={"text": "Another comment while the database is down."}).get_json()
        assert answer["unavailable"] == ["repeated"] and time.monotonic() - started < 5
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["error"]["code"] == "store_unavailable"
        server.start()
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the store did not reconnect"
            time.sleep(0.3)
        again = client.post("/v1/moderate", json={"text": text, "author": "a"}).get_json()
        assert "unavailable" not in again and again["scores"]["repeated"] >= 0.5   # nothing stored was lost
    finally:
        server.remove()
