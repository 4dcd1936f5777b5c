"""``train(...)``: labelled data in, a verified model file out. The CLI is a thin layer over this."""
from __future__ import annotations

import hashlib
import json
import time
import tomllib
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from moderation.artifact import ModelArtifact, library_versions, save
from moderation.errors import ConfigError, DataError
from moderation.features import TextFeatures
from moderation.model import CommentModel
from moderation.moderator import Moderator
from moderation.rulebook import LEARNED_RULES, Rulebook, load_rulebook
from moderation.signals import measure_volume
from moderation.thresholds import choose_rule_thresholds, parse_goal

from .metrics import review_rate, rule_metrics
from .data import LabelledData, combine, deduplicate, group_split, read_labelled, starter_path

Progress = Callable[[str], None]

DEFAULT_CONFIG: dict[str, Any] = {
    "seed": 20261123, "test_size": 0.2, "cv_folds": 5, "mixed_share": 0.3,
    "holdout_groups": ["youtube-spam:Youtube04-Eminem"],
    "features": {"word_ngram_range": [1, 2], "char_ngram_range": [2, 5], "min_df": 2,
                 "max_word_features": 100_000, "max_char_features": 200_000},
    "classifier": {"C": 4.0, "class_weight": "balanced", "max_iter": 2000},
    "thresholds": {"review": "maximum recall @ precision >= 0.9 and fpr <= 0.01", "reject": "maximum recall @ precision >= 0.98 and fpr <= 0.002",
                   "fallback": "maximum recall @ fpr <= 0.01", "rules": {}},
}
#: Measured rules whose threshold is chosen from labelled data, and how they are measured.
MEASURED_FROM_DATA = ("volume",)


def default_config_path() -> Path:
    return Path(str(resources.files("training") / "config.toml"))


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The training config: the packaged one, or ``path`` merged over the defaults, validated."""
    path = Path(path) if path is not None else default_config_path()
    try:
        loaded = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}; give the path of a .toml file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML ({exc}); fix it or leave --config out") from None
    config = json.loads(json.dumps(DEFAULT_CONFIG))
    for key, value in loaded.items():
        if key not in config:
            raise ConfigError(f"config {path}: unknown key {key!r}; allowed keys are {', '.join(config)}")
        if isinstance(config[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config {path}: [{key}] must be a table")
            unknown = set(value) - set(config[key])
            if unknown:
                raise ConfigError(f"config {path}: unknown key {sorted(unknown)[0]!r} in [{key}]; "
                                  f"allowed keys are {', '.join(config[key])}")
            config[key].update(value)
        else:
            config[key] = value
    _validate(config, path)
    return config


def _validate(config: dict, path: Path) -> None:
    def bad(name, allowed, value):
        raise ConfigError(f"config {path}: {name} must be {allowed}, got {value!r}")

    if not isinstance(config["holdout_groups"], list) or not all(isinstance(g, str) for g in config["holdout_groups"]):
        bad("holdout_groups", "a list of \"corpus:group\" strings", config["holdout_groups"])
    if not isinstance(config["seed"], int):
        bad("seed", "a whole number", config["seed"])
    if not isinstance(config["test_size"], (int, float)) or not 0.05 <= config["test_size"] <= 0.5:
        bad("test_size", "a number from 0.05 to 0.5", config["test_size"])
    if not isinstance(config["mixed_share"], (int, float)) or not 0.0 <= config["mixed_share"] <= 2.0:
        bad("mixed_share", "a number from 0 to 2", config["mixed_share"])
    if not isinstance(config["cv_folds"], int) or not 2 <= config["cv_folds"] <= 20:
        bad("cv_folds", "a whole number from 2 to 20", config["cv_folds"])
    if config["features"]["word_ngram_range"] not in ([1, 1], [1, 2]):
        bad("features.word_ngram_range", "[1, 1] or [1, 2] (word unigrams, or unigrams and bigrams)",
            config["features"]["word_ngram_range"])
    value = config["features"]["char_ngram_range"]
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v >= 1 for v in value)
            and value[0] <= value[1]):
        bad("features.char_ngram_range", "[low, high] with 1 <= low <= high", value)
    if config["classifier"]["class_weight"] not in ("balanced", None, "none"):
        bad("classifier.class_weight", '"balanced" or "none"', config["classifier"]["class_weight"])
    if not isinstance(config["classifier"]["C"], (int, float)) or config["classifier"]["C"] <= 0:
        bad("classifier.C", "a number > 0", config["classifier"]["C"])
    for name, goal in config["thresholds"].items():
        if name != "rules":
            parse_goal(goal, f"config {path}: thresholds.{name}")
    rules = config["thresholds"]["rules"]
    if not isinstance(rules, dict):
        bad("thresholds.rules", "a table of [thresholds.rules.<rule id>] tables", rules)
    for rule, goals in rules.items():
        if rule not in LEARNED_RULES + MEASURED_FROM_DATA:
            bad(f"thresholds.rules.{rule}", f"one of {', '.join(LEARNED_RULES + MEASURED_FROM_DATA)}", rule)
        if not isinstance(goals, dict) or set(goals) - {"review", "reject", "fallback"}:
            bad(f"thresholds.rules.{rule}", "a table with review, reject and/or fallback goals", goals)
        for name, goal in goals.items():
            parse_goal(goal, f"config {path}: thresholds.rules.{rule}.{name}")


def goals_for(config: dict, rule: str) -> tuple[str, str, str]:
    """A rule's (review, reject, fallback) goals: its own where the config gives them, else the defaults."""
    t = config["thresholds"]
    own = t.get("rules", {}).get(rule, {})
    return own.get("review", t["review"]), own.get("reject", t["reject"]), own.get("fallback", t["fallback"])


