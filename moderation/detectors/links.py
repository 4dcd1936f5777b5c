"""Links, measured: every URL of a comment (see ``moderation.signals.find_links``) but those to the
outlet's own allow-listed domains, against the outlet's limit.

The score is ``links / (limit + 1)`` capped at 1, so it reaches its fixed threshold of 1.0 exactly
when the limit is passed: the outlet's limit is the policy, nothing is chosen from data.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..signals import MAX_LINKS, allowed_links, link_score
from .base import Batch, Detector, RuleScores
from .learned import _domains

POLICY_THRESHOLD = 1.0


@dataclass(frozen=True)
class LinksSettings:
    #: More than this many links flags a comment.
    limit: int = field(default=1, metadata={"min": 0, "max": MAX_LINKS - 1})
    #: Links to these domains (and their subdomains) are not counted: the outlet's own site, say.
    allow_domains: tuple[str, ...] = field(default=(), metadata={"kind": "words", "clean": _domains})


class LinksDetector(Detector):
    kind = "measured"
    Settings = LinksSettings

    @classmethod
    def chosen_thresholds(cls, rule_id, artifact) -> dict:
        return {"review": POLICY_THRESHOLD, "reject": POLICY_THRESHOLD}

    def score_batch(self, batch: Batch) -> RuleScores:
        scores = np.zeros(len(batch))
        counted = {}
        for d, found in batch.links.items():
            counted[d] = allowed_links(found, self.settings.allow_domains)
            scores[d] = link_score(len(counted[d]), self.settings.limit)
        # A flag shows the first links, enough to pass the limit (not all of thousands).
        shown = max(self.context.evidence_per_flag, self.settings.limit + 1)
        return RuleScores(scores, lambda docs: [batch.spans(d, counted.get(d, ())[:shown]) for d in docs])
