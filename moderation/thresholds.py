"""Thresholds chosen from data by a stated goal, e.g. "maximum recall @ precision >= 0.9".

The grammar is ``maximum <precision|recall|f1>`` optionally followed by
``@ <precision|recall|fpr> <>=|<=> <number>``. The chosen threshold is the score at which the
constraint holds and the objective is largest; on a tie, the higher threshold (fewer flags) wins.
Scores are compared after rounding, exactly as verdicts compare them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConfigError
from .verdict import rounded

OBJECTIVES = ("precision", "recall", "f1")
CONSTRAINTS = ("precision", "recall", "fpr")
_GOAL = re.compile(r"^\s*maximum\s+(\w+)\s*(?:@\s*(\w+)\s*(>=|<=)\s*([0-9]*\.?[0-9]+)\s*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Goal:
    objective: str
    constraint: str | None = None
    op: str | None = None
    bound: float | None = None

    def __str__(self) -> str:
        if self.constraint is None:
            return f"maximum {self.objective}"
        return f"maximum {self.objective} @ {self.constraint} {self.op} {self.bound:g}"


def parse_goal(text: str, name: str = "goal") -> Goal:
    match = _GOAL.match(text or "") if isinstance(text, str) else None
    if not match:
        raise ConfigError(f"{name} {text!r} is not a goal; write it as \"maximum recall @ precision >= 0.9\" "
                          f"(objective one of {', '.join(OBJECTIVES)}; constraint one of {', '.join(CONSTRAINTS)})")
    objective, constraint, op, bound = match.groups()
    objective = objective.lower()
    if objective not in OBJECTIVES:
        raise ConfigError(f"{name}: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if constraint is None:
        return Goal(objective)
    constraint = constraint.lower()
    if constraint not in CONSTRAINTS:
        raise ConfigError(f"{name}: constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    value = float(bound)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}: the bound must be between 0 and 1, got {bound}")
    return Goal(objective, constraint, op, value)


@dataclass(frozen=True)
class Choice:
    threshold: float
    precision: float
    recall: float
    f1: float
    fpr: float
    flagged: int

    def to_dict(self) -> dict:
        return {k: (rounded(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def operating_points(scores, labels) -> list[Choice]:
    """Precision, recall, F1 and false-positive rate at every distinct (rounded) non-zero score."""
    scores = np.round(np.asarray(scores, dtype=np.float64), 4)
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp, fp = np.cumsum(y), np.cumsum(~y)
    # The last index of each run of equal scores is where "flag if score >= s" ends.
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1] if len(s) else np.array([], dtype=int)
    points = []
    for i in last:
        threshold = float(s[i])
        if threshold <= 0.0:
            continue  # a score of zero never flags
        t, f = int(tp[i]), int(fp[i])
        precision = t / (t + f) if t + f else 0.0
        recall = t / positives if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        fpr = f / negatives if negatives else 0.0
        points.append(Choice(threshold, precision, recall, f1, fpr, t + f))
    return points


def choose_threshold(scores, labels, goal: Goal) -> Choice | None:
    """The operating point that meets ``goal`` on these held-out scores, or None if none does."""
    best: Choice | None = None
    for point in operating_points(scores, labels):
        if goal.constraint is not None:
            value = getattr(point, goal.constraint)
            # A hair of tolerance so 0.9 computed as 0.8999999 still counts as 0.9.
            ok = value >= goal.bound - 1e-12 if goal.op == ">=" else value <= goal.bound + 1e-12
            if not ok:
                continue
        key = (getattr(point, goal.objective), point.threshold)
        if best is None or key > (getattr(best, goal.objective), best.threshold):
            best = point
    return best


def choose_rule_thresholds(scores, labels, review_goal: str, reject_goal: str, fallback_goal: str) -> dict:
    """A rule's review and reject thresholds from held-out scores, with what each goal achieved.

    Review falls back to ``fallback_goal`` when its goal cannot be met, and says so. Reject has no
    fallback: a rule whose reject goal cannot be met never rejects on its own (it only reviews).
    """
    review_g, reject_g, fallback_g = (parse_goal(g, name) for g, name in
                                      ((review_goal, "review goal"), (reject_goal, "reject goal"),
                                       (fallback_goal, "fallback goal")))
    review = choose_threshold(scores, labels, review_g)
    review_met = review is not None
    if review is None:
        review = choose_threshold(scores, labels, fallback_g)
    reject = choose_threshold(scores, labels, reject_g)
    if reject is not None and review is not None and reject.threshold < review.threshold:
        # Only after a fallback can this happen; a comment is never rejected below review.
        reject = review
    return {
        "review": review.threshold if review else None,
        "review_goal": str(review_g) if review_met else str(fallback_g),
        "review_goal_met": review_met,
        "reject": reject.threshold if reject else None,
        "reject_goal": str(reject_g),
        "reject_goal_met": reject is not None,
        "held_out_at_review": review.to_dict() if review else None,
        "positives": int(np.sum(np.asarray(labels, dtype=bool))),
        "rows": int(len(labels)),
    }
