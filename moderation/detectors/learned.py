"""Learned rules: one column of the model's single matrix product per batch.

Every learned rule reads the same scores: the first of them to score a batch runs the model over
it (with the batch's scan and links, so nothing is tokenised twice) and keeps the result on the
batch for the others. Its evidence is the words that weighed most in its column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import evidence
from .base import Batch, Detector, RuleScores


def _domains(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower().removeprefix("www.") for v in values)


def learned_scores(batch: Batch, model, ignore_domains: tuple[str, ...]) -> tuple[np.ndarray, object]:
    """(calibrated probabilities (n, rules), scored batch) of ``model``, once per batch."""
    return batch.shared(("learned", id(model)),
                        lambda: model.score(batch.texts, scanned=batch.scan, links=batch.links,
                                            ignore_domains=ignore_domains))


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
        probabilities, scored = learned_scores(batch, self.model, self.context.ignore_link_domains)
        return RuleScores(probabilities[:, self.column], lambda docs: self.evidence(batch, scored, docs))

    def evidence(self, batch: Batch, scored, docs: Sequence[int]):
        """The words that weighed most for this rule in each of ``docs``. Every learned rule's flags
        of the batch (``batch.wanted``) are chosen together, in one sort, on the first request."""
        wanted = batch.wanted
        rules = self.model.rules_

        def choose_all():
            flags = [(int(d), rules.index(r)) for r, ds in wanted.items() if r in rules for d in ds]
            return dict(zip(flags, evidence.choose(scored, flags, self.context.evidence_per_flag)))

        chosen = batch.shared(("learned-evidence", id(self.model)), choose_all) if wanted else {}
        missing = [int(d) for d in docs if (int(d), self.column) not in chosen]
        if missing:
            chosen = dict(chosen)
            chosen.update(zip([(d, self.column) for d in missing],
                              evidence.choose(scored, [(d, self.column) for d in missing], self.context.evidence_per_flag)))
        texts, changed, Evidence = batch.originals, batch.normalised, evidence.Evidence
        return [tuple([Evidence(texts[d][s:e], s, e) for s, e, _ in chosen[(int(d), self.column)]]) if d not in changed
                else tuple([batch.evidence(d, s, e) for s, e, _ in chosen[(int(d), self.column)]]) for d in docs]

    def ready(self) -> None:
        self.model.score(["readiness probe"])


#: Links to these domains are not promotion by themselves: government, statistics, courts,
#: encyclopaedias and reference works, research, and news organisations. A rulebook's promotional
#: rule may list its own instead (``reference_domains``); the links rule's ``allow_domains`` (the
#: outlet's own) are never promotion either.
REFERENCE_DOMAINS = (
    "gov", "mil", "gov.uk", "gc.ca", "canada.ca", "gov.au", "govt.nz", "gov.ie", "europa.eu", "un.org", "who.int",
    "oecd.org", "imf.org", "worldbank.org", "edu", "ac.uk", "wikipedia.org", "wikimedia.org", "britannica.com",
    "doi.org", "arxiv.org", "jstor.org", "nature.com", "science.org", "sciencedirect.com", "thelancet.com",
    "nejm.org", "archive.org", "reuters.com", "apnews.com", "bbc.co.uk", "bbc.com", "cbc.ca", "ctvnews.ca",
    "globalnews.ca", "theglobeandmail.com", "thestar.com", "nationalpost.com", "nytimes.com", "washingtonpost.com",
    "wsj.com", "theguardian.com", "npr.org", "pbs.org", "politico.com", "bloomberg.com", "ft.com", "economist.com",
    "latimes.com", "usatoday.com", "nbcnews.com", "cbsnews.com", "abcnews.go.com", "cnn.com", "foxnews.com",
    "aljazeera.com", "theatlantic.com", "newyorker.com", "snopes.com", "politifact.com", "factcheck.org",
    "fullfact.org", "oregonlive.com", "seattletimes.com", "chicagotribune.com", "bostonglobe.com", "sfgate.com",
)


@dataclass(frozen=True)
class PromotionalSettings:
    #: Links to these domains (and their subdomains) are not promotion by themselves.
    reference_domains: tuple[str, ...] = field(default=REFERENCE_DOMAINS, metadata={"kind": "words",
                                                                                     "clean": _domains})


class PromotionalDetector(LearnedDetector):
    Settings = PromotionalSettings
