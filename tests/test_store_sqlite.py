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
    assert result.exit_code == 0 and "schema version 2" in result.output


#: Schema 1 as it was written (full 64-bit hashes in the row, an index by comment and by time).
SCHEMA_1 = """
CREATE TABLE comments (key INTEGER PRIMARY KEY, comment_id TEXT, thread TEXT, author TEXT, created REAL NOT NULL,
                       hashes BLOB NOT NULL);
CREATE INDEX comments_by_id ON comments(comment_id);
CREATE INDEX comments_by_time ON comments(created);
CREATE INDEX comments_by_author ON comments(author);
CREATE TABLE fingerprints (hash INTEGER NOT NULL, comment INTEGER NOT NULL, PRIMARY KEY (hash, comment)) WITHOUT ROWID;
CREATE INDEX fingerprints_by_comment ON fingerprints(comment);
PRAGMA user_version = 1;
"""
OLD = ("Residents of Harlow Bay deserve better than this. The new bus schedule cuts the evening routes that "
       "shift workers depend on, and the transit board approved it without a single public meeting.")


@pytest.mark.parametrize("version", [1, 0])   # 0: files written before the schema had a version
def test_a_schema_1_history_is_migrated_and_its_comments_are_still_repeats(tmp_path, version):
    import sqlite3
    import time
    from array import array

    from moderation.moderator import Comment
    from moderation.fingerprints import kgram_hashes, winnow, words
    from moderation.repeats import RepeatChecker

    path = tmp_path / "old.sqlite3"
    hashes = kgram_hashes(words(OLD))
    now = time.time()
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_1.replace("user_version = 1", f"user_version = {version}"))
        conn.execute("INSERT INTO comments VALUES (7, 'c1', 't1', 'ann', ?, ?)", (now - 60.5, array("q", hashes).tobytes()))
        conn.executemany("INSERT INTO fingerprints VALUES (?, 7)", [(h,) for h in set(winnow(hashes))])
    store = SqliteStore(path)
    result = RepeatChecker(store).check_batch([Comment(OLD, id="c2", thread="t2", author="ann", store=False)])[0]
    assert result.score == 1.0 and result.evidence[0].extra["earlier"]["id"] == "c1"
    assert store.key_of("c1") == 7 and store.upgrade() == 2
    with sqlite3.connect(path) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
    assert "comments_1" not in names and "fingerprints_by_comment" not in names and "comments_by_time" not in names


def test_forgetting_a_comment_leaves_no_index_entries_behind(tmp_path):
    import sqlite3

    from moderation.fingerprints import codes_and_keys, kgram_hashes, words

    store = SqliteStore(tmp_path / "h.sqlite3")
    codes, keys = codes_and_keys(kgram_hashes(words(OLD)))
    edited, edited_keys = codes_and_keys(kgram_hashes(words(OLD[:80])))
    with store.transaction():
        store.add("c1", "t1", "ann", 100.0, codes, keys)
        store.add("c1", "t1", "ann", 100.0, edited, edited_keys)   # an edit: its old entries go
        store.add("c2", "t1", "bob", 200.0, codes, keys)
    count = lambda: sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0]  # noqa: E731
    assert count() == len(set(edited_keys)) + len(set(keys))
    assert store.prune(150.0) == 1 and count() == len(set(keys))
    assert store.erase_author("bob")["history"] == 1 and count() == 0


def test_a_row_keeps_half_of_each_key_and_gives_the_whole_key_back():
    from moderation.fingerprints import codes_and_keys, kgram_hashes, words
    from moderation.store.codec import pack_keys, unpack_keys

    for text in (OLD, OLD * 3, "one two three four five", "a b c d e f g h i j k l"):
        codes, keys = codes_and_keys(kgram_hashes(words(text)))
        blob = pack_keys(codes, keys)
        assert len(blob) == 2 * len(keys) and unpack_keys(codes, blob) == keys
    with pytest.raises(ValueError, match="winnowed keys"):
        pack_keys(codes, [k ^ 1 << 20 for k in keys], check=True)


def test_prune_stops_at_the_first_comment_still_kept(tmp_path):
    from moderation.fingerprints import codes_and_keys, kgram_hashes, words

    store = SqliteStore(tmp_path / "h.sqlite3")
    codes, keys = codes_and_keys(kgram_hashes(words(OLD)))
    with store.transaction():
        for i, created in enumerate([10, 20, 500, 30, 40]):   # a clock set back once: 30 and 40 wait for 500
            store.add(f"c{i}", "t", "a", float(created), codes, keys)
    assert store.prune(100.0) == 2
    assert [store.key_of(f"c{i}") is None for i in range(5)] == [True, True, False, False, False]
    assert store.prune(1000.0) == 3


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