def _model(config: dict) -> CommentModel:
    f, c = config["features"], config["classifier"]
    features = TextFeatures(word_ngram_range=tuple(f["word_ngram_range"]), char_ngram_range=tuple(f["char_ngram_range"]),
                            min_df=f["min_df"], max_word_features=f["max_word_features"],
                            max_char_features=f["max_char_features"])
    weight = None if c["class_weight"] in (None, "none") else c["class_weight"]
    goals = {rule: goals_for(config, rule) for rule in LEARNED_RULES}
    return CommentModel(rules=LEARNED_RULES, features=features, C=float(c["C"]), class_weight=weight,
                        max_iter=c["max_iter"], cv=config["cv_folds"],
                        review_goal={r: g[0] for r, g in goals.items()},
                        reject_goal={r: g[1] for r, g in goals.items()},
                        fallback_goal={r: g[2] for r, g in goals.items()}, random_state=config["seed"])


def with_mixed_rows(data: LabelledData, share: float, seed: int):
    """Training rows plus ``share`` x as many rows made of a clean comment joined to a labelled one.

    A comment breaks a rule if any part of it does (docs/labelling.md), but a model trained only on
    single-purpose comments learns that "Great reporting." cancels an insult that follows it. The
    joined row keeps the labelled row's labels and its group, so cross-validation never scores a
    row against its own copy.
    """
    texts, groups = list(data.texts), list(data.groups)
    labels = {r: list(v) for r, v in data.labels.items()}
    learned = [r for r in LEARNED_RULES if r in data.labels]
    clean = [i for i in range(len(data)) if learned and all(data.labels[r][i] == 0 for r in learned)]
    count = int(round(share * len(data)))
    if not clean or count == 0:
        return texts, {r: np.asarray(v) for r, v in labels.items()}, groups
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(data), size=count, replace=count > len(data)):
        other = data.texts[clean[rng.integers(len(clean))]]
        texts.append(f"{other} {data.texts[i]}" if rng.random() < 0.5 else f"{data.texts[i]} {other}")
        groups.append(data.groups[i])
        for rule in labels:
            labels[rule].append(data.labels[rule][i])
    return texts, {r: np.asarray(v, dtype=np.float64) for r, v in labels.items()}, groups


def _check_labels(data: LabelledData, names: str) -> None:
    for rule in LEARNED_RULES:
        y = data.labels.get(rule)
        labelled = 0 if y is None else int(np.sum(~np.isnan(y)))
        positives = 0 if y is None else int(np.nansum(y))
        if labelled == 0:
            raise DataError(f"rule {rule!r} has no labelled rows in {names}; add a {rule!r} column with 1/0 labels "
                            "(or keep the starter corpus, which labels every rule)")
        if positives == 0:
            raise DataError(f"rule {rule!r} has no positive rows in {names} ({labelled} labelled, all 0); "
                            "add comments labelled 1 for it")


def build_dataset(data: Sequence[str | Path] = (), *, with_starter: bool = True, corpora: str | Path | None = None,
                  config: dict | None = None, say: Progress = lambda m: None, training_only: bool = True,
                  only: set[str] | None = None) -> LabelledData:
    """Every labelled row a training run uses, de-duplicated, in a fixed order (so the held-out
    split of a given seed is the same at training and at evaluation time).

    ``training_only=False`` adds the evaluation-only corpora; ``only`` keeps just the corpora named.
    """
    cfg = config or load_config()
    paths = ([starter_path()] if with_starter else []) + [Path(p) for p in data]
    parts = [read_labelled(p) for p in paths]
    if corpora is not None:
        from .corpora import load_corpora

        parts += [p for p in load_corpora(Path(corpora), holdout_groups=set(cfg.get("holdout_groups", [])), say=say,
                                          training_only=training_only)
                  if only is None or p.sources[0]["name"] in only]
    if not parts:
        raise DataError("no training data: pass --data FILE or --corpora DIR, or leave out --no-starter")
    corpus, merged = deduplicate(combine(parts))
    if merged:
        say(f"merged {merged} exact or near-exact duplicate rows")
    return corpus


