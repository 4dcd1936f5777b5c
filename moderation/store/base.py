"""The comment history behind repeat detection: a small interface every store implements.

Only fingerprints are kept, with the comment's id, thread, author and time — never its text: the
evidence a repeat needs is in the *new* comment, and a history of texts would be a second copy of
readers' words to secure, disclose and delete. The interface is narrow (transaction, candidates,
key_of, add, prune, ping), and ``tests/store_contract.py`` holds every implementation to it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence


class StoreUnavailable(Exception):
    """The history cannot be read or written (missing, locked, corrupt); the verdict goes on without it."""


@dataclass(frozen=True)
class StoredComment:
    key: int
    comment_id: str | None
    thread: str | None
    author: str | None
    created: float
    hashes: tuple[int, ...]        # every word k-gram hash, to measure coverage exactly


class HistoryStore(ABC):
    """What repeat detection needs of a history. Promise (tested for every implementation): inside
    ``transaction()``, lookups and additions are atomic with respect to every other writer of the
    same history, so of two identical comments checked at the same moment the second sees the first."""

    @abstractmethod
    def transaction(self):
        """A context in which lookups and additions are atomic with respect to other writers."""

    @abstractmethod
    def candidates(self, fingerprints: Sequence[int], since: float, per_fingerprint: int = 32) -> list[tuple[StoredComment, int]]:
        """Stored comments newer than ``since`` sharing fingerprints, with how many they share."""

    @abstractmethod
    def key_of(self, comment_id: str) -> int | None:
        """The key of the stored comment with this id, if any (keys grow with time)."""

    @abstractmethod
    def add(self, comment_id, thread, author, created: float, hashes: Sequence[int], fingerprints: Sequence[int]) -> None:
        """Remember a comment. A comment whose id is stored already is an edit or a retry: it
        replaces the stored one in place, keeping its key and time."""

    @abstractmethod
    def prune(self, before: float, limit: int | None = None) -> int:
        """Forget comments older than ``before`` (the oldest ``limit`` of them, when given), in
        its own transaction; returns how many."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable unless the store can be read and written."""

    def close(self) -> None:
        """Release connections (the store reopens them when used again)."""
