"""What every detector shares: the batch it scores, what it returns, and the interface.

A rule is one rulebook entry plus one detector. A detector scores a whole batch of comments at once
(``score_batch``) and returns one score per comment and, for the comments the moderator asks about
(those flagged), the evidence. What several detectors need from the same comments (the scanner's
tokens and screens, the links found, the learned model's scores) is computed once per batch and
kept on the ``Batch``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

import numpy as np

from ..comment import Comment
from ..features.analysis import find_batch_links
from ..scan import Scan, scan
from ..signals import Link
from ..verdict import Evidence

if TYPE_CHECKING:
    from ..artifact import ModelArtifact
    from ..lexicon import Lexicon
    from ..normaliser import Normaliser
    from ..rulebook import Rule
    from ..store import HistoryStore


@dataclass(frozen=True)
class RuleThresholds:
    """A rule's review and reject thresholds after the rulebook's overrides; None never reaches."""

    review: float | None
    reject: float | None


@dataclass(frozen=True)
class NoSettings:
    """A rule with no settings of its own beyond the common ones (text, action, thresholds)."""


@dataclass
class Context:
    """What detectors may need besides their rule: the model, the history, the moderator's options."""

    artifact: "ModelArtifact"
    history: "HistoryStore | None" = None
    clock: Callable[[], float] | None = None
    evidence_per_flag: int = 5
    #: Link domains the learned rules leave out (``detectors.ignored_link_domains``).
    ignore_link_domains: tuple[str, ...] = ()
    #: The rulebook's foul-language lexicon (what the normaliser may join or unmask, what foul words are).
    lexicon: "Lexicon | None" = None


class Batch:
    """One chunk of comments as every detector of one check sees it."""

    __slots__ = ("texts", "originals", "normalised", "wanted", "_comments", "_scan", "_links", "_shared")

    def __init__(self, texts: list[str], comments: list[Comment] | None = None, normaliser: "Normaliser | None" = None):
        #: The comments as written, and as every detector reads them (``moderation.normaliser``).
        self.originals = texts
        self.normalised = normaliser.normalise_many(texts) if normaliser is not None else {}
        self.texts = texts
        if self.normalised:
            self.texts = list(texts)
            for d, found in self.normalised.items():
                self.texts[d] = found.text
        self._comments = comments
        #: rule id -> the comments the moderator will ask that rule's evidence of (detectors that
        #: share work may choose it for all of them at once)
        self.wanted: dict[str, list[int]] = {}
        self._scan: Scan | None = None
        self._links: dict[int, tuple[Link, ...]] | None = None
        self._shared: dict[Any, Any] = {}

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def comments(self) -> list[Comment]:
        """The comments with their ids, threads and authors (plain texts become bare comments), their
        text as the detectors read it."""
        if self._comments is None:
            self._comments = [Comment(text=t) for t in self.texts]
        elif self.normalised:
            self._comments = [Comment(self.texts[d], c.id, c.thread, c.author, c.store) if d in self.normalised else c
                              for d, c in enumerate(self._comments)]
        return self._comments

    def evidence(self, d: int, start: int, end: int, extra=None) -> Evidence:
        """Evidence of ``texts[d][start:end]``, as the commenter wrote it: the span of the original."""
        found = self.normalised.get(d)
        if found is not None:
            start, end = found.span(start, end)
            if extra and "spans" in extra:
                extra = dict(extra, spans=[dict(zip(("start", "end"), found.span(x["start"], x["end"])))
                                           for x in extra["spans"]])
        return Evidence(self.originals[d][start:end], start, end, extra)

    def spans(self, d: int, found) -> tuple[Evidence, ...]:
        """``evidence`` of measured spans (links, shouted words, listed words), in order."""
        return tuple(self.evidence(d, x.start, x.end, getattr(x, "extra", None)) for x in found)

    @property
    def scan(self) -> Scan:
        """Tokens of every comment, and which may hold a link or shouting (one scanner call)."""
        if self._scan is None:
            self._scan = scan(self.texts)
        return self._scan

    @property
    def links(self) -> dict[int, tuple[Link, ...]]:
        """Every link of the comments that may hold one, before any allow-list."""
        if self._links is None:
            self._links = find_batch_links(self.texts, self.scan)
        return self._links

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per batch for ``key``: work several detectors read (the learned scores)."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]


NO_EVIDENCE: Callable[[Sequence[int]], list[tuple[Evidence, ...]]] = lambda docs: [() for _ in docs]  # noqa: E731


@dataclass
class RuleScores:
    """One rule's scores of a batch, and the evidence of any of its comments on request."""

    scores: np.ndarray                                              # (n,) in [0, 1], before rounding
    evidence: Callable[[Sequence[int]], list[tuple[Evidence, ...]]] = NO_EVIDENCE
    #: Comments this rule rejects whatever the thresholds (a banned word); None: none.
    reject: np.ndarray | None = None
    #: Comments this rule may flag but never reject (only mild words); None: none.
    no_reject: np.ndarray | None = None
    #: The rule could not be checked (the history store was down): scores are 0 and it says so.
    unavailable: bool = False
    #: Comment -> what matched when a word list decided its score ("banned_words", ...).
    matched: dict[int, str] | None = None


class Detector(ABC):
    """Scores one rule over a batch. Subclasses set ``kind`` (the rulebook's fixed ``detector``
    value) and ``Settings`` (a frozen dataclass of the rule's own settings, with defaults)."""

    kind: ClassVar[str]
    Settings: ClassVar[type] = NoSettings
    #: The rule is a column of the learned model.
    learned: ClassVar[bool] = False
    #: The rule is labelled in training data and its thresholds are chosen from those labels
    #: at training time, from ``measure``'s scores (volume).
    from_labels: ClassVar[bool] = False

    def __init__(self, rule: "Rule", thresholds: RuleThresholds, context: Context):
        self.rule = rule
        self.settings = rule.settings
        self.thresholds = thresholds
        self.context = context

    @classmethod
    def chosen_thresholds(cls, rule_id: str, artifact: "ModelArtifact") -> dict:
        """The thresholds this rule has before the rulebook's overrides: chosen from data and kept
        in the model, or fixed by the rule's policy. Keys ``review`` and ``reject``."""
        return artifact.thresholds.get(rule_id, {})

    @classmethod
    def measure(cls, texts: Sequence[str], settings) -> np.ndarray:
        """Scores of ``texts`` without a model (``from_labels`` rules only), to choose thresholds."""
        raise NotImplementedError(f"{cls.__name__} is not measured from labelled data")

    @abstractmethod
    def score_batch(self, batch: Batch) -> RuleScores:
        """Scores of every comment of ``batch``, and their evidence on request."""

    def ready(self) -> None:
        """Raise if this rule cannot be checked now (its model or store is not usable)."""
