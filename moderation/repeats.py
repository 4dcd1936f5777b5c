"""Repeated content: the same text posted again, whole or pasted inside a longer comment.

Fingerprints are hashes of word 5-grams over folded text, so case, accents, spacing, punctuation
and line breaks do not matter, and changing a few words only breaks the 5-grams around them.
Winnowing (a window of 4 hashes) picks the fingerprints that are indexed: any shared run of
5 + 4 - 1 = 8 words is guaranteed to share an indexed fingerprint, so a lookup is a handful of
index seeks whatever the size of the history. Coverage is then measured against each candidate's
full set of 5-grams.

A new comment repeats an earlier one when the share of it covered by the earlier one reaches the
rule's threshold — or, for the same author, when that share of *their earlier comment* reappears
(a reposted comment under a new first paragraph). Other authors in other threads count only for long
repeated text (copy-paste campaigns). The same id is an edit or a retry, never a repeat.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Sequence

from .fingerprints import K, Printed, print_batch, words
from .store import HistoryStore, StoreUnavailable, StoredComment
from .verdict import Evidence, rounded

PRUNE_EVERY_SECONDS = 3600
#: Expired comments forgotten by one request at most (a few milliseconds with SQLite).
PRUNE_BATCH = 500


@dataclass
class RepeatResult:
    score: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)


#: The result for a comment that repeats nothing; shared, so treat it as read-only.
NO_REPEAT = RepeatResult()


#: The share of a comment posted before at which it is a repeat, when the rulebook sets no threshold.
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class RepeatSettings:
    """The ``repeated`` rule's own settings (``rules.toml``)."""

    #: Comments shorter than this many words ("Thank you!") are never repeats, and a repeated run
    #: must be at least this long.
    min_words: int = field(default=8, metadata={"min": 0})
    #: Repeats by other authors in other threads (copy-paste campaigns) need this many repeated words.
    campaign_min_words: int = field(default=25, metadata={"min": 0})
    #: Comments are remembered (as fingerprints, never their text) for this many days.
    retention_days: int = field(default=30, metadata={"min": 1})


