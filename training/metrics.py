"""The figures training and evaluation report, computed one way for both."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from moderation.detectors import LABELLED_RULES, LEARNED_RULES, RULE_IDS

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


def best_f1(scores, y) -> dict[str, float]:
    """The F1 at the best threshold of all, and that threshold (scores rounded as verdicts round
    them): beside the F1 at the chosen threshold it says whether the threshold or the ranking
    limits a rule. Both classes must be present (``rule_metrics`` asks only then)."""
    precision, recall, thresholds = precision_recall_curve(np.asarray(y).astype(int), np.round(scores, 4))
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    k = int(np.argmax(f1[:-1]))   # the last point (recall 0) has no threshold
    return {"best_f1": round(float(f1[k]), 4), "best_f1_threshold": round(float(thresholds[k]), 4)}


def rule_metrics(scores, y, threshold: float | None) -> dict[str, Any]:
    out = curve_metrics(scores, y)
    if threshold is not None and out["positives"]:
        out.update(at_threshold(scores, y, threshold))
    if "roc_auc" in out:
        out.update(best_f1(scores, y))
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


def summarise(rows: LabelledData, scores: dict[str, np.ndarray], thresholds: dict[str, float | None],
              verdicts_of: Callable[[Sequence[int]], list] | None = None, leave_out: Iterable[str] = ()
              ) -> dict[str, Any]:
    """Per-rule figures on held-out ``rows``: real news comments first (what the service is judged
    on), then every source on its own, then all rows together. ``scores[rule]`` holds every row's
    score; ``leave_out`` names sources (evaluation-only corpora) kept out of the pooled figures."""
    sources = np.asarray(rows.source_names())
    kept = ~np.isin(sources, list(leave_out))
    news = rows.news_rows() & kept
    out: dict[str, Any] = {"held_out_rows": len(rows),
                           "news": {"rows": int(news.sum()), "labels": "our readers'", "rules": {}},
                           "news_corpus_labels": {"labels": "the corpora's own", "rules": {}},
                           "by_source": {}, "rules": {}}
    domains = dict(zip(rows.source_names(), rows.domains()))
    for rule, y_all in rows.labels.items():
        if rule not in scores:
            continue
        labelled = ~np.isnan(y_all)
        ours = read_by_us(rows, rule)
        for name, mask, into in (("news", labelled & news & ours, out["news"]["rules"]),
                                 ("news, corpus labels", labelled & news & ~ours, out["news_corpus_labels"]["rules"]),
                                 ("all", labelled & kept, out["rules"])):
            if mask.any():
                entry = rule_metrics(scores[rule][mask], y_all[mask], thresholds.get(rule))
                if thresholds.get(rule) is not None:
                    entry["threshold"] = thresholds[rule]
                into[rule] = entry
        for source in sorted(set(sources[labelled].tolist())):
            sel = labelled & (sources == source)
            entry = rule_metrics(scores[rule][sel], y_all[sel], thresholds.get(rule))
            entry["domain"] = domains[source]
            out["by_source"][f"{rule}@{source}"] = entry
    if verdicts_of is not None:
        # Clean news comments: those our readers read for every learned rule they read all comments
        # for (respect, accusations, foul language) and found clean for every rule they labelled.
        masks = [m for r in MAIN_READING if r in rows.labels and (m := read_by_us(rows, r)).any()]
        read = news & np.all(masks, axis=0) if masks else np.zeros(len(rows), dtype=bool)
        index = np.flatnonzero(read)
        out["news"]["any_flag_on_clean"] = any_flag_rate(rows.subset(read), lambda i: verdicts_of(index[list(i)].tolist()))
        index = np.flatnonzero(news)
        out["news"]["review_rate_on_clean"] = review_rate(rows.subset(news), lambda i: verdicts_of(index[list(i)].tolist()))
        out["review_rate_on_clean"] = review_rate(rows, verdicts_of, leave_out=leave_out)
    return out


#: The rules our readers judged on every news comment they read (training/labels/README.md).
MAIN_READING = ("respect", "accusations", "foul_language")


def read_by_us(rows: LabelledData, rule: str) -> np.ndarray:
    """Which rows hold our readers' label for ``rule`` (training/labels/), not a corpus's own: the
    figures a newsroom can trust are measured on these."""
    from .corpora import our_labels

    ours = our_labels()
    out = []
    for origin in rows.origins or [""] * len(rows):
        corpus, _, row_id = origin.partition(":")
        out.append(rule in ours.get(corpus, {}).get(row_id, {}))
    return np.asarray(out, dtype=bool)


def any_flag_rate(rows: LabelledData, verdicts_of: Callable[[Sequence[int]], list]) -> dict[str, Any] | None:
    """Comments labelled clean for every rule their source labels (and for at least two of them)
    that are sent to review or rejected for any reason: what a moderator would call a wrong hold of
    a healthy comment."""
    learned = [r for r in LABELLED_RULES if r in rows.labels]
    if not learned or not len(rows):
        return None
    stacked = np.vstack([rows.labels[r] for r in learned])
    clean = np.all((stacked == 0) | np.isnan(stacked), axis=0) & (np.sum(stacked == 0, axis=0) >= 2)
    if not clean.any():
        return None
    index = np.flatnonzero(clean).tolist()
    held = sum(v.verdict != "publish" for v in verdicts_of(index))
    return {"clean_rows": len(index), "held": int(held), "rate": round(held / len(index), 4)}


def measure(moderator, rows: LabelledData, leave_out: Iterable[str] = ()) -> tuple[dict[str, Any], list]:
    """``summarise`` of the whole verdicts a moderator gives ``rows`` (each rule's score as a
    moderator sees it: word lists, links and all), and those verdicts."""
    verdicts = moderator.check_batch(list(rows.texts)) if len(rows) else []
    scores = {r: np.array([v.scores[r] for v in verdicts], dtype=np.float64) for r in RULE_IDS}
    thresholds = {r: moderator.thresholds[r].review for r in RULE_IDS}
    return summarise(rows, scores, thresholds, lambda index: [verdicts[i] for i in index], leave_out), verdicts
