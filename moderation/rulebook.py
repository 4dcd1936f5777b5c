"""The outlet's rulebook: published rule wording, actions, thresholds and per-rule settings.

The rulebook is data (``rules.toml``) so an outlet can edit it without touching code. What is fixed
is only what the API depends on: the rule ids and their detectors (``moderation.detectors``), and
which settings each rule accepts: the fields of its detector's ``Settings`` dataclass, with their
defaults. A rule the rulebook leaves out keeps its default wording, action and settings.
"""
from __future__ import annotations

import os
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .detectors import LEARNED_RULES, RULE_IDS, RULES, NoSettings
from .errors import RulebookError
from .settings import default_rules_path, packaged_rules_path

ACTIONS = ("review", "reject")
_COMMON_KEYS = {"id", "text", "action", "threshold", "reject_threshold", "detector"}

__all__ = ["ACTIONS", "LEARNED_RULES", "RULE_IDS", "Rule", "Rulebook", "load_rulebook", "parse_rulebook"]


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
    #: The rule's own settings: an instance of its detector's ``Settings`` dataclass.
    settings: Any = field(default_factory=NoSettings)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "text": self.text, "detector": self.detector, "action": self.action,
               "threshold": self.threshold if self.threshold is not None else "model",
               "reject_threshold": self.reject_threshold if self.reject_threshold is not None else "model"}
        settings = asdict(self.settings)
        for key in sorted(settings):
            value = settings[key]
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


#: Coral Talk's rejection reason codes (its schema.graphql REJECTION_REASON_CODE).
CORAL_CODES = ("OFFENSIVE", "ABUSIVE", "SPAM", "BANNED_WORD", "AD", "ILLEGAL_CONTENT", "HARASSMENT_BULLYING",
               "MISINFORMATION", "HATE_SPEECH", "IRRELEVANT_CONTENT", "OTHER")


@dataclass(frozen=True)
class Rulebook:
    name: str
    version: int
    rules: dict[str, Rule]
    source: str
    #: Days the text of a comment sent to review or rejected is kept for the moderators' queue.
    queue_days: int = 14
    #: Coral Talk rejection reason codes per rule, over moderation.web.coral.DEFAULT_CODES.
    coral_codes: dict = field(default_factory=dict)

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "queue_days": self.queue_days,
                "rules": [self.rules[r].to_dict() for r in RULE_IDS]}


def load_rulebook(path: str | os.PathLike | None = None) -> Rulebook:
    """The rulebook at ``path``; with none, $MODERATION_RULES or the packaged ``rules.toml``."""
    path = Path(path) if path is not None else default_rules_path()
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
    return parse_rulebook(data, source=str(path), base=path.parent)


def parse_rulebook(data: dict[str, Any], source: str = "<rulebook>", base: Path | None = None) -> Rulebook:
    """A rulebook from its TOML data; relative paths in it (a lexicon) are read from ``base``
    (the rulebook's folder; default: the packaged rulebook's)."""
    base = base if base is not None else packaged_rules_path().parent
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise RulebookError(f"{source}: 'rule' must be a list of [[rule]] tables, got {type(entries).__name__}")
    given: dict[str, Rule] = {}
    for position, entry in enumerate(entries, 1):
        rule = _parse_rule(entry, f"{source}: rule #{position}", base)
        if rule.id in given:
            raise RulebookError(f"{source}: rule id {rule.id!r} is defined twice; keep one [[rule]] table for it")
        given[rule.id] = rule
    rules = {r: given.get(r) or _parse_rule({"id": r}, f"{source}: default rule", base) for r in RULE_IDS}
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RulebookError(f"{source}: version must be a whole number, got {version!r}")
    queue_days = data.get("queue_days", 14)
    if not isinstance(queue_days, int) or isinstance(queue_days, bool) or not 1 <= queue_days <= 365:
        raise RulebookError(f"{source}: queue_days must be a whole number of days from 1 to 365, got {queue_days!r}")
    unknown = sorted(set(data) - {"name", "version", "queue_days", "rule", "coral"})
    if unknown:
        raise RulebookError(f"{source}: unknown top-level key {unknown[0]!r}; a rulebook has name, version, "
                            "queue_days, [coral] and [[rule]] tables")
    coral = data.get("coral", {})
    codes = coral.get("rejection_codes", {}) if isinstance(coral, dict) else None
    if not isinstance(codes, dict) or set(coral) - {"rejection_codes"}:
        raise RulebookError(f"{source}: [coral] holds one table, rejection_codes = {{rule = \"CODE\"}}")
    for rule, code in codes.items():
        if rule not in RULE_IDS or code not in CORAL_CODES:
            raise RulebookError(f"{source}: [coral] rejection_codes: {rule!r} = {code!r}; rules are "
                                f"{', '.join(RULE_IDS)} and codes {', '.join(CORAL_CODES)}")
    return Rulebook(name=str(data.get("name", "rulebook")), version=version, rules=rules, source=source,
                    queue_days=queue_days, coral_codes=dict(codes))


