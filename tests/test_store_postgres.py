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


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of its own on a Unix socket; yields a function making a fresh database URL."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="moderation-pg-"))   # not under pytest's folder: postgres enters it
    folder.chmod(0o755)
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    bin_dir = os.path.dirname(INITDB)
    as_user: list[str] = []
    if os.geteuid() == 0:   # PostgreSQL refuses to run as root: the "postgres" user of Debian's package
        os.chown(folder, *_ids("postgres"))
        os.chown(sockets, *_ids("postgres"))
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, INITDB, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"], check=True,
                   capture_output=True)
    subprocess.run([*as_user, os.path.join(bin_dir, "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
                    "-o", f"-k {sockets} -c listen_addresses='' -c fsync=off", "start"], check=True, capture_output=True)

    def fresh() -> str:
        name = "t" + uuid.uuid4().hex[:12]
        subprocess.run([*as_user, os.path.join(bin_dir, "createdb"), "-h", str(sockets), "-U", "postgres", name],
                       check=True, capture_output=True)
        return f"postgresql://postgres@/{name}?host={sockets}"

    yield fresh
    subprocess.run([*as_user, os.path.join(bin_dir, "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                   capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


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
