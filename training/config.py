"""The training configuration, typed: everything a training run depends on, with its seed.

The packaged ``training/config.toml`` is the one source of the defaults; these dataclasses give
them types and checks, and have no defaults of their own. ``moderation train --config FILE`` reads
another file of the same shape merged over the packaged one (a key it leaves out keeps its
packaged value). The model card keeps ``to_dict()`` of the config it was trained with.
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from moderation.detectors import LEARNED_RULES, MEASURED_FROM_LABELS
from moderation.errors import ConfigError
from moderation.thresholds import parse_goal


def default_config_path() -> Path:
    return Path(str(resources.files("training") / "config.toml"))


@dataclass(frozen=True)
class FeaturesConfig:
    word_ngram_range: tuple[int, int]
    char_ngram_range: tuple[int, int]
    min_df: int
    max_word_features: int
    max_char_features: int


@dataclass(frozen=True)
class ClassifierConfig:
    C: float
    class_weight: str | None
    max_iter: int
    pooling_min_gain: float
    nb_alpha: float = 0.0
    nb_power: float = 1.0


@dataclass(frozen=True)
class ThresholdsConfig:
    review: str
    reject: str
    fallback: str
    #: rule id -> {"review" | "reject" | "fallback": goal}
    rules: dict[str, dict[str, str]]


@dataclass(frozen=True)
class TrainingConfig:
    seed: int
    test_size: float
    mixed_share: float
    cv_folds: int
    holdout_groups: tuple[str, ...]
    features: FeaturesConfig
    classifier: ClassifierConfig
    thresholds: ThresholdsConfig
    #: public corpus -> the rules it trains (a corpus not listed trains none)
    corpora: dict[str, tuple[str, ...]]

    def goals_for(self, rule: str) -> tuple[str, str, str]:
        """A rule's (review, reject, fallback) goals: its own where the config gives them, else the defaults."""
        t = self.thresholds
        own = t.rules.get(rule, {})
        return own.get("review", t.review), own.get("reject", t.reject), own.get("fallback", t.fallback)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (lists, not tuples), as the model card keeps it."""
        def plain(value):
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        return plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> "TrainingConfig":
        """A config from its plain form (a TOML file merged over the defaults, or a model card's)."""
        return _build(data, where)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}; give the path of a .toml file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML ({exc}); fix it or leave --config out") from None


def load_config(path: str | Path | None = None) -> TrainingConfig:
    """The packaged config, or ``path`` merged over it, checked."""
    packaged = _read(default_config_path())
    if path is None:
        return _build(packaged, f"config {default_config_path()}")
    path = Path(path)
    where = f"config {path}"
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in packaged.items()}
    for key, value in _read(path).items():
        if key not in merged:
            raise ConfigError(f"{where}: unknown key {key!r}; allowed keys are {', '.join(merged)}")
        if isinstance(merged[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{key}] must be a table")
            if key == "corpora":   # a file's corpus table replaces the packaged one
                merged[key] = dict(value)
                continue
            allowed = set(merged[key]) | ({"rules"} if key == "thresholds" else set())
            unknown = set(value) - allowed
            if unknown:
                raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} in [{key}]; "
                                  f"allowed keys are {', '.join(sorted(allowed))}")
            merged[key].update(value)
        else:
            merged[key] = value
    return _build(merged, where)


#: A ``[corpora]`` entry "rule:ours" trains the rule on the rows our readers labelled
#: (training/labels/) only, not on the corpus's own labels.
OURS = ":ours"


