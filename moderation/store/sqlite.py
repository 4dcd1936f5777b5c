"""The embedded history store: SQLite in WAL mode, one file for one machine's workers."""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from itertools import takewhile
from pathlib import Path
from typing import Iterator

from .codec import CODES, from_schema_1, pack, pack_keys, unpack, unpack_keys
from .base import QUEUE_COLUMNS, Decision, HistoryStore, QueueItem, StoreUnavailable, StoredComment, pending_query

#: The schema's version (SQLite's user_version): created on first use, migrated forward, and a
#: file of a newer version than this code refused. 2: 16-bit codes and 32-bit keys (``codec``),
#: no index by comment or by time: about 400 bytes a comment, from about 1,300.
SCHEMA_VERSION = 2

#: The history. What is kept of a comment is its row (ids, whole-second time, packed codes and
#: the low halves of its keys) and one index entry per key: the keys, found again from the row
#: (``codec.unpack_keys``), let forgetting a comment delete its entries by primary key, without an
#: index by comment; comments are forgotten oldest key first
#: (keys grow with time), without an index by time.
_HISTORY = """
CREATE TABLE IF NOT EXISTS comments (
    key INTEGER PRIMARY KEY,
    comment_id TEXT,
    thread TEXT,
    author TEXT,
    created INTEGER NOT NULL,
    codes BLOB NOT NULL,
    keys BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_by_id ON comments(comment_id);
CREATE INDEX IF NOT EXISTS comments_by_author ON comments(author);
CREATE TABLE IF NOT EXISTS fingerprints (
    hash INTEGER NOT NULL,
    comment INTEGER NOT NULL,
    PRIMARY KEY (hash, comment)
) WITHOUT ROWID;
"""

_SCHEMA = _HISTORY + """
CREATE TABLE IF NOT EXISTS queue (
    item_id TEXT PRIMARY KEY,
    thread TEXT,
    author TEXT,
    text TEXT NOT NULL,
    verdict TEXT NOT NULL,
    rules TEXT NOT NULL,
    received REAL NOT NULL,
    decided REAL
);
CREATE INDEX IF NOT EXISTS queue_by_received ON queue(received);
CREATE INDEX IF NOT EXISTS queue_by_author ON queue(author);
CREATE TABLE IF NOT EXISTS decisions (
    item_id TEXT PRIMARY KEY,
    decision TEXT NOT NULL,
    rules TEXT NOT NULL,
    flagged TEXT NOT NULL,
    moderator TEXT,
    thread TEXT,
    author TEXT,
    text TEXT,
    decided REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions(decided);
"""


#: Fingerprints looked up by one statement (SQLite allows 500 terms in a compound SELECT).
_PER_STATEMENT = 100


#: Fingerprints screened by one IN list (SQLite before 3.32 allows 999 parameters).
_PER_SCREEN = 500


@lru_cache(maxsize=8)
def _screen_sql(n: int) -> str:
    return f"SELECT DISTINCT hash FROM fingerprints WHERE hash IN ({','.join('?' * n)})"


@lru_cache(maxsize=_PER_STATEMENT)
def _newest_sql(n: int) -> str:
    # The newest few per fingerprint, each in the index order (hash, comment descending).
    one = "SELECT * FROM (SELECT hash, comment FROM fingerprints WHERE hash = ? ORDER BY comment DESC LIMIT ?)"
    return " UNION ALL ".join([one] * n)


