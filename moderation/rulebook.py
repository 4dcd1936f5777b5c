"""The outlet's rulebook: published rule wording, actions, thresholds and per-rule settings.

The rulebook is data (``rules.toml``) so an outlet can edit it without touching code. What is fixed
here is only what the API depends on: the rule ids, how each is detected, and which settings each
rule accepts.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import RulebookError

#: Fixed rule ids, in the order scores are reported.
RULE_IDS = ("respect", "accusations", "foul_language", "links", "volume", "promotional", "repeated")
DETECTORS = {
    "respect": "learned",
    "accusations": "learned",
    "foul_language": "learned",
    "links": "measured",
    "volume": "measured",
    "promotional": "learned",
    "repeated": "history",
}
LEARNED_RULES = tuple(r for r in RULE_IDS if DETECTORS[r] == "learned")
ACTIONS = ("review", "reject")

_COMMON_KEYS = {"id", "text", "action", "threshold", "reject_threshold", "detector"}
_EXTRA_KEYS = {
    "foul_language": {"banned_words", "suspect_words"},
    "links": {"limit", "allow_domains"},
    "volume": {"acronyms"},
    "repeated": {"min_words", "campaign_min_words", "retention_days"},
}
_DEFAULTS = {
    "banned_words": [],
    "suspect_words": [],
    "limit": 1,
    "allow_domains": [],
    "acronyms": [],
    "min_words": 8,
    "campaign_min_words": 25,
    "retention_days": 30,
}

ENV_RULES = "MODERATION_RULES"


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    detector: str
    action: str
    #: Review threshold override; None means "use the threshold chosen from data for the model".
    threshold: float | None = None
    #: Reject threshold override; None means "use the model's".
    reject_threshold: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "text": self.text, "detector": self.detector, "action": self.action,
               "threshold": self.threshold if self.threshold is not None else "model",
               "reject_threshold": self.reject_threshold if self.reject_threshold is not None else "model"}
        out.update(self.settings)
        return out


@dataclass(frozen=True)
class Rulebook:
    name: str
    version: int
    rules: dict[str, Rule]
    source: str

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "rules": [self.rules[r].to_dict() for r in RULE_IDS]}


def default_rulebook_path() -> Path:
    """The rulebook used when none is given: $MODERATION_RULES, else the packaged rules.toml."""
    env = os.environ.get(ENV_RULES)
    if env:
        return Path(env)
    return Path(str(resources.files("moderation") / "rules.toml"))


def load_rulebook(path: str | os.PathLike | None = None) -> Rulebook:
    path = Path(path) if path is not None else default_rulebook_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulebookError(f"cannot read rulebook {path}: {exc.strerror or exc}; give the path of a rules.toml file") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RulebookError(f"rulebook {path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(f"rulebook {path} is not valid TOML ({exc}); fix the syntax at that line") from None
    return parse_rulebook(data, source=str(path))


def parse_rulebook(data: dict[str, Any], source: str = "<rulebook>") -> Rulebook:
    entries = data.get("rule")
    if not isinstance(entries, list) or not entries:
        raise RulebookError(f"{source}: no [[rule]] tables; the rulebook must define the rules {', '.join(RULE_IDS)}")
    rules: dict[str, Rule] = {}
    for position, entry in enumerate(entries, 1):
        rule = _parse_rule(entry, f"{source}: rule #{position}")
        if rule.id in rules:
            raise RulebookError(f"{source}: rule id {rule.id!r} is defined twice; keep one [[rule]] table for it")
        rules[rule.id] = rule
    missing = [r for r in RULE_IDS if r not in rules]
    if missing:
        raise RulebookError(f"{source}: rules {', '.join(missing)} are missing; every rule id must have a [[rule]] table")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RulebookError(f"{source}: version must be a whole number, got {version!r}")
    return Rulebook(name=str(data.get("name", "rulebook")), version=version, rules=rules, source=source)


def _parse_rule(entry: Any, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise RulebookError(f"{where} must be a table, got {entry!r}")
    rule_id = entry.get("id")
    if rule_id not in DETECTORS:
        raise RulebookError(f"{where}: id must be one of {', '.join(RULE_IDS)}, got {rule_id!r}")
    where = f"{where} ({rule_id})"
    allowed = _COMMON_KEYS | _EXTRA_KEYS.get(rule_id, set())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise RulebookError(f"{where}: unknown setting {unknown[0]!r}; allowed settings are {', '.join(sorted(allowed))}")
    detector = entry.get("detector", DETECTORS[rule_id])
    if detector != DETECTORS[rule_id]:
        raise RulebookError(f"{where}: detector is fixed to {DETECTORS[rule_id]!r} for this rule, got {detector!r}")
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RulebookError(f"{where}: text must be the rule's published wording, got {text!r}")
    action = entry.get("action", "review")
    if action not in ACTIONS:
        raise RulebookError(f"{where}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
    threshold = _threshold(entry.get("threshold", "model"), f"{where}: threshold")
    reject_threshold = _threshold(entry.get("reject_threshold", "model"), f"{where}: reject_threshold")
    settings = {}
    for key in sorted(_EXTRA_KEYS.get(rule_id, set())):
        settings[key] = _setting(key, entry.get(key, _DEFAULTS[key]), where)
    return Rule(id=rule_id, text=text.strip(), detector=detector, action=action, threshold=threshold,
                reject_threshold=reject_threshold, settings=settings)


def _threshold(value: Any, where: str) -> float | None:
    if value == "model":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    raise RulebookError(f"{where} must be \"model\" or a number from 0 to 1, got {value!r}")


def _setting(key: str, value: Any, where: str) -> Any:
    if key in ("limit", "min_words", "campaign_min_words", "retention_days"):
        if isinstance(value, int) and not isinstance(value, bool) and value >= (1 if key == "retention_days" else 0):
            return value
        least = 1 if key == "retention_days" else 0
        raise RulebookError(f"{where}: {key} must be a whole number >= {least}, got {value!r}")
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulebookError(f"{where}: {key} must be a list of non-empty strings, got {value!r}")
    if key == "allow_domains":
        return [v.strip().lower().removeprefix("www.") for v in value]
    return [v.strip() for v in value]
