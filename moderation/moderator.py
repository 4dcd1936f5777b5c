"""Turns comments into verdicts: every rule's detector over a batch, then one verdict per comment.

The moderator knows no rule by name. For each rule of the registry it resolves the thresholds (the
rulebook's overrides over what the detector chose from data or fixes by policy) and builds the
rule's detector; a check is then a loop over detectors, each scoring the whole batch at once, and
only comments with a flag go through the per-comment path that gathers evidence.
"""
from __future__ import annotations

import gc
import logging
import time
import uuid
from contextlib import contextmanager
from itertools import repeat
from typing import Callable, Iterable, Mapping

import numpy as np

from .artifact import ModelArtifact
from .comment import Comment
from .detectors import RULE_IDS, RULES, Batch, Context, RuleThresholds, ignored_link_domains
from .errors import InputError
from . import memory
from .lexicon import Lexicon
from .normaliser import Normaliser
from .repeats import PRUNE_EVERY_SECONDS
from .rulebook import Rulebook
from .store import HistoryStore, QueueItem, StoreUnavailable
from .verdict import DECIMALS, PUBLISH, REJECT, REVIEW, Flag, Verdict, rounded

CHUNK = 10_000

#: Comments written to reach what is built the first time a comment needs it: the table of
#: confusable letters, the lexicon patterns for spaced-out and masked words, the classes of words
#: the model has never seen, the link patterns. Scored (and forgotten) by ``warm_up``.
WARM_UP = (
    "Th\u0435 m\u0430yor's plan is \u0430 s\u0441am, see www.example.com and http://example.org/page for details!!!",
    "f*ck this, what a load of sh!t, s h i t, and a d.u.m.b idea from the council, sooooo dumb",
    "THE COUNCIL LIED ABOUT THE BUDGET AND COVERED IT UP, everyone knows the minister took bribes",
    "Great article, thanks. Read more at example dot com or write to someone@example.com today",
    "\uff26\uff55\uff4c\uff4c width letters, caf\u00e9 and na\u00efve, and a word never seen: zqxvjurbleton",
)


def resolve_thresholds(rule, chosen: Mapping) -> RuleThresholds:
    """A rule's thresholds: the rulebook's override where it sets one, else ``chosen``; a rule
    whose action is not "reject" never rejects, and never rejects below its review threshold."""
    review = rule.threshold if rule.threshold is not None else chosen.get("review")
    reject = rule.reject_threshold if rule.reject_threshold is not None else chosen.get("reject")
    if rule.action != "reject":
        reject = None
    elif reject is not None and review is not None:
        reject = max(reject, review)
    return RuleThresholds(review=None if review is None else rounded(review),
                          reject=None if reject is None else rounded(reject))