def _execute_each(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


class SqliteStore(HistoryStore):
    """SQLite in WAL mode: one file, many processes (service workers) reading and writing safely.

    A writer takes the write lock for the whole check-and-remember of a batch (BEGIN IMMEDIATE), so
    two identical comments posted at the same moment are serialised and the second sees the first.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 5.0):
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        #: The file's (device, inode) once opened: the history is that file. A file deleted or
        #: replaced while the service runs is refused, not recreated (every worker would start a
        #: history of its own), until the service restarts. Forked workers inherit it.
        self._identity: tuple[int, int] | None = None

    def _check_identity(self) -> None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            if self._identity is None:
                return
            raise StoreUnavailable(f"history store {self.path} was deleted while the service ran; restore it "
                                   "(or restart the service to begin a new history)") from None
        except OSError as exc:
            raise StoreUnavailable(f"history store {self.path} cannot be read: {exc.strerror}") from None
        found = (info.st_dev, info.st_ino)
        if self._identity is None:
            self._identity = found
        elif found != self._identity:
            raise StoreUnavailable(f"history store {self.path} was replaced by another file while the service ran; "
                                   "restart the service to use the new one")

    def _connect(self) -> sqlite3.Connection:
        # One connection per process and thread: connections must not cross a fork.
        key = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == key:
            return conn
        self._check_identity()
        # Two workers opening a new file at once race to switch it to WAL; SQLite answers the loser
        # "database is locked" at once, without waiting for its busy timeout. So opening retries,
        # within the same timeout.
        deadline = time.monotonic() + self.timeout
        while True:
            conn = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    self._create_or_migrate(conn)
                break
            except sqlite3.OperationalError as exc:
                if conn is not None:
                    conn.close()
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                    raise StoreUnavailable(f"history store {self.path} cannot be opened: {exc}") from None
                time.sleep(0.01)
            except (sqlite3.Error, OSError) as exc:
                if conn is not None:
                    conn.close()
                raise StoreUnavailable(f"history store {self.path} cannot be opened: {exc}") from None
        self._local.conn, self._local.pid = conn, key
        self._check_identity()
        return conn

    def _create_or_migrate(self, conn: sqlite3.Connection) -> None:
        """Create the schema, or migrate an older file forward, under the write lock (two workers
        may open a new file at once: the second finds it done)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            columns = {row[1] for row in conn.execute("PRAGMA table_info(comments)")}
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(f"history store {self.path} has schema version {version}, newer than this "
                                       f"code's {SCHEMA_VERSION}; upgrade the service")
            if version < SCHEMA_VERSION and "hashes" in columns:   # schema 1 (0: made before versions)
                self._migrate_from_1(conn)
            _execute_each(conn, _SCHEMA)   # not executescript: it would commit the open transaction
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise

    @staticmethod
    def _migrate_from_1(conn: sqlite3.Connection) -> None:
        """Schema 1 kept full 64-bit hashes; each row converts exactly (``codec.from_schema_1``)."""
        for index in ("comments_by_id", "comments_by_time", "comments_by_author", "fingerprints_by_comment"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("ALTER TABLE comments RENAME TO comments_1")
        conn.execute("DROP TABLE fingerprints")
        _execute_each(conn, _HISTORY)
        rows = conn.execute("SELECT key, comment_id, thread, author, created, hashes FROM comments_1 ORDER BY key")
        while chunk := rows.fetchmany(1000):
            converted = [(key, cid, thread, author, int(created), *from_schema_1(blob))
                         for key, cid, thread, author, created, blob in chunk]
            conn.executemany("INSERT INTO comments (key, comment_id, thread, author, created, codes, keys) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(*row[:5], pack(row[5], CODES), pack_keys(row[5], row[6], check=True)) for row in converted])
            conn.executemany("INSERT OR IGNORE INTO fingerprints (hash, comment) VALUES (?, ?)",
                             [(k, row[0]) for row in converted for k in row[6]])
        conn.execute("DROP TABLE comments_1")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self._connect()
        self._check_identity()   # one stat a request: a deleted file is noticed at once
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"history store {self.path} is unavailable: {exc}") from None
        try:
            yield
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"history store {self.path} could not commit: {exc}") from None

    def _run(self, sql: str, params=()):
        try:
            return self._connect().execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"history store {self.path} failed: {exc}") from None

    def newest(self, fingerprints, per_fingerprint=32):
        found: dict[int, list[int]] = {}
        # Most fingerprints of a batch are in no stored comment: an IN list finds the stored ones
        # at a third of the cost of a limited look-up each (benchmarks/speed.py).
        marks, stored = list(fingerprints), set()
        for at in range(0, len(marks), _PER_SCREEN):
            part = marks[at:at + _PER_SCREEN]
            stored.update(h for (h,) in self._run(_screen_sql(len(part)), part))
        marks = [m for m in marks if m in stored]
        for at in range(0, len(marks), _PER_STATEMENT):
            part = marks[at:at + _PER_STATEMENT]
            for mark, key in self._run(_newest_sql(len(part)), [x for m in part for x in (m, per_fingerprint)]):
                found.setdefault(mark, []).append(key)
        return found

    def comments(self, keys, since):
        marks = ",".join("?" * len(keys))
        rows = self._run(f"SELECT key, comment_id, thread, author, created, codes FROM comments "
                         f"WHERE key IN ({marks}) AND created >= ? ORDER BY key", (*keys, since)).fetchall()
        return [StoredComment(key, comment_id, thread, author, float(created), unpack(blob, CODES))
                for key, comment_id, thread, author, created, blob in rows]

    def key_of(self, comment_id):
        row = self._run("SELECT MIN(key) FROM comments WHERE comment_id = ?", (comment_id,)).fetchone()
        return row[0] if row else None

    def add(self, comment_id, thread, author, created, codes, fingerprints):
        row = (pack(codes, CODES), pack_keys(codes, fingerprints))
        key = self.key_of(comment_id) if comment_id is not None else None
        replaced = key is not None
        if replaced:
            self._unindex(self._run("SELECT key, codes, keys FROM comments WHERE key = ?", (key,)).fetchall())
            self._run("UPDATE comments SET thread = ?, author = ?, codes = ?, keys = ? WHERE key = ?",
                      (thread, author, *row, key))
        else:
            key = self._run("INSERT INTO comments (comment_id, thread, author, created, codes, keys) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (comment_id, thread, author, int(created), *row)).lastrowid
        self._many("INSERT OR IGNORE INTO fingerprints (hash, comment) VALUES (?, ?)",
                   [(f, key) for f in sorted(set(fingerprints))])
        return key, replaced

    def _many(self, sql: str, rows) -> None:
        try:
            self._connect().executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"history store {self.path} failed: {exc}") from None

    def _unindex(self, rows) -> None:
        """Delete the index entries of (key, codes, keys) rows."""
        self._many("DELETE FROM fingerprints WHERE hash = ? AND comment = ?",
                   [(k, key) for key, codes, blob in rows for k in set(unpack_keys(unpack(codes, CODES), blob))])

    def _forget(self, rows) -> int:
        self._unindex(rows)
        self._many("DELETE FROM comments WHERE key = ?", [(row[0],) for row in rows])
        return len(rows)

    def prune(self, before, limit=None):
        """Oldest key first, stopping at the first comment still within retention: keys grow with
        time (one machine's clock), so no index by time is kept and a prune reads only what it
        forgets, plus one row."""
        forgotten = 0
        with self.transaction():
            while limit is None or forgotten < limit:
                step = 500 if limit is None else min(500, limit - forgotten)
                rows = self._run("SELECT key, created, codes, keys FROM comments ORDER BY key LIMIT ?",
                                 (step,)).fetchall()
                expired = list(takewhile(lambda row: row[1] < before, rows))
                forgotten += self._forget([(key, codes, blob) for key, _, codes, blob in expired])
                if len(expired) < step:   # a comment within retention, or the end of the history
                    break
        return forgotten

    def ping(self):
        """Read, then write (a row inserted and rolled back): a read-only file or folder answers
        reads and refuses every comment."""
        self._run("SELECT 1 FROM comments LIMIT 1").fetchall()
        conn = self._connect()
        self._check_identity()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO comments (comment_id, created, codes, keys) VALUES (NULL, 0, x'', x'')")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"history store {self.path} cannot be written: {exc}") from None
        finally:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    # --- queue and decisions -----------------------------------------------------------------

    @staticmethod
    def _item(row) -> QueueItem:
        item_id, thread, author, text, verdict, rules, received = row
        return QueueItem(item_id, thread, author, text, json.loads(verdict), tuple(json.loads(rules)), received)

    def queue_add(self, items):
        with self.transaction():
            self._connect().executemany(
                "INSERT OR REPLACE INTO queue (item_id, thread, author, text, verdict, rules, received, decided) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                [(i.item_id, i.thread, i.author, i.text, json.dumps(i.verdict), json.dumps(list(i.rules)), i.received)
                 for i in items])

    def queue_pending(self, since, rule=None, limit=50, before=None):
        sql, params = pending_query("?", "EXISTS (SELECT 1 FROM json_each(queue.rules) WHERE value = ?)",
                                    since, rule, limit, before)
        return [self._item(row) for row in self._run(sql, params).fetchall()]

    def queue_get(self, item_id):
        row = self._run(f"SELECT {QUEUE_COLUMNS} FROM queue WHERE item_id = ?", (item_id,)).fetchone()
        return None if row is None else self._item(row)

    def queued_since(self, since):
        return [self._item(row) for row in self._run(
            f"SELECT {QUEUE_COLUMNS} FROM queue WHERE received >= ? ORDER BY received", (since,)).fetchall()]

    def decide(self, decision):
        with self.transaction():
            d = decision
            self._run("INSERT OR REPLACE INTO decisions (item_id, decision, rules, flagged, moderator, thread, author, "
                      "text, decided) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (d.item_id, d.decision, json.dumps(list(d.rules)), json.dumps(list(d.flagged)), d.moderator,
                       d.thread, d.author, d.text, d.decided))
            self._run("UPDATE queue SET decided = ? WHERE item_id = ?", (d.decided, d.item_id))

    def decisions(self, since=0.0):
        rows = self._run("SELECT item_id, decision, rules, flagged, moderator, thread, author, text, decided "
                         "FROM decisions WHERE decided >= ? ORDER BY decided, item_id", (since,)).fetchall()
        return [Decision(i, d, tuple(json.loads(r)), tuple(json.loads(f)), m, th, a, t, when)
                for i, d, r, f, m, th, a, t, when in rows]

    def prune_queue(self, before):
        with self.transaction():
            return self._run("DELETE FROM queue WHERE received < ?", (before,)).rowcount

    def erase_author(self, author):
        with self.transaction():
            history = self._forget(self._run("SELECT key, codes, keys FROM comments WHERE author = ?",
                                             (author,)).fetchall())
            queued = self._run("DELETE FROM queue WHERE author = ?", (author,)).rowcount
            decisions = self._run("UPDATE decisions SET text = NULL WHERE author = ? AND text IS NOT NULL",
                                  (author,)).rowcount
        return {"history": history, "queue": queued, "decisions": decisions}

    def upgrade(self) -> int:
        """Create or migrate the schema now; the version it is at."""
        return self._run("PRAGMA user_version").fetchone()[0]

    def count(self) -> int:
        return self._run("SELECT COUNT(*) FROM comments").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
