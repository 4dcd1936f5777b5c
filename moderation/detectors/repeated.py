"""Repeated content, against the stored history of comments (see ``moderation.repeats``).

A policy, not learned: the score is the share of the new comment posted before, and it flags at
the rulebook's threshold (``repeats.DEFAULT_THRESHOLD`` when the rulebook sets none). When the
history store is down the rule is reported unavailable and the verdict still comes back.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from ..repeats import DEFAULT_THRESHOLD, RepeatChecker, RepeatSettings
from ..store import StoreUnavailable
from .base import Batch, Detector, RuleScores

log = logging.getLogger("moderation")


class RepeatedDetector(Detector):
    kind = "history"
    Settings = RepeatSettings

    def __init__(self, rule, thresholds, context):
        super().__init__(rule, thresholds, context)
        self.checker = None
        if context.history is not None:
            threshold = thresholds.review if thresholds.review is not None else DEFAULT_THRESHOLD
            self.checker = RepeatChecker(context.history, self.settings, threshold=threshold,
                                         clock=context.clock or time.time)

    @classmethod
    def chosen_thresholds(cls, rule_id, artifact) -> dict:
        return {"review": DEFAULT_THRESHOLD, "reject": None}

    def score_batch(self, batch: Batch) -> RuleScores:
        if self.checker is None:
            return RuleScores(np.zeros(len(batch)))
        try:
            results = self.checker.check_batch(batch.comments)
        except StoreUnavailable as exc:
            # The verdict still comes back; the moderator is told repeats were not checked.
            log.warning("repeat check skipped: %s", exc)
            return RuleScores(np.zeros(len(batch)), unavailable=True)
        return RuleScores(np.array([r.score for r in results], dtype=np.float64),
                          lambda docs: [batch.spans(d, results[d].evidence) for d in docs])

    def ready(self) -> None:
        if self.checker is not None:
            self.checker.store.ping()
