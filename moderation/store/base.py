"""The comment history behind repeat detection, and the moderators' queue and decisions: a small
interface every store implements.

The history keeps only fingerprints, with the comment's id, thread, author and time — never its
text: the evidence a repeat needs is in the *new* comment, and a history of texts would be a second
copy of readers' words to secure, disclose and delete. The queue does keep the text, but only of
comments the service sent to review or rejected, and only for the rulebook's ``queue_days``: a
moderator must read what they decide on, and a decision is a training row only with its text.
Published comments' texts are never kept. ``erase_author`` forgets one reader everywhere.
``tests/store_contract.py`` holds every implementation to the interface.
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
    codes: tuple[int, ...]         # the 16-bit code of every word k-gram, to measure coverage


@dataclass(frozen=True)
class QueueItem:
    """A comment waiting for a moderator: what it said, and what the service decided of it."""

    item_id: str            # the comment's id, or one made for it
    thread: str | None
    author: str | None
    text: str
    verdict: dict           # the verdict as JSON (Verdict.to_dict())
    rules: tuple[str, ...]  # the rules that flagged it
    received: float


@dataclass(frozen=True)
class Decision:
    item_id: str
    decision: str           # "approve" or "reject"
    rules: tuple[str, ...]  # the rules it broke, in the moderator's view (reject)
    flagged: tuple[str, ...]  # the rules the service flagged (empty when it was not queued)
    moderator: str | None
    thread: str | None
    author: str | None
    text: str | None
    decided: float


#: A queue item's columns, in ``QueueItem``'s order: what every store reads an item back from.
QUEUE_COLUMNS = "item_id, thread, author, text, verdict, rules, received"


def pending_query(mark: str, has_rule: str, since: float, rule: str | None, limit: int,
                  before: tuple[float, str] | None) -> tuple[str, list]:
    """The statement and parameters of ``queue_pending`` in a store's SQL dialect: ``mark`` is its
    placeholder, ``has_rule`` its test that the item's JSON ``rules`` hold one (with one ``mark``).
    Newest first, a page at a time: ``before`` is the last item seen, (received, item_id)."""
    sql, params = f"SELECT {QUEUE_COLUMNS} FROM queue WHERE decided IS NULL AND received >= {mark}", [since]
    if before is not None:
        sql += f" AND (received < {mark} OR (received = {mark} AND item_id < {mark}))"
        params += [before[0], before[0], before[1]]
    if rule is not None:
        sql += f" AND {has_rule}"
        params.append(rule)
    sql += f" ORDER BY received DESC, item_id DESC LIMIT {mark}"
    params.append(limit)
    return sql, params


class HistoryStore(ABC):
    """What repeat detection needs of a history. Promise (tested for every implementation): inside
    ``transaction()``, lookups and additions are atomic with respect to every other writer of the
    same history, so of two identical comments checked at the same moment the second sees the first."""

    @abstractmethod
    def transaction(self):
        """A context in which lookups and additions are atomic with respect to other writers."""

    def candidates(self, fingerprints: Sequence[int], since: float, per_fingerprint: int = 32) -> list[tuple[StoredComment, int]]:
        """Stored comments newer than ``since`` sharing fingerprints, with how many they share."""
        marks = sorted(set(fingerprints))
        return self.sharing(marks, self.newest(marks, per_fingerprint) if marks else {}, since)

    def sharing(self, marks: Sequence[int], newest: dict[int, list[int]], since: float,
                most: int = 64) -> list[tuple[StoredComment, int]]:
        """``candidates`` of the sorted fingerprints ``marks`` from their ``newest`` keys: the
        ``most`` comments sharing the most of them (a phrase posted a million times must not make
        a lookup cost a million rows)."""
        shared: dict[int, int] = {}
        for mark in marks:
            for key in newest.get(mark, ()):
                shared[key] = shared.get(key, 0) + 1
        if not shared:
            return []
        keys = sorted(shared, key=lambda k: -shared[k])[:most]
        return [(stored, shared[stored.key]) for stored in self.comments(keys, since)]

    @abstractmethod
    def newest(self, fingerprints: Sequence[int], per_fingerprint: int = 32) -> dict[int, list[int]]:
        """For each of ``fingerprints`` that is stored, the keys of the newest ``per_fingerprint``
        comments it finds, newest first: a whole batch's lookups at once."""

    @abstractmethod
    def comments(self, keys: Sequence[int], since: float) -> list[StoredComment]:
        """The stored comments of these keys newer than ``since``, in key order."""

    @abstractmethod
    def key_of(self, comment_id: str) -> int | None:
        """The key of the stored comment with this id, if any (keys grow with time)."""

    @abstractmethod
    def add(self, comment_id, thread, author, created: float, codes: Sequence[int],
            fingerprints: Sequence[int]) -> tuple[int, bool]:
        """Remember a comment: its 16-bit k-gram ``codes`` and the 32-bit ``fingerprints`` it is
        found by (``repeats``). A comment whose id is stored already is an edit or a retry: it
        replaces the stored one in place, keeping its key and time. Returns the comment's key and
        whether it replaced one (keys grow: a new comment's is above every stored one's)."""

    @abstractmethod
    def prune(self, before: float, limit: int | None = None) -> int:
        """Forget comments older than ``before`` (the oldest ``limit`` of them, when given), in
        its own transaction; returns how many."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable unless the store can be read and written."""

    # --- the moderators' queue and decisions ----------------------------------------------------

    @abstractmethod
    def queue_add(self, items: Sequence[QueueItem]) -> None:
        """Queue comments for review (an id queued again replaces its item, undecided)."""

    @abstractmethod
    def queue_pending(self, since: float, rule: str | None = None, limit: int = 50,
                      before: tuple[float, str] | None = None) -> list[QueueItem]:
        """Undecided items received at or after ``since``, newest first, flagged for ``rule`` when
        given, older than the ``before`` cursor (received, id) when given."""

    @abstractmethod
    def queue_get(self, item_id: str) -> QueueItem | None:
        """The queued item with this id, decided or not."""

    @abstractmethod
    def decide(self, decision: Decision) -> None:
        """Record a decision (a second on the same id replaces the first); its item leaves the queue."""

    @abstractmethod
    def decisions(self, since: float = 0.0) -> list[Decision]:
        """Decisions made at or after ``since``, oldest first."""

    @abstractmethod
    def queued_since(self, since: float) -> list[QueueItem]:
        """Every item received at or after ``since``, decided or not (for the figures)."""

    @abstractmethod
    def prune_queue(self, before: float) -> int:
        """Forget queued items received before ``before`` (their texts); returns how many."""

    @abstractmethod
    def erase_author(self, author: str) -> dict[str, int]:
        """Forget one author: history fingerprints, queued texts, decisions' texts; the counts."""

    @abstractmethod
    def upgrade(self) -> int:
        """Create or migrate the schema now (it also happens on first use); the version it is at.
        A store of a newer schema than this code raises StoreUnavailable."""

    def close(self) -> None:
        """Release connections (the store reopens them when used again)."""