class Moderator:
    """Checks comments against a rulebook with a trained model and, when given, a history store.

    ``check_batch`` scores every rule of all comments together (the learned rules in one matrix
    product), so it is much faster per comment than calling ``check`` in a loop, and gives the same
    verdicts.
    """

    def __init__(self, artifact: ModelArtifact, rulebook: Rulebook, history: HistoryStore | None = None,
                 evidence_per_flag: int = 5, clock: Callable[[], float] = time.time):
        self.artifact = artifact
        self.rulebook = rulebook
        self.history = history
        self.clock = clock
        self._last_queue_prune = 0.0
        # Batches reuse the pages the last one freed (process-wide; see moderation.memory).
        memory.keep_freed_memory()
        self.evidence_per_flag = evidence_per_flag
        self.lexicon = Lexicon.load(rulebook["foul_language"].settings.lexicon or None)
        #: Every comment is read through this (disguises undone); see moderation.normaliser.
        self.normaliser = Normaliser(self.lexicon)
        context = Context(artifact=artifact, history=history, clock=clock, evidence_per_flag=evidence_per_flag,
                          ignore_link_domains=ignored_link_domains(rulebook), lexicon=self.lexicon)
        self.thresholds = {r: resolve_thresholds(rulebook[r], RULES[r].detector.chosen_thresholds(r, artifact))
                           for r in RULE_IDS}
        self.detectors = [RULES[r].detector(rulebook[r], self.thresholds[r], context) for r in RULE_IDS]
        self._rule_text = [rulebook[r].text for r in RULE_IDS]
        # A rule with no review threshold never flags: +inf is never reached.
        self._review = np.asarray([np.inf if self.thresholds[r].review is None else self.thresholds[r].review
                                   for r in RULE_IDS])
        self._reject = [self.thresholds[r].reject for r in RULE_IDS]

    @property
    def version(self) -> str:
        return self.artifact.version

    def check(self, text: str | Comment, id: str | None = None) -> Verdict:
        comment = text if isinstance(text, Comment) else Comment(text=text, id=id)
        return self.check_batch([comment])[0]

    def check_batch(self, comments: Iterable[Comment | str | Mapping]) -> list[Verdict]:
        with _gc_paused():
            return self._check_batch(comments)

    def _check_batch(self, comments: Iterable[Comment | str | Mapping]) -> list[Verdict]:
        raw = comments if isinstance(comments, list) else list(comments)
        if not raw:
            return []
        if set(map(type, raw)) == {str}:
            # Plain texts: nothing to read from a Comment but the text.
            texts, items, ids = raw, None, [None] * len(raw)
        else:
            # A Comment of a str is taken as it is (the command line's batches): no call per comment.
            items = [c if type(c) is Comment and type(c.text) is str else _as_comment(c, i) for i, c in enumerate(raw)]
            texts, ids = [c.text for c in items], [c.id for c in items]
        verdicts = []
        # Scored in chunks so a very large batch does not set the process's peak memory; the
        # verdicts are the same either way.
        for start in range(0, len(texts), CHUNK):
            end = start + CHUNK
            batch = Batch(texts[start:end], None if items is None else items[start:end], self.normaliser)
            verdicts += self._verdicts(batch, ids[start:end])
        if self.history is not None and items is not None:
            self._queue(items, verdicts)
        return verdicts

    def _queue(self, items: list[Comment], verdicts: list[Verdict]) -> None:
        """Keep for the moderators the comments sent to review or rejected (text and verdict, for
        the rulebook's ``queue_days``), when they are to be remembered at all; a store that fails
        here leaves the verdicts as they are."""
        now = self.clock()
        queued = [QueueItem(c.id if c.id is not None else f"queued-{uuid.uuid4().hex[:16]}", c.thread, c.author,
                            c.text, v.to_dict(), tuple(f.rule for f in v.flags), now)
                  for c, v in zip(items, verdicts) if v.verdict != PUBLISH and c.store]
        try:
            if now - self._last_queue_prune >= PRUNE_EVERY_SECONDS:
                self.history.prune_queue(now - self.rulebook.queue_days * 86400)
                self._last_queue_prune = now
            if queued:
                self.history.queue_add(queued)
        except StoreUnavailable as exc:
            logging.getLogger("moderation").warning("review queue not updated: %s", exc)

    def warm_up(self) -> None:
        """Score ``WARM_UP`` once, remembering nothing (not stored, not queued), so that what the
        first comments of each kind would build is built now: a command given thousands of comments
        and a service worker pay it at start-up, not in their first batch or request (some 60 ms
        with the full model)."""
        self.check_batch([Comment(text, store=False) for text in WARM_UP])

    def ready(self) -> None:
        """Raise if a comment cannot be fully checked (the model, the history store)."""
        for detector in self.detectors:
            detector.ready()

    def _verdicts(self, batch: Batch, ids: list[str | None]) -> list[Verdict]:
        results = [detector.score_batch(batch) for detector in self.detectors]
        rows_ = _rounded(np.column_stack([r.scores for r in results]))
        rows = rows_.tolist()
        unavailable = tuple(rule for rule, r in zip(RULE_IDS, results) if r.unavailable)
        forced: dict[int, set[int]] = {}      # comment -> rules that reject it whatever the scores
        held_back: dict[int, set[int]] = {}   # comment -> rules that may not reject it
        for j, r in enumerate(results):
            if r.reject is not None:
                for d in np.flatnonzero(r.reject).tolist():
                    forced.setdefault(d, set()).add(j)
            if r.no_reject is not None:
                for d in np.flatnonzero(r.no_reject).tolist():
                    held_back.setdefault(d, set()).add(j)
        flagged_docs, flagged_columns = np.nonzero(rows_ >= self._review)
        flagged: dict[int, list[int]] = {}
        by_rule: dict[int, list[int]] = {}
        for d, j in zip(flagged_docs.tolist(), flagged_columns.tolist()):
            flagged.setdefault(d, []).append(j)
            by_rule.setdefault(j, []).append(d)
        # Each rule's evidence for all its flags of the chunk at once.
        batch.wanted = {RULE_IDS[j]: docs for j, docs in by_rule.items()}
        evidence = {}
        for j, docs in by_rule.items():
            evidence.update(((d, j), found) for d, found in zip(docs, results[j].evidence(docs)))
        version = self.version
        # Every comment published first (most are), in bulk; then the flagged and forced ones.
        scores = _score_dicts(rows)
        out = list(map(Verdict, ids, repeat(PUBLISH), repeat(()), scores, repeat(version), repeat(unavailable)))
        for i in sorted(flagged.keys() | forced):
            row = rows[i]
            flags = []
            verdict = PUBLISH
            for j in flagged.get(i, ()):
                score, reject = row[j], self._reject[j]
                rejects = (reject is not None and score >= reject and j not in held_back.get(i, ())) \
                    or j in forced.get(i, ())
                matched = results[j].matched.get(i) if results[j].matched else None
                flags.append(Flag(RULE_IDS[j], self._rule_text[j], score, float(self._review[j]), evidence[(i, j)],
                                  REJECT if rejects else REVIEW, None if reject is None else float(reject), matched))
                if verdict == PUBLISH:
                    verdict = REVIEW
                if rejects:
                    verdict = REJECT
            if i in forced:
                verdict = REJECT
            flags.sort(key=lambda f: -f.score)   # stable: ties keep rule order
            out[i] = Verdict(ids[i], verdict, tuple(flags), scores[i], version, unavailable)
        return out


