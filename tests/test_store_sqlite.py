"""The SQLite history store keeps the store contract, and opens from a path or a URL."""
import pytest

from moderation.store import SqliteStore, StoreError, open_store
from tests.store_contract import StoreContract


class TestSqliteStoreContract(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "history.sqlite3")

    @staticmethod
    def make_newer(store):
        import sqlite3

        with sqlite3.connect(store.path) as conn:
            conn.execute("PRAGMA user_version = 99")


def test_db_upgrade_reports_the_schema_version(tmp_path):
    from click.testing import CliRunner

    from moderation.cli import main

    result = CliRunner().invoke(main, ["db", "upgrade", "--db", str(tmp_path / "h.sqlite3")])
    assert result.exit_code == 0 and "schema version 1" in result.output


def test_store_urls_name_sqlite_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert open_store(tmp_path / "a.sqlite3").path == tmp_path / "a.sqlite3"
    assert str(open_store(f"sqlite:///{tmp_path}/b.sqlite3").path) == f"{tmp_path}/b.sqlite3"
    assert str(open_store("sqlite:///rel/c.sqlite3").path) == "rel/c.sqlite3"


@pytest.mark.parametrize("url,words", [
    ("mysql://u@h/db", "the scheme must be one of sqlite://, postgresql://"),
    ("sqlite://", "has no path"),
])
def test_unknown_store_urls_are_one_line_errors(url, words):
    with pytest.raises(StoreError, match=words):
        open_store(url)
