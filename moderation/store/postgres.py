"""The shared history store: PostgreSQL, for several service hosts behind one load balancer.

The same contract as SQLite's (``tests/store_contract.py`` runs against both). What differs:

- Atomic check-and-remember across hosts: ``transaction`` takes a transaction-scoped advisory lock
  (``pg_advisory_xact_lock``) before anything else, so of two identical comments checked at the same
  moment on two hosts the second waits for the first and sees it. One lock for the whole history
  keeps this simple and correct; a check-and-remember holds it for a few milliseconds.
- Connections: a small pool per worker process (psycopg_pool), made after the fork; a short connect
  timeout, so a database that is down makes a check answer at once with ``repeated`` unavailable,
  and the pool reconnects by itself when it is back.
- Schema: created on first use and versioned (``schema_version``); a database of a newer version
  than this code is refused.
"""
from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from typing import Iterator

from .codec import CODES, from_schema_1, pack, unpack
from .base import QUEUE_COLUMNS, Decision, HistoryStore, QueueItem, StoreUnavailable, StoredComment, pending_query

#: 2: 16-bit codes and 32-bit keys (``codec``), as SQLite's schema 2; 1 kept full 64-bit hashes.
SCHEMA_VERSION = 2
_LOCK = 7_310_452_001   # the advisory lock of the history (any constant the outlet's database does not use)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS comments (
    key BIGSERIAL PRIMARY KEY, comment_id TEXT, thread TEXT, author TEXT,
    created DOUBLE PRECISION NOT NULL, codes BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS comments_by_id ON comments(comment_id);
