"""History stores, opened from a URL by one factory.

    open_store("/var/lib/moderation/history.sqlite3")    # a file path: SQLite
    open_store("sqlite:///history.sqlite3")              # SQLite, relative path (SQLAlchemy's form)
    open_store("sqlite:////var/lib/history.sqlite3")     # SQLite, absolute path
    open_store("postgresql://user:pass@db.internal/moderation")   # PostgreSQL, shared by several hosts

A new kind of store is one module implementing ``HistoryStore`` plus one entry in ``SCHEMES``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import ModerationError
from .base import Decision, HistoryStore, QueueItem, StoreUnavailable, StoredComment
from .sqlite import SqliteStore


class StoreError(ModerationError):
    """A store URL that names no known kind of store."""


def _sqlite(url: str) -> HistoryStore:
    rest = url[len("sqlite://"):]
    if not rest.startswith("/") or rest == "/":
        raise StoreError(f"SQLite URL {url!r} has no path; write sqlite:///relative/path or sqlite:////absolute/path")
    return SqliteStore(rest[1:])


def _postgres(url: str) -> HistoryStore:
    from .postgres import PostgresStore

    return PostgresStore(url)


#: URL scheme -> opener.
SCHEMES: dict[str, Callable[[str], HistoryStore]] = {"sqlite": _sqlite, "postgresql": _postgres, "postgres": _postgres}


def open_store(url: str | os.PathLike) -> HistoryStore:
    """The history store a URL (or a plain file path, for SQLite) names."""
    text = os.fspath(url)
    scheme, sep, _ = text.partition("://")
    if not sep:
        return SqliteStore(Path(text))
    opener = SCHEMES.get(scheme.lower())
    if opener is None:
        raise StoreError(f"unknown history store {text!r}: the scheme must be one of "
                         f"{', '.join(s + '://' for s in SCHEMES)} or a file path")
    return opener(text)


__all__ = ["Decision", "HistoryStore", "QueueItem", "SCHEMES", "SqliteStore", "StoreError", "StoreUnavailable", "StoredComment",
           "open_store"]