def train(data: Sequence[str | Path] = (), *, with_starter: bool = True, corpora: str | Path | None = None,
          config: str | Path | None = None, out: str | Path | None = None,
          rules: str | Path | Rulebook | None = None, progress: Progress | None = None) -> ModelArtifact:
    """Train every learned rule, choose every threshold from data, measure on held-out rows.

    ``data`` are labelled CSV/JSON Lines files; ``corpora`` a folder of public corpora (every known
    one found there is used); the starter corpus is included unless ``with_starter`` is False. The
    model is saved to ``out`` (with its metadata) when given.
    """
    say = progress or (lambda message: None)
    started = time.perf_counter()
    cfg = load_config(config)
    rulebook = rules if isinstance(rules, Rulebook) else load_rulebook(rules)
    say("reading labelled data")
    corpus = build_dataset(data, with_starter=with_starter, corpora=corpora, config=cfg, say=say)
    names = ", ".join(s["name"] for s in corpus.sources)
    _check_labels(corpus, names)

    held_out = group_split(corpus.groups, cfg["test_size"], cfg["seed"], corpus.forced_test, corpus.source_names())
    train_part, test_part = corpus.subset(~held_out), corpus.subset(held_out)
    say(f"{len(train_part)} rows to train on, {len(test_part)} held out for metrics")
    texts, labels, groups = with_mixed_rows(train_part, cfg["mixed_share"], cfg["seed"])
    if len(texts) > len(train_part):
        say(f"added {len(texts) - len(train_part)} mixed rows (a clean comment joined to a labelled one)")
    model = _model(cfg).fit(texts, labels, progress=say, groups=groups)

    thresholds = dict(model.thresholds_)
    acronyms = rulebook["volume"].settings.get("acronyms", [])
    for rule in MEASURED_FROM_DATA:
        y = train_part.labels.get(rule)
        if y is None or np.sum(~np.isnan(y)) == 0 or np.nansum(y) == 0:
            say(f"{rule}: no labelled rows; its threshold must be set in the rulebook")
            continue
        mask = ~np.isnan(y)
        scores = np.array([measure_volume(t, acronyms).score for t, m in zip(train_part.texts, mask) if m])
        thresholds[rule] = choose_rule_thresholds(scores, y[mask].astype(int), *goals_for(cfg, rule))

    say(f"measuring on {len(test_part)} held-out rows")
    metrics = _evaluate(model, thresholds, test_part, acronyms)
    data_hash = hashlib.sha256("".join(s["sha256"] for s in corpus.sources).encode()).hexdigest()
    created = datetime.now(timezone.utc)
    version = f"{created:%Y%m%d%H%M%S}-{hashlib.sha256((data_hash + json.dumps(cfg, sort_keys=True)).encode()).hexdigest()[:8]}"
    card = {
        "version": version,
        "created": created.isoformat(timespec="seconds"),
        "rules": list(model.rules_),
        "data": {"sources": [{k: s[k] for k in ("name", "rows", "sha256", "licence") if k in s} for s in corpus.sources],
                 "rows": len(corpus), "train_rows": len(train_part), "held_out_rows": len(test_part),
                 "mixed_rows_added": len(texts) - len(train_part),
                 "sha256": data_hash},
        "config": cfg,
        "thresholds": thresholds,
        "metrics": metrics,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    artifact = ModelArtifact(model=model, thresholds=thresholds, card=card)
    # The review rate needs the whole verdict (links, volume...), so it is measured with a Moderator.
    moderator = Moderator(artifact, rulebook)
    card["metrics"]["review_rate_on_clean"] = review_rate(
        test_part, lambda index: moderator.check_batch([test_part.texts[i] for i in index]))
    card["versions"] = library_versions()
    if out is not None:
        say(f"writing {out}")
        save(artifact, out)
    say(f"done in {time.perf_counter() - started:.1f}s")
    return artifact


def _evaluate(model: CommentModel, thresholds: dict, test: LabelledData, acronyms) -> dict[str, Any]:
    metrics: dict[str, Any] = {"held_out_rows": len(test)}
    if not len(test):
        return metrics
    probabilities = model.predict_proba(test.texts)
    per_rule = {}
    for j, rule in enumerate(model.rules_):
        y = test.labels.get(rule)
        if y is None or not np.any(~np.isnan(y)):
            continue
        mask = ~np.isnan(y)
        per_rule[rule] = rule_metrics(probabilities[mask, j], y[mask], thresholds[rule]["review"])
    for rule in MEASURED_FROM_DATA:
        y = test.labels.get(rule)
        if y is None or rule not in thresholds or not np.any(~np.isnan(y)):
            continue
        mask = ~np.isnan(y)
        scores = np.array([measure_volume(t, acronyms).score for t, m in zip(test.texts, mask) if m])
        per_rule[rule] = rule_metrics(scores, y[mask], thresholds[rule]["review"])
    metrics["rules"] = per_rule
    return metrics
