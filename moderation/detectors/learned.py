"""Learned rules: one column of the model's single matrix product per batch.

Every learned rule reads the same scores: the first of them to score a batch runs the model over
it (with the batch's scan and links, so nothing is tokenised twice) and keeps the result on the
batch for the others. Its evidence is the words that weighed most in its column.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import evidence
from .base import Batch, Detector, RuleScores


def learned_scores(batch: Batch, model) -> tuple[np.ndarray, object]:
    """(calibrated probabilities (n, rules), scored batch) of ``model``, once per batch."""
    return batch.shared(("learned", id(model)),
                        lambda: model.score(batch.texts, scanned=batch.scan, links=batch.links))


class LearnedDetector(Detector):
    """A rule scored by the learned model (TF-IDF features, one logistic regression per rule)."""

    kind = "learned"
    learned = True

    def __init__(self, rule, thresholds, context):
        super().__init__(rule, thresholds, context)
        self.model = context.artifact.model
        rules = tuple(self.model.rules_)
        #: The rule's column in the model, or None when the model does not learn it (it never flags).
        self.column = rules.index(rule.id) if rule.id in rules else None

    def score_batch(self, batch: Batch) -> RuleScores:
        if self.column is None:
            return RuleScores(np.zeros(len(batch)))
        probabilities, scored = learned_scores(batch, self.model)
        return RuleScores(probabilities[:, self.column], lambda docs: self.evidence(batch, scored, docs))

    def evidence(self, batch: Batch, scored, docs: Sequence[int]):
        chosen = evidence.choose(scored, [(int(d), self.column) for d in docs], self.context.evidence_per_flag)
        texts = batch.texts
        return [tuple(evidence.Evidence(texts[d][s:e], s, e) for s, e, _ in spans) for d, spans in zip(docs, chosen)]

    def ready(self) -> None:
        self.model.score(["readiness probe"])
