"""``train(...)``: labelled data in, a verified model file out. The CLI is a thin layer over this."""
from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from moderation.artifact import ModelArtifact, library_versions, save
from moderation.detectors import LEARNED_RULES, MEASURED_FROM_LABELS, RULES, ignored_link_domains
from moderation.lexicon import Lexicon
from moderation.normaliser import Normaliser
from moderation.errors import DataError
from moderation.features import TextFeatures
from moderation.model import CommentModel, selection
from moderation.moderator import Moderator
from moderation.rulebook import Rulebook, load_rulebook
from moderation.thresholds import choose_rule_thresholds

from .config import OURS, TrainingConfig, load_config
from .data import LabelledData, combine, deduplicate, group_split, read_labelled, starter_path
from .metrics import measure

Progress = Callable[[str], None]

def _model(config: TrainingConfig, rulebook: Rulebook) -> CommentModel:
    f, c = config.features, config.classifier
    lexicon = Lexicon.load(rulebook["foul_language"].settings.lexicon or None)
    features = TextFeatures(word_ngram_range=tuple(f.word_ngram_range), char_ngram_range=tuple(f.char_ngram_range),
                            min_df=f.min_df, max_word_features=f.max_word_features,
                            max_char_features=f.max_char_features, lexicon=lexicon,
                            ignore_link_domains=ignored_link_domains(rulebook))
    goals = {rule: config.goals_for(rule) for rule in LEARNED_RULES}
    return CommentModel(rules=LEARNED_RULES, features=features, C=float(c.C), class_weight=c.class_weight,
                        max_iter=c.max_iter, cv=config.cv_folds,
                        review_goal={r: g[0] for r, g in goals.items()},
                        reject_goal={r: g[1] for r, g in goals.items()},
                        fallback_goal={r: g[2] for r, g in goals.items()}, random_state=config.seed,
                        pooling_min_gain=c.pooling_min_gain, nb_alpha=c.nb_alpha, nb_power=c.nb_power)


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
                  config: TrainingConfig | None = None, say: Progress = lambda m: None, training_only: bool = True,
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

        parts += [p for p in load_corpora(Path(corpora), holdout_groups=set(cfg.holdout_groups), say=say,
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

    held_out = group_split(corpus.groups, cfg.test_size, cfg.seed, corpus.forced_test, corpus.source_names())
    train_part, test_part = corpus.subset(~held_out), corpus.subset(held_out)
    say(f"{len(train_part)} rows to train on, {len(test_part)} held out for metrics")
    train_part = select_corpus_rules(train_part, cfg)
    # The model learns from comments as the detectors will read them (disguises undone).
    normaliser = Normaliser(Lexicon.load(rulebook["foul_language"].settings.lexicon or None))
    train_part = normalised(train_part, normaliser)
    texts, labels, groups = with_mixed_rows(train_part, cfg.mixed_share, cfg.seed)
    if len(texts) > len(train_part):
        say(f"added {len(texts) - len(train_part)} mixed rows (a clean comment joined to a labelled one)")
    # Pooling, calibration and thresholds are chosen on real news comments (not on mixed rows).
    news = np.zeros(len(texts), dtype=bool)
    news[:len(train_part)] = train_part.news_rows()
    model = _model(cfg, rulebook).fit(texts, labels, progress=say, groups=groups, select=news)

    thresholds = dict(model.thresholds_)
    for rule in MEASURED_FROM_LABELS:
        y = train_part.labels.get(rule)
        if y is None or np.sum(~np.isnan(y)) == 0 or np.nansum(y) == 0:
            say(f"{rule}: no labelled rows; its threshold must be set in the rulebook")
            continue
        mask = ~np.isnan(y)
        # Chosen on news comments, as the learned rules' are (moderation.model.selection).
        on, chosen_on = selection(y[mask].astype(int), train_part.news_rows()[mask])
        mask[np.flatnonzero(mask)[~on]] = False
        scores = _measured(rule, rulebook, [t for t, m in zip(train_part.texts, mask) if m])
        thresholds[rule] = choose_rule_thresholds(scores, y[mask].astype(int), *cfg.goals_for(rule))
        thresholds[rule]["chosen_on"] = chosen_on

    data_hash = hashlib.sha256("".join(s["sha256"] for s in corpus.sources).encode()).hexdigest()
    created = datetime.now(timezone.utc)
    version = f"{created:%Y%m%d%H%M%S}-{hashlib.sha256((data_hash + json.dumps(cfg.to_dict(), sort_keys=True)).encode()).hexdigest()[:8]}"
    card = {
        "version": version,
        "created": created.isoformat(timespec="seconds"),
        "rules": list(model.rules_),
        "data": {"sources": [{k: s[k] for k in ("name", "rows", "sha256", "licence") if k in s} for s in corpus.sources],
                 # What was read, so the held-out rows can be rebuilt (``training.heldout``: promote).
                 "inputs": {"data": [str(Path(p).resolve()) for p in data], "with_starter": bool(with_starter),
                            "corpora": str(Path(corpora).resolve()) if corpora else None},
                 "rows": len(corpus), "train_rows": len(train_part), "held_out_rows": len(test_part),
                 "mixed_rows_added": len(texts) - len(train_part),
                 "sha256": data_hash},
        "config": cfg.to_dict(),
        "lexicon": {"source": model.features_.lexicon.source, "fingerprint": model.features_.lexicon.fingerprint},
        "thresholds": thresholds,
    }
    artifact = ModelArtifact(model=model, thresholds=thresholds, card=card)
    # Measured on whole verdicts (word lists, links...): the scores a moderator sees.
    say(f"measuring on {len(test_part)} held-out rows")
    card["metrics"] = measure(Moderator(artifact, rulebook), test_part)[0]
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    card["versions"] = library_versions()
    if out is not None:
        say(f"writing {out}")
        save(artifact, out)
    say(f"done in {time.perf_counter() - started:.1f}s")
    return artifact


def normalised(data: LabelledData, normaliser: Normaliser) -> LabelledData:
    """``data`` with every text as ``normaliser`` reads it."""
    changed = normaliser.normalise_many(data.texts)
    texts = [changed[i].text if i in changed else t for i, t in enumerate(data.texts)]
    return LabelledData(texts=texts, labels=data.labels, groups=data.groups, sources=data.sources,
                        forced_test=data.forced_test, origins=data.origins)


def select_corpus_rules(data: LabelledData, config: TrainingConfig) -> LabelledData:
    """``data`` with each public corpus's labels kept only for the rules the config lets it train
    (``[corpora]``; ``"rule:ours"``: only the rows our readers labelled for it, not the corpus's
    own labels); labelled files (the starter corpus, an outlet's own) keep all of theirs."""
    from .corpora import ADAPTERS
    from .metrics import read_by_us

    sources = np.asarray(data.source_names())
    labels = {}
    for rule, y in data.labels.items():
        y = y.copy()
        for name in set(sources.tolist()) & set(ADAPTERS):
            allowed = config.corpora.get(name, ())
            if rule in allowed:
                continue
            drop = sources == name
            if f"{rule}{OURS}" in allowed:
                drop &= ~read_by_us(data, rule)
            y[drop] = np.nan
        labels[rule] = y
    return LabelledData(texts=data.texts, labels=labels, groups=data.groups, sources=data.sources,
                        forced_test=data.forced_test, origins=data.origins)


def _measured(rule: str, rulebook: Rulebook, texts: list[str]) -> np.ndarray:
    return RULES[rule].detector.measure(texts, rulebook[rule].settings)
