"""The detector registry: every rule id, its published wording and action by default, and the
detector that scores it. Rule ids come from here and nowhere else; they are the API.

Adding a rule is one entry here plus one detector class (a module of this package) and, if the
outlet should see it in the packaged rulebook, a ``[[rule]]`` table in ``rules.toml``; a rulebook
that leaves a rule out gets the defaults below.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import Batch, Context, Detector, NoSettings, RuleScores, RuleThresholds
from .foul import FoulLanguageDetector, FoulLanguageSettings
from .learned import REFERENCE_DOMAINS, LearnedDetector, PromotionalDetector, PromotionalSettings
from .links import LinksDetector, LinksSettings
from .repeated import RepeatedDetector
from .volume import VolumeDetector, VolumeSettings


@dataclass(frozen=True)
class RuleSpec:
    id: str
    text: str            # the published wording when the rulebook gives none
    action: str          # "review" or "reject" when the rulebook gives none
    detector: type[Detector]


#: In the order scores are reported.
RULES: dict[str, RuleSpec] = {spec.id: spec for spec in (
    RuleSpec("respect", "be respectful of all", "review", LearnedDetector),
    RuleSpec("accusations", "don't make accusations or post anything that is unverified", "review", LearnedDetector),
    RuleSpec("foul_language", "don't include foul language", "reject", FoulLanguageDetector),
    RuleSpec("links", "limit links", "review", LinksDetector),
    RuleSpec("volume", "use words, not volume", "review", VolumeDetector),
    RuleSpec("promotional", "don't add promotional content", "reject", PromotionalDetector),
    RuleSpec("repeated", "don't post the same content again", "review", RepeatedDetector),
)}
RULE_IDS: tuple[str, ...] = tuple(RULES)
#: Rules that are columns of the learned model.
LEARNED_RULES: tuple[str, ...] = tuple(r for r, s in RULES.items() if s.detector.learned)
#: Rules whose thresholds are chosen from labelled data by measuring, not by the model.
MEASURED_FROM_LABELS: tuple[str, ...] = tuple(r for r, s in RULES.items() if s.detector.from_labels)
#: Rules a labelled training file may hold labels for.
LABELLED_RULES: tuple[str, ...] = tuple(r for r in RULE_IDS if r in LEARNED_RULES or r in MEASURED_FROM_LABELS)



def ignored_link_domains(rulebook) -> tuple[str, ...]:
    """The link domains the learned rules leave out: the outlet's own (links ``allow_domains``) and
    reference sites (promotional ``reference_domains``)."""
    return tuple(rulebook["links"].settings.allow_domains) + tuple(rulebook["promotional"].settings.reference_domains)


__all__ = ["Batch", "Context", "Detector", "FoulLanguageSettings", "LABELLED_RULES", "LEARNED_RULES", "LinksSettings",
           "MEASURED_FROM_LABELS", "NoSettings", "PromotionalSettings", "REFERENCE_DOMAINS", "RULES", "RULE_IDS",
           "RuleScores", "RuleSpec", "RuleThresholds", "VolumeSettings", "ignored_link_domains"]
