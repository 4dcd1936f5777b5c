"""Foul language: the learned rule, with the outlet's own word lists over it.

A banned word rejects the comment whatever the model says (score 1.0); a suspect word raises the
score to the review threshold, so the comment goes to review. Words are matched on word
boundaries, case-, accent- and disguise-insensitive, and shown first in the evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import evidence
from ..signals import WordList
from .base import Batch, RuleScores
from .learned import LearnedDetector


@dataclass(frozen=True)
class WordListSettings:
    #: Words or phrases that reject a comment.
    banned_words: tuple[str, ...] = field(default=(), metadata={"kind": "words"})
    #: Words or phrases that send a comment to review.
    suspect_words: tuple[str, ...] = field(default=(), metadata={"kind": "words"})


class WordListDetector(LearnedDetector):
    Settings = WordListSettings

    def __init__(self, rule, thresholds, context):
        super().__init__(rule, thresholds, context)
        self.banned = WordList(self.settings.banned_words)
        self.suspect = WordList(self.settings.suspect_words)

    def score_batch(self, batch: Batch) -> RuleScores:
        learned = super().score_batch(batch)
        if not (self.banned or self.suspect):
            return learned
        scores = learned.scores.copy()
        reject = np.zeros(len(batch), dtype=bool)
        hits: dict[int, tuple] = {}
        review = self.thresholds.review
        for d, text in enumerate(batch.texts):
            banned, suspect = self.banned.find(text), self.suspect.find(text)
            if banned:
                scores[d], reject[d] = 1.0, True
            elif suspect:
                scores[d] = max(scores[d], review if review is not None else 1.0)
            if banned or suspect:
                hits[d] = evidence.spans((*banned, *suspect))

        def evidence_of(docs):
            return [evidence.merge(hits.get(d, ()), found) for d, found in zip(docs, learned.evidence(docs))]

        return RuleScores(scores, evidence_of, reject=reject)
