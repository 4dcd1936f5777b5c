#!/usr/bin/env python3
"""Which corpora help a rule on news comments: train the rule on news comments alone, then with each
other corpus added, then with all of them, and measure each on the same held-out news comments
(our readers' labels first, then the news corpora's own labels).

    .venv/bin/python benchmarks/source_ablation.py --corpora ../shared/data --rule respect

Same split, features and classifier settings as ``moderation train`` (training/config.toml), with
one logistic regression on the rows' features (no out-of-fold calibration: ROC AUC and PR AUC do
not depend on it). This is what chose the ``[corpora]`` table of the config; the README quotes it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

from moderation.rulebook import load_rulebook  # noqa: E402
from training.config import load_config  # noqa: E402
from training.corpora import ADAPTERS  # noqa: E402
from training.data import group_split  # noqa: E402
from training.metrics import read_by_us  # noqa: E402
from training.train import _model, build_dataset, with_mixed_rows  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rule", required=True)
    parser.add_argument("--only", nargs="*", help="arms to run (names of corpora to add; 'news', 'all')")
    parser.add_argument("--combine", nargs="*", default=[], help="extra arms: corpora added together, comma-separated")
    parser.add_argument("--without", nargs="*", default=[], help="extra arms: news comments without this corpus")
    args = parser.parse_args(argv)
    cfg, rulebook = load_config(), load_rulebook()
    data = build_dataset((), corpora=args.corpora, config=cfg, say=lambda m: None)
    held = group_split(data.groups, cfg.test_size, cfg.seed, data.forced_test, data.source_names())
    train, test = data.subset(~held), data.subset(held)
    y_test = test.labels[args.rule]
    ours = read_by_us(test, args.rule) & ~np.isnan(y_test)
    theirs = test.news_rows() & ~read_by_us(test, args.rule) & ~np.isnan(y_test)
    sources = np.asarray(train.source_names())
    news = train.news_rows() | (sources == "starter.jsonl")
    others = [name for name, a in ADAPTERS.items() if a.train and a.domain != "news" and args.rule in a.rules
              and (sources == name).any()]
    arms = [("news comments and starter only", news)] + [(f"+ {o}", news | (sources == o)) for o in others] + \
           [("all corpora", np.ones(len(train), dtype=bool))] + \
           [(f"+ {c}", news | np.isin(sources, c.split(","))) for c in args.combine] + \
           [(f"news without {c}", news & (sources != c)) for c in args.without]
    if args.only:
        arms = [a for a in arms if any(w in a[0] for w in args.only)]
    model = _model(cfg, rulebook)
    print(f"rule {args.rule}: held-out news rows, our labels {int(ours.sum())} ({int(y_test[ours].sum())} positive), "
          f"corpus labels {int(theirs.sum())} ({int(y_test[theirs].sum())} positive)")
    print(f"{'training rows':<42} {'rows':>7} {'ours AUC':>9} {'ours AP':>8} {'corpus AUC':>11} {'corpus AP':>10}")
    for name, keep in arms:
        part = train.subset(keep)
        texts, labels, _ = with_mixed_rows(part, cfg.mixed_share, cfg.seed)
        features = model.features.__class__(**model.features.get_params()).fit(texts)
        y = labels[args.rule]
        mask = ~np.isnan(y)
        X = features.transform([t for t, m in zip(texts, mask) if m])
        clf = LogisticRegression(C=cfg.classifier.C, class_weight=cfg.classifier.class_weight,
                                 max_iter=cfg.classifier.max_iter, solver="liblinear").fit(X, y[mask].astype(int))
        z = clf.decision_function(features.transform(test.texts))
        row = [f"{name:<42}", f"{int(mask.sum()):>7}"]
        for sel in (ours, theirs):
            if sel.any() and 0 < y_test[sel].sum() < sel.sum():
                row += [f"{roc_auc_score(y_test[sel], z[sel]):>9.3f}", f"{average_precision_score(y_test[sel], z[sel]):>8.3f}"]
            else:
                row += [f"{'-':>9}", f"{'-':>8}"]
        print(" ".join(row[:2]), row[2], row[3], f"{row[4]:>11}", f"{row[5]:>10}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