CREATE INDEX IF NOT EXISTS comments_by_time ON comments(created);
CREATE INDEX IF NOT EXISTS comments_by_author ON comments(author);
CREATE TABLE IF NOT EXISTS fingerprints (hash INTEGER NOT NULL, comment BIGINT NOT NULL, PRIMARY KEY (hash, comment));
CREATE INDEX IF NOT EXISTS fingerprints_by_comment ON fingerprints(comment);
CREATE TABLE IF NOT EXISTS queue (
    item_id TEXT PRIMARY KEY, thread TEXT, author TEXT, text TEXT NOT NULL, verdict JSONB NOT NULL,
    rules JSONB NOT NULL, received DOUBLE PRECISION NOT NULL, decided DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS queue_by_received ON queue(received);
CREATE INDEX IF NOT EXISTS queue_by_author ON queue(author);
CREATE TABLE IF NOT EXISTS decisions (
    item_id TEXT PRIMARY KEY, decision TEXT NOT NULL, rules JSONB NOT NULL, flagged JSONB NOT NULL,
    moderator TEXT, thread TEXT, author TEXT, text TEXT, decided DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions(decided);
"""


class PostgresStore(HistoryStore):
    """PostgreSQL, shared by every host; see the module docstring."""

    def __init__(self, url: str, connect_timeout: float = 2.0, pool_size: int = 4):
        self.url, self.connect_timeout, self.pool_size = url, connect_timeout, pool_size
        self._pool = None
        self._pid = None
        self._local = threading.local()
        self._ready = False
        self._guard = threading.Lock()

    # --- connections ---------------------------------------------------------------------------

    def _get_pool(self):
        if self._pool is None or self._pid != os.getpid():   # a pool never crosses a fork
            with self._guard:
                if self._pool is None or self._pid != os.getpid():
                    from psycopg_pool import ConnectionPool

                    self._pool = ConnectionPool(self.url, min_size=0, max_size=self.pool_size, open=True,
                                                kwargs={"connect_timeout": max(1, int(self.connect_timeout)),
                                                        "autocommit": True},
                                                timeout=self.connect_timeout, reconnect_timeout=0)
                    self._pid, self._ready = os.getpid(), False
        return self._pool

    @contextmanager
    def _connection(self):
        held = getattr(self._local, "conn", None)
        if held is not None:   # inside transaction(): its connection
            yield held
            return
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._get_pool().connection() as conn:
                self._ensure_schema(conn)
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreUnavailable(f"history store {self._where()} is unavailable: {_reason(exc)}") from None

    def _where(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(self.url)
            return f"postgresql://{info.get('host', 'localhost')}/{info.get('dbname', '')}"
        except Exception:   # noqa: BLE001 - only for the message
            return "postgresql"

    def _ensure_schema(self, conn) -> None:
        if self._ready:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK + 1,))   # two first users at once
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            if version is not None and version > SCHEMA_VERSION:
                raise StoreUnavailable(f"history store {self._where()} has schema version {version}, newer than this "
                                       f"code's {SCHEMA_VERSION}; upgrade the service")
            if version == 1:
                with conn.transaction():   # under the lock, whole or not at all
                    self._migrate_from_1(conn)
            conn.execute(_SCHEMA)
            if version != SCHEMA_VERSION:
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,))
        self._ready = True

    @staticmethod
    def _migrate_from_1(conn) -> None:
        """Schema 1 kept full 64-bit hashes; each row converts exactly (``codec.from_schema_1``)."""
        conn.execute("ALTER TABLE comments RENAME COLUMN hashes TO codes")
        conn.execute("DELETE FROM fingerprints")
        conn.execute("ALTER TABLE fingerprints ALTER COLUMN hash TYPE INTEGER")
        last = 0
        while rows := conn.execute("SELECT key, codes FROM comments WHERE key > %s ORDER BY key LIMIT 1000",
                                   (last,)).fetchall():
            for key, blob in rows:
                codes, keys = from_schema_1(blob)
                conn.execute("UPDATE comments SET codes = %s WHERE key = %s", (pack(codes, CODES), key))
                conn.execute("INSERT INTO fingerprints (hash, comment) SELECT unnest(%s::integer[]), %s "
                             "ON CONFLICT DO NOTHING", (list(keys), key))
            last = rows[-1][0]

    def _run(self, sql: str, params=(), fetch: bool = False):
        """Execute on this thread's connection (the transaction's, or one from the pool); with
        ``fetch``, the rows, read before the connection goes back to the pool."""
        import psycopg

        with self._connection() as conn:
            try:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if fetch else cursor
            except psycopg.Error as exc:
                raise StoreUnavailable(f"history store {self._where()} failed: {_reason(exc)}") from None

    def _rows(self, sql: str, params=()) -> list:
        return self._run(sql, params, fetch=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            raise StoreUnavailable("history store: a transaction is already open in this thread")
        import psycopg

        with self._connection() as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                    self._local.conn = conn
                    try:
                        yield
                    finally:
                        self._local.conn = None
            except psycopg.Error as exc:
                raise StoreUnavailable(f"history store {self._where()} could not commit: {_reason(exc)}") from None

    # --- history ------------------------------------------------------------------------------

    def newest(self, fingerprints, per_fingerprint=32):
        found: dict[int, list[int]] = {}
        # The newest few per fingerprint, every fingerprint in one round trip.
        for mark, key in self._rows("SELECT h.hash, f.comment FROM unnest(%s::integer[]) WITH ORDINALITY AS h(hash, i) "
                                    "CROSS JOIN LATERAL (SELECT comment FROM fingerprints WHERE hash = h.hash "
                                    "ORDER BY comment DESC LIMIT %s) f ORDER BY h.i, f.comment DESC",
                                    (list(fingerprints), per_fingerprint)):
            found.setdefault(mark, []).append(key)
        return found

    def comments(self, keys, since):
        rows = self._rows("SELECT key, comment_id, thread, author, created, codes FROM comments "
                          "WHERE key = ANY(%s) AND created >= %s ORDER BY key", (list(keys), since))
        return [StoredComment(key, comment_id, thread, author, created, unpack(blob, CODES))
                for key, comment_id, thread, author, created, blob in rows]

    def key_of(self, comment_id):
        row = self._rows("SELECT MIN(key) FROM comments WHERE comment_id = %s", (comment_id,))
        return row[0][0] if row else None

    def add(self, comment_id, thread, author, created, codes, fingerprints):
        blob = pack(codes, CODES)
        key = self.key_of(comment_id) if comment_id is not None else None
        replaced = key is not None
        if replaced:
            self._run("UPDATE comments SET thread = %s, author = %s, codes = %s WHERE key = %s",
                      (thread, author, blob, key))
            self._run("DELETE FROM fingerprints WHERE comment = %s", (key,))
        else:
            key = self._rows("INSERT INTO comments (comment_id, thread, author, created, codes) "
                             "VALUES (%s, %s, %s, %s, %s) RETURNING key", (comment_id, thread, author, created, blob))[0][0]
        marks = sorted(set(fingerprints))
        if marks:
            self._run("INSERT INTO fingerprints (hash, comment) SELECT unnest(%s::integer[]), %s ON CONFLICT DO NOTHING",
                      (marks, key))
        return key, replaced

    def _forget(self, where: str, params) -> int:
        keys = [k for (k,) in self._rows(f"SELECT key FROM comments WHERE {where}", params)]
        if keys:
            self._run("DELETE FROM fingerprints WHERE comment = ANY(%s)", (keys,))
            self._run("DELETE FROM comments WHERE key = ANY(%s)", (keys,))
        return len(keys)

    def prune(self, before, limit=None):
        with self.transaction():
            if limit is None:
                return self._forget("created < %s", (before,))
            return self._forget("key IN (SELECT key FROM comments WHERE created < %s ORDER BY created LIMIT %s)",
                                (before, limit))

    def ping(self):
        self._rows("SELECT 1 FROM comments LIMIT 1")
        with self.transaction():   # the write lock and a row written and rolled back
            with self._connection() as conn:
                conn.execute("SAVEPOINT probe")
                conn.execute("INSERT INTO comments (comment_id, created, codes) VALUES (NULL, 0, ''::bytea)")
                conn.execute("ROLLBACK TO SAVEPOINT probe")

    def upgrade(self) -> int:
        """Create or migrate the schema now; the version it is at."""
        return self._rows("SELECT max(version) FROM schema_version")[0][0]

    def count(self) -> int:
        return self._rows("SELECT COUNT(*) FROM comments")[0][0]

    # --- queue and decisions --------------------------------------------------------------------

    @staticmethod
    def _item(row) -> QueueItem:
        item_id, thread, author, text, verdict, rules, received = row
        return QueueItem(item_id, thread, author, text, verdict, tuple(rules), received)

    def queue_add(self, items):
        with self.transaction():
            for i in items:
                self._run("INSERT INTO queue (item_id, thread, author, text, verdict, rules, received, decided) "
                          "VALUES (%s, %s, %s, %s, %s, %s, %s, NULL) ON CONFLICT (item_id) DO UPDATE SET "
                          "thread = EXCLUDED.thread, author = EXCLUDED.author, text = EXCLUDED.text, "
                          "verdict = EXCLUDED.verdict, rules = EXCLUDED.rules, received = EXCLUDED.received, "
                          "decided = NULL",
                          (i.item_id, i.thread, i.author, i.text, json.dumps(i.verdict), json.dumps(list(i.rules)),
                           i.received))

    def queue_pending(self, since, rule=None, limit=50, before=None):
        return [self._item(row) for row in self._rows(*pending_query("%s", "rules ? %s", since, rule, limit, before))]

    def queue_get(self, item_id):
        rows = self._rows(f"SELECT {QUEUE_COLUMNS} FROM queue WHERE item_id = %s", (item_id,))
        return self._item(rows[0]) if rows else None

    def queued_since(self, since):
        return [self._item(r) for r in self._rows(f"SELECT {QUEUE_COLUMNS} FROM queue WHERE received >= %s "
                                                  "ORDER BY received", (since,))]

    def decide(self, decision):
        d = decision
        with self.transaction():
            self._run("INSERT INTO decisions (item_id, decision, rules, flagged, moderator, thread, author, text, decided) "
                      "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (item_id) DO UPDATE SET "
                      "decision = EXCLUDED.decision, rules = EXCLUDED.rules, flagged = EXCLUDED.flagged, "
                      "moderator = EXCLUDED.moderator, thread = EXCLUDED.thread, author = EXCLUDED.author, "
                      "text = EXCLUDED.text, decided = EXCLUDED.decided",
                      (d.item_id, d.decision, json.dumps(list(d.rules)), json.dumps(list(d.flagged)), d.moderator,
                       d.thread, d.author, d.text, d.decided))
            self._run("UPDATE queue SET decided = %s WHERE item_id = %s", (d.decided, d.item_id))

    def decisions(self, since=0.0):
        rows = self._rows("SELECT item_id, decision, rules, flagged, moderator, thread, author, text, decided "
                          "FROM decisions WHERE decided >= %s ORDER BY decided, item_id", (since,))
        return [Decision(i, d, tuple(r), tuple(f), m, th, a, t, when) for i, d, r, f, m, th, a, t, when in rows]

    def prune_queue(self, before):
        with self.transaction():
            return self._run("DELETE FROM queue WHERE received < %s", (before,)).rowcount

    def erase_author(self, author):
        with self.transaction():
            history = self._forget("author = %s", (author,))
            queued = self._run("DELETE FROM queue WHERE author = %s", (author,)).rowcount
            decisions = self._run("UPDATE decisions SET text = NULL WHERE author = %s AND text IS NOT NULL",
                                  (author,)).rowcount
        return {"history": history, "queue": queued, "decisions": decisions}

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