def _parse_rule(entry: Any, where: str, base: Path) -> Rule:
    if not isinstance(entry, dict):
        raise RulebookError(f"{where} must be a table, got {entry!r}")
    rule_id = entry.get("id")
    if rule_id not in RULES:
        raise RulebookError(f"{where}: id must be one of {', '.join(RULE_IDS)}, got {rule_id!r}")
    spec = RULES[rule_id]
    where = f"{where} ({rule_id})"
    own = {f.name for f in fields(spec.detector.Settings)}
    allowed = _COMMON_KEYS | own
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise RulebookError(f"{where}: unknown setting {unknown[0]!r}; allowed settings are {', '.join(sorted(allowed))}")
    kind = spec.detector.kind
    detector = entry.get("detector", kind)
    if detector != kind:
        raise RulebookError(f"{where}: detector is fixed to {kind!r} for this rule, got {detector!r}")
    text = entry.get("text", spec.text)
    if not isinstance(text, str) or not text.strip():
        raise RulebookError(f"{where}: text must be the rule's published wording, got {text!r}")
    action = entry.get("action", spec.action)
    if action not in ACTIONS:
        raise RulebookError(f"{where}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
    threshold = _threshold(entry.get("threshold", "model"), f"{where}: threshold")
    reject_threshold = _threshold(entry.get("reject_threshold", "model"), f"{where}: reject_threshold")
    settings = parse_settings(spec.detector.Settings, entry, where, base)
    return Rule(id=rule_id, text=text.strip(), detector=detector, action=action, threshold=threshold,
                reject_threshold=reject_threshold, settings=settings)


def _threshold(value: Any, where: str) -> float | None:
    if value == "model":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    raise RulebookError(f"{where} must be \"model\" or a number from 0 to 1, got {value!r}")


def parse_settings(cls: type, entry: dict[str, Any], where: str, base: Path | None = None):
    """An instance of the settings dataclass ``cls`` from a rulebook table: every field the table
    gives, checked against the field's type (and its ``min`` and ``max`` metadata; a ``path`` is made absolute
    against ``base`` and must exist); the defaults for the rest."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if f.name not in entry:
            continue
        value, kind = entry[f.name], hints[f.name]
        if kind is int:
            least, most = f.metadata.get("min", 0), f.metadata.get("max")
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= least
                    and (most is None or value <= most)):
                bounds = f">= {least}" if most is None else f"from {least} to {most}"
                raise RulebookError(f"{where}: {f.name} must be a whole number {bounds}, got {value!r}")
        elif kind is bool:
            if not isinstance(value, bool):
                raise RulebookError(f"{where}: {f.name} must be true or false, got {value!r}")
        elif kind is float:
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
                raise RulebookError(f"{where}: {f.name} must be a number, got {value!r}")
            value = float(value)
        elif kind is str:
            if not isinstance(value, str):
                raise RulebookError(f"{where}: {f.name} must be a string, got {value!r}")
            if f.metadata.get("kind") == "path" and value.strip():
                path = Path(value.strip()).expanduser()
                path = path if path.is_absolute() or base is None else base / path
                if not path.is_file():
                    raise RulebookError(f"{where}: {f.name} {value!r} is not a file ({path}); give a path "
                                        "relative to the rulebook's folder")
                value = str(path)
        elif kind == tuple[str, ...]:
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise RulebookError(f"{where}: {f.name} must be a list of non-empty strings, got {value!r}")
            value = tuple(v.strip() for v in value)
        else:  # a settings type this parser does not know: a programming error, caught by the tests
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported setting type {kind!r}")
        clean = f.metadata.get("clean")
        values[f.name] = clean(value) if clean else value
    return cls(**values)