def _build(data: dict[str, Any], where: str) -> TrainingConfig:
    def bad(name, allowed, value):
        raise ConfigError(f"{where}: {name} must be {allowed}, got {value!r}")

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    try:
        f, c, t = dict(data["features"]), dict(data["classifier"]), dict(data["thresholds"])
        seed, test_size, mixed, folds = data["seed"], data["test_size"], data["mixed_share"], data["cv_folds"]
        groups = data.get("holdout_groups", [])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: missing {exc}; start from training/config.toml") from None
    if not whole(seed):
        bad("seed", "a whole number", seed)
    if not number(test_size) or not 0.05 <= test_size <= 0.5:
        bad("test_size", "a number from 0.05 to 0.5", test_size)
    if not number(mixed) or not 0.0 <= mixed <= 2.0:
        bad("mixed_share", "a number from 0 to 2", mixed)
    if not whole(folds) or not 2 <= folds <= 20:
        bad("cv_folds", "a whole number from 2 to 20", folds)
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        bad("holdout_groups", "a list of \"corpus:group\" strings", groups)
    if list(f.get("word_ngram_range", ())) not in ([1, 1], [1, 2]):
        bad("features.word_ngram_range", "[1, 1] or [1, 2] (word unigrams, or unigrams and bigrams)",
            f.get("word_ngram_range"))
    value = f.get("char_ngram_range")
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(whole(v) and v >= 1 for v in value)
            and value[0] <= value[1]):
        bad("features.char_ngram_range", "[low, high] with 1 <= low <= high", value)
    for key in ("min_df", "max_word_features", "max_char_features"):
        if not whole(f.get(key)) or f[key] < 1:
            bad(f"features.{key}", "a whole number >= 1", f.get(key))
    if c.get("class_weight") not in ("balanced", None, "none"):
        bad("classifier.class_weight", '"balanced" or "none"', c.get("class_weight"))
    if not number(c.get("C")) or c["C"] <= 0:
        bad("classifier.C", "a number > 0", c.get("C"))
    if not whole(c.get("max_iter")) or c["max_iter"] < 1:
        bad("classifier.max_iter", "a whole number >= 1", c.get("max_iter"))
    c.setdefault("pooling_min_gain", 0.0)   # model cards from before it existed
    if not number(c["pooling_min_gain"]) or not 0 <= c["pooling_min_gain"] <= 1:
        bad("classifier.pooling_min_gain", "a number from 0 to 1", c["pooling_min_gain"])
    c.setdefault("nb_alpha", 0.0)   # model cards from before it existed: columns unscaled
    c.setdefault("nb_power", 1.0)
    if not number(c["nb_alpha"]) or c["nb_alpha"] < 0:
        bad("classifier.nb_alpha", "a number >= 0 (0 leaves the columns unscaled)", c["nb_alpha"])
    if not number(c["nb_power"]) or not 0 < c["nb_power"] <= 2:
        bad("classifier.nb_power", "a number above 0, at most 2", c["nb_power"])
    corpora = data.get("corpora", {})
    from .corpora import ADAPTERS

    if not isinstance(corpora, dict):
        bad("corpora", "a table of corpus = [rule ids]", corpora)
    for name, trains in corpora.items():
        if name not in ADAPTERS:
            bad(f"corpora.{name}", f"one of {', '.join(ADAPTERS)}", name)
        if not isinstance(trains, list) or not all(isinstance(t, str) for t in trains) or \
                {t.removesuffix(OURS) for t in trains} - set(ADAPTERS[name].rules):
            bad(f"corpora.{name}", f"a list of the rules it labels ({', '.join(ADAPTERS[name].rules)}), each "
                                   "optionally with ':ours' (our readers' labels only)", trains)
    rules = t.get("rules", {})
    for name in ("review", "reject", "fallback"):
        parse_goal(t.get(name), f"{where}: thresholds.{name}")
    if not isinstance(rules, dict):
        bad("thresholds.rules", "a table of [thresholds.rules.<rule id>] tables", rules)
    known = LEARNED_RULES + MEASURED_FROM_LABELS
    for rule, goals in rules.items():
        if rule not in known:
            bad(f"thresholds.rules.{rule}", f"one of {', '.join(known)}", rule)
        if not isinstance(goals, dict) or set(goals) - {"review", "reject", "fallback"}:
            bad(f"thresholds.rules.{rule}", "a table with review, reject and/or fallback goals", goals)
        for name, goal in goals.items():
            parse_goal(goal, f"{where}: thresholds.rules.{rule}.{name}")
    return TrainingConfig(
        seed=seed, test_size=test_size, mixed_share=mixed, cv_folds=folds, holdout_groups=tuple(groups),
        features=FeaturesConfig(word_ngram_range=tuple(f["word_ngram_range"]), char_ngram_range=tuple(value),
                                min_df=f["min_df"], max_word_features=f["max_word_features"],
                                max_char_features=f["max_char_features"]),
        classifier=ClassifierConfig(C=c["C"], class_weight=None if c["class_weight"] in (None, "none") else "balanced",
                                    max_iter=c["max_iter"], pooling_min_gain=float(c["pooling_min_gain"]),
                                    nb_alpha=float(c["nb_alpha"]), nb_power=float(c["nb_power"])),
        thresholds=ThresholdsConfig(review=t["review"], reject=t["reject"], fallback=t["fallback"],
                                    rules={r: dict(g) for r, g in rules.items()}),
        corpora={name: tuple(trains) for name, trains in corpora.items()})