def _dicts_of(keys: tuple[str, ...]):
    """A function turning rows of values into dicts of ``keys``, written as one dict display
    (``{k0: v0, k1: v1, ...}``): for 15,000 verdicts' scores it takes 4.4 ms where
    ``dict(zip(keys, row))`` took 7.2. The source is made from the number of keys only; the
    keys themselves are passed in as globals."""
    values = [f"v{i}" for i in range(len(keys))]
    display = ", ".join(f"k{i}: {v}" for i, v in enumerate(values))
    return eval(f"lambda rows: [{{{display}}} for {', '.join(values)}, in rows]",   # noqa: S307
                {f"k{i}": key for i, key in enumerate(keys)})


_score_dicts = _dicts_of(RULE_IDS)


@contextmanager
def _gc_paused():
    """Run without the cyclic garbage collector. A batch allocates tens of thousands of objects
    (verdicts, flags, score dicts), none of them in reference cycles, and each allocation burst
    set off full collections that walk every object in the process (the model's vocabularies
    among them): a third of a 10,000-comment batch (benchmarks/speed.py). Reference counting still
    frees everything; the collector resumes afterwards.

    Resuming, the batch's survivors (the verdicts handed back) are moved to the oldest generation
    at once (``gc.freeze`` then ``gc.unfreeze``: two list splices) rather than walked by the
    young-generation collection the next allocation would set off, some 4% of a 10,000-comment
    batch. Nothing is lost: a cycle among them is still found by the next full collection. When
    something else keeps objects frozen (a server that froze its start-up objects before forking
    workers), unfreezing would release those too, so the plain way is kept."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def _rounded(scores: np.ndarray) -> np.ndarray:
    """``round(x, DECIMALS)`` of every score, as Python's ``round`` gives it (what a moderator reads
    is what was compared). NumPy's rint(x * 10^4) / 10^4 is the same number except within a hair of
    a half-way point, where the product may round the other way; those few go through ``round``."""
    scale = 10.0 ** DECIMALS
    scaled = scores * scale
    out = np.rint(scaled) / scale
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    for i, j in zip(*np.nonzero(near_half)):
        out[i, j] = round(float(scores[i, j]), DECIMALS)
    return out


def _as_comment(item: Comment | str | Mapping, index: int) -> Comment:
    if isinstance(item, Comment):
        comment = item
    elif isinstance(item, str):
        comment = Comment(text=item)
    elif isinstance(item, Mapping):
        comment = Comment(text=item.get("text"), id=item.get("id"), thread=item.get("thread"),
                          author=item.get("author"), store=item.get("store", True))
    else:
        raise InputError(f"comment #{index + 1} must be text or an object with a 'text' field, got {type(item).__name__}")
    if not isinstance(comment.text, str):
        raise InputError(f"comment #{index + 1}: 'text' must be a string, got {type(comment.text).__name__}")
    return comment
