"""Volume, measured: how much a comment shouts (capitals, runs of !!!/???, stretched letters); see
``moderation.signals.measure_volume``. Its thresholds are chosen at training time from comments
labelled for it, like a learned rule's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scan import VolumeMeter
from .base import Batch, Detector, RuleScores


@dataclass(frozen=True)
class VolumeSettings:
    #: Words in capitals that are acronyms, not shouting.
    acronyms: tuple[str, ...] = field(default=(), metadata={"kind": "words"})


class VolumeDetector(Detector):
    kind = "measured"
    Settings = VolumeSettings
    from_labels = True

    def __init__(self, rule, thresholds, context):
        super().__init__(rule, thresholds, context)
        self.meter = VolumeMeter(self.settings.acronyms)

    @classmethod
    def measure(cls, texts, settings) -> np.ndarray:
        meter = VolumeMeter(settings.acronyms)
        return np.array([meter(t).score for t in texts], dtype=np.float64)

    def score_batch(self, batch: Batch) -> RuleScores:
        scores = np.zeros(len(batch))
        # Only comments the scanner says may shout are measured; the others score 0 (tested).
        volumes = {d: self.meter.score(batch.texts[d]) for d in np.flatnonzero(batch.scan.may_shout).tolist()}
        for d, (score, _) in volumes.items():
            scores[d] = score
        texts, spans = batch.texts, self.meter.spans
        return RuleScores(scores, lambda docs: [batch.spans(d, spans(texts[d], volumes[d][1])) if d in volumes else ()
                                                for d in docs])