class RepeatChecker:
    """Checks comments against the history and remembers them (unless told not to)."""

    def __init__(self, store: HistoryStore, settings: RepeatSettings = RepeatSettings(),
                 threshold: float = DEFAULT_THRESHOLD, max_earlier: int = 3, clock: Callable[[], float] = time.time):
        self.store = store
        self.threshold = threshold
        self.min_words = max(settings.min_words, K)
        self.campaign_min_words = settings.campaign_min_words
        self.retention_days = settings.retention_days
        self.max_earlier = max_earlier
        self.clock = clock
        self._last_prune = 0.0

    def check_batch(self, comments: Sequence) -> list[RepeatResult]:
        """Check each comment in order and remember those with ``store`` set, atomically: a later
        comment in the batch (or in a concurrent request) sees the earlier ones."""
        now = self.clock()
        since = now - self.retention_days * 86400
        results = []
        if now - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._prune(since, now)
        printed = print_batch([comment.text for comment in comments])   # before the lock: no store needed
        with self.store.transaction():
            lookup = _BatchLookup(self.store, [p for p in printed if p.n_words >= self.min_words])
            for comment, p in zip(comments, printed):
                results.append(self._check(comment, p, since, lookup))
                if getattr(comment, "store", True) and p.codes:
                    lookup.added(*self.store.add(comment.id, comment.thread, comment.author, now, p.codes, p.keys),
                                 p.keys)
        return results

    def _prune(self, since: float, now: float) -> None:
        """Forget expired comments, at most ``PRUNE_BATCH`` at a time in a transaction of their own
        (never inside a request's check): a long backlog costs each request a little until it is
        gone, not one request seconds. A busy store leaves pruning to the next request."""
        try:
            pruned = self.store.prune(since, limit=PRUNE_BATCH)
        except StoreUnavailable:
            return
        # A full batch: more may wait, so the next request prunes again.
        if pruned < PRUNE_BATCH:
            self._last_prune = now

    def _check(self, comment, p: Printed, since, lookup: "_BatchLookup") -> RepeatResult:
        if p.n_words < self.min_words:
            return RepeatResult()  # "Thank you!", "Well said": too short to be a repeat
        found = []
        candidates = lookup.candidates(p.keys, since)
        # The same id again is an edit or a retry: it is only compared with what came before it
        # (looked up only when there is something to compare: most comments have no candidate).
        original = self.store.key_of(comment.id) if comment.id is not None and candidates else None
        for stored, _ in candidates:
            if stored.comment_id == comment.id and comment.id is not None:
                continue
            if original is not None and stored.key > original:
                continue
            match = self._measure(comment, p, stored)
            if match is not None:
                found.append(match)
        if not found:
            return RepeatResult()
        found.sort(key=lambda m: (-m[0], -m[1].created))
        score = found[0][0]
        tokens = words(comment.text)   # offsets, for the evidence only
        evidence = [self._evidence(comment.text, tokens, m) for m in found[:self.max_earlier] if m[0] >= self.threshold]
        return RepeatResult(score=rounded(score), evidence=evidence)

    def _measure(self, comment, p: Printed, stored: StoredComment):
        old = set(stored.codes)
        covered = [False] * p.n_words
        for i, h in enumerate(p.codes):
            if h in old:
                covered[i:i + K] = [True] * K
        n_covered = sum(covered)
        if n_covered < self.min_words:
            return None
        same_author = bool(comment.author) and stored.author == comment.author
        same_thread = bool(comment.thread) and stored.thread == comment.thread
        if not (same_author or same_thread) and n_covered < self.campaign_min_words:
            return None  # short shared phrases across threads are coincidence, not a campaign
        coverage = n_covered / p.n_words
        contained = len(old & set(p.codes)) / len(old) if same_author and old else 0.0
        return max(coverage, contained), stored, coverage, covered

    def _evidence(self, text: str, tokens, match) -> Evidence:
        _, stored, coverage, covered = match
        spans, start = [], None
        for i, flag in enumerate(covered + [False]):
            if flag and start is None:
                start = i
            elif not flag and start is not None:
                spans.append((tokens[start][1], tokens[i - 1][2]))
                start = None
        first = spans[0]
        when = datetime.fromtimestamp(stored.created, tz=timezone.utc).isoformat(timespec="seconds")
        earlier = {"id": stored.comment_id, "thread": stored.thread, "author": stored.author, "when": when,
                   "covered": rounded(coverage)}
        return Evidence(text[first[0]:first[1]], first[0], first[1],
                        extra={"earlier": earlier, "spans": [{"start": s, "end": e} for s, e in spans]})


class _BatchLookup:
    """A batch's index lookups in one pass (a statement per hundred fingerprints of the whole
    batch, not one per comment), giving each comment what ``store.candidates`` would at its turn:
    the comments the batch itself added before it are the newest for their fingerprints. An edit
    (an id stored already) changes stored fingerprints, so after one the store is asked again,
    comment by comment."""

    def __init__(self, store: HistoryStore, printed: Sequence[Printed], per_fingerprint: int = 32):
        self.store, self.per_fingerprint = store, per_fingerprint
        marks = list({key for p in printed for key in p.keys})   # in any order: each is looked up alone
        self.stored: dict[int, list[int]] | None = store.newest(marks, per_fingerprint) if marks else {}
        self.new: dict[int, list[int]] = {}   # fingerprint -> keys the batch added, oldest first
        self.known = set(self.stored)          # fingerprints of either: the others find nothing

    def added(self, key: int, replaced: bool, fingerprints: Sequence[int]) -> None:
        if replaced:
            self.stored = None
        elif self.stored is not None:
            for mark in set(fingerprints):
                self.new.setdefault(mark, []).append(key)
            self.known.update(fingerprints)

    def candidates(self, fingerprints: Sequence[int], since: float) -> list[tuple[StoredComment, int]]:
        if self.stored is None:
            return self.store.candidates(fingerprints, since, self.per_fingerprint)
        if self.known.isdisjoint(fingerprints):
            return []
        marks = sorted(set(fingerprints))
        newest, most = {}, self.per_fingerprint
        for mark in marks:
            # The batch's own newest first, then the store's: at most ``most`` a fingerprint, so a
            # phrase posted thousands of times in one batch costs each comment no more than once.
            recent = self.new.get(mark, [])[:-most - 1:-1]
            keys = recent + self.stored.get(mark, [])[:most - len(recent)]
            if keys:
                newest[mark] = keys
        return self.store.sharing(marks, newest, since)
