"""The figures training and evaluation report, computed one way for both."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from moderation.detectors import LABELLED_RULES, LEARNED_RULES

from .data import LabelledData


def curve_metrics(scores, y) -> dict[str, Any]:
    """Rows, positives, and ROC / PR AUC where both classes are present."""
    y = np.asarray(y).astype(int)
    out: dict[str, Any] = {"rows": int(len(y)), "positives": int(y.sum())}
    if 0 < y.sum() < len(y):
        out["roc_auc"] = round(float(roc_auc_score(y, scores)), 4)
        out["pr_auc"] = round(float(average_precision_score(y, scores)), 4)
    return out


def at_threshold(scores, y, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 when flagging at ``threshold`` (scores rounded as verdicts round them)."""
    y = np.asarray(y).astype(int)
    flagged = np.round(scores, 4) >= threshold
    tp = int(np.sum(flagged & (y == 1)))
    precision = tp / int(flagged.sum()) if flagged.any() else 0.0
    recall = tp / int(y.sum()) if y.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def rule_metrics(scores, y, threshold: float | None) -> dict[str, Any]:
    out = curve_metrics(scores, y)
    if threshold is not None and out["positives"]:
        out.update(at_threshold(scores, y, threshold))
    return out


def review_rate(rows: LabelledData, verdicts_of: Callable[[Sequence[int]], list], leave_out: Iterable[str] = ()
                ) -> dict[str, Any] | None:
    """Clean comments sent to review; ``verdicts_of(indices)`` gives the verdicts of those rows, so
    only the clean rows need scoring.

    A clean comment is one labelled 0 for every rule its source labels (sources in ``leave_out``
    aside). It counts as wrongly sent to review when a rule it is labelled 0 for flags it: a spam
    corpus says nothing of insults, so its "clean" rows may rightly be flagged for one. ``strict``
    counts any flag at all, on the clean rows labelled for every learned rule.
    """
    labelled_rules = [r for r in rows.labels if r in LABELLED_RULES]
    if not labelled_rules or not len(rows):
        return None
    stacked = np.vstack([rows.labels[r] for r in labelled_rules])
    kept = ~np.isin(rows.source_names(), list(leave_out))
    clean = np.all((stacked == 0) | np.isnan(stacked), axis=0) & np.any(stacked == 0, axis=0) & kept
    if not clean.any():
        return None
    index = np.flatnonzero(clean)
    verdicts = dict(zip(index.tolist(), verdicts_of(index.tolist())))
    wrong = [any(f.rule in rows.labels and rows.labels[f.rule][i] == 0 for f in verdicts[i].flags) for i in index]
    out = {"clean_rows": int(clean.sum()), "flagged": int(sum(wrong)), "rate": round(sum(wrong) / int(clean.sum()), 4)}
    if all(r in rows.labels for r in LEARNED_RULES):
        full = clean & np.all(np.vstack([rows.labels[r] for r in LEARNED_RULES]) == 0, axis=0)
        if full.any():
            strict = sum(verdicts[i].verdict != "publish" for i in np.flatnonzero(full))
            out["strict"] = {"clean_rows": int(full.sum()), "flagged": int(strict),
                             "rate": round(strict / int(full.sum()), 4)}
    return out
