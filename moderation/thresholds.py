"""Thresholds chosen from data by a stated goal, e.g. "maximum recall @ precision >= 0.9".

The grammar is ``maximum <precision|recall|f1>`` optionally followed by
``@ <precision|recall|fpr> <>=|<=> <number>``, and more constraints joined by ``and``. The chosen
threshold is the score at which every constraint holds and the objective is largest; on a tie, the
higher threshold (fewer flags) wins. Scores are compared after rounding, exactly as verdicts are.

Precision depends on how common rule-breaking is in the data it is measured on; the false-positive
rate (the share of clean comments flagged) does not. Training data is rich in rule-breaking
comments, a site's comment stream is not, so a goal with only a precision constraint flags far more
clean comments in production than on paper; an ``fpr`` constraint bounds that directly.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConfigError
from .verdict import rounded

OBJECTIVES = ("precision", "recall", "f1")
CONSTRAINTS = ("precision", "recall", "fpr")
_GOAL = re.compile(r"^\s*maximum\s+(\w+)\s*(?:@\s*(.+?))?\s*$", re.IGNORECASE)
_CONSTRAINT = re.compile(r"^\s*(\w+)\s*(>=|<=)\s*([0-9]*\.?[0-9]+)\s*$")


@dataclass(frozen=True)
class Goal:
    objective: str
    constraints: tuple[tuple[str, str, float], ...] = ()

    def holds(self, point: "Choice") -> bool:
        # A hair of tolerance so 0.9 computed as 0.8999999 still counts as 0.9.
        return all(getattr(point, metric) >= bound - 1e-12 if op == ">=" else getattr(point, metric) <= bound + 1e-12
                   for metric, op, bound in self.constraints)

    def __str__(self) -> str:
        if not self.constraints:
            return f"maximum {self.objective}"
        return f"maximum {self.objective} @ " + " and ".join(f"{m} {op} {b:g}" for m, op, b in self.constraints)


def parse_goal(text: str, name: str = "goal") -> Goal:
    match = _GOAL.match(text or "") if isinstance(text, str) else None
    how = ("write it as \"maximum recall @ precision >= 0.9 and fpr <= 0.01\" (objective one of "
           f"{', '.join(OBJECTIVES)}; constraints on {', '.join(CONSTRAINTS)} joined by 'and')")
    if not match:
        raise ConfigError(f"{name} {text!r} is not a goal; {how}")
    objective, rest = match.groups()
    objective = objective.lower()
    if objective not in OBJECTIVES:
        raise ConfigError(f"{name}: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    constraints = []
    for part in re.split(r"\s+and\s+", rest or "", flags=re.IGNORECASE) if rest else []:
        found = _CONSTRAINT.match(part)
        if not found:
            raise ConfigError(f"{name}: {part.strip()!r} is not a constraint; {how}")
        metric, op, bound = found.groups()
        metric = metric.lower()
        if metric not in CONSTRAINTS:
            raise ConfigError(f"{name}: constraint must be one of {', '.join(CONSTRAINTS)}, got {metric!r}")
        value = float(bound)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name}: the bound must be between 0 and 1, got {bound}")
        constraints.append((metric, op, value))
    return Goal(objective, tuple(constraints))


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
        if not goal.holds(point):
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
