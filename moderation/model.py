"""The learned rules: one logistic regression per rule over the shared TF-IDF space.

A comment breaks a rule if any part of it does, and one insult inside three civil paragraphs is
diluted by TF-IDF's length normalisation. So a rule may score a comment as the highest of the
scores of the whole text and of each of its sentences ("pooled"). Whether it does is chosen per
rule from data: pooling is kept where it raises the out-of-fold average precision. Calibration and
thresholds are fitted on the out-of-fold scores of the chosen kind, so they mean the same thing at
training and prediction time.

Each rule is trained only on rows that label it. Its scores are calibrated (Platt scaling on
out-of-fold scores) so a score reads as a probability, and its review and reject thresholds are
chosen on those out-of-fold scores by the goals given, never hard-coded.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .errors import DataError
from .features import TextFeatures
from .rulebook import LEARNED_RULES
from .text import normalize, segments, tokens
from .thresholds import choose_rule_thresholds

Progress = Callable[[str], None]


class CommentModel(BaseEstimator):
    """Scores comments for the learned rules.

    Parameters
    ----------
    rules : rule ids to learn, in column order.
    features : a TextFeatures to clone and fit (default settings when None).
    C, class_weight, max_iter : passed to each rule's LogisticRegression.
    cv : folds for the out-of-fold scores used for calibration and thresholds.
    review_goal, reject_goal, fallback_goal : threshold goals (see ``moderation.thresholds``), one
        for every rule or a mapping of rule id to goal; the fallback is used for review when the
        review goal cannot be met.
    random_state : seed for the folds and the solver.
    """

    def __init__(self, rules: Sequence[str] = LEARNED_RULES, features: TextFeatures | None = None, C: float = 4.0,
                 class_weight: str | None = "balanced", max_iter: int = 2000, cv: int = 5,
                 review_goal: str = "maximum recall @ precision >= 0.9 and fpr <= 0.01",
                 reject_goal: str = "maximum recall @ precision >= 0.98 and fpr <= 0.002",
                 fallback_goal: str = "maximum recall @ fpr <= 0.01", random_state: int = 0):
        self.rules = rules
        self.features = features
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.cv = cv
        self.review_goal = review_goal
        self.reject_goal = reject_goal
        self.fallback_goal = fallback_goal
        self.random_state = random_state

    def _classifier(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                  solver="liblinear", random_state=self.random_state)

    def fit(self, texts: Sequence[str], labels: Mapping[str, Sequence[float]], progress: Progress | None = None,
            groups: Sequence | None = None):
        """``labels[rule][i]`` is 1, 0 or NaN (row ``i`` does not label ``rule``). Rows sharing a
        ``groups`` value are kept in the same fold, so near-copies never score each other."""
        say = progress or (lambda message: None)
        texts = list(texts)
        self.rules_ = tuple(self.rules)
        say(f"fitting the TF-IDF feature space on {len(texts)} comments")
        self.features_ = clone(self.features) if self.features is not None else TextFeatures()
        self.features_.fit(texts)
        spans = self._sentence_spans(texts)
        # Each comment analysed once: its sentence rows are slices of that analysis.
        X, part_X = self.features_.transform_with_parts(texts, spans)
        pieces = (part_X, np.asarray([i for i, s in enumerate(spans) for _ in s], dtype=int))
        n_rules = len(self.rules_)
        self.coef_ = np.zeros((X.shape[1], n_rules))
        self.intercept_ = np.zeros(n_rules)
        self.calibration_ = np.tile([1.0, 0.0], (n_rules, 1))
        self.pooled_ = np.zeros(n_rules, dtype=bool)
        self.pooling_ap_: dict[str, dict] = {}
        self.thresholds_: dict[str, dict] = {}
        for j, rule in enumerate(self.rules_):
            y = np.asarray(labels[rule], dtype=np.float64)
            mask = ~np.isnan(y)
            Xr, yr = X[mask], y[mask].astype(int)
            positives, negatives = int(yr.sum()), int(len(yr) - yr.sum())
            if min(positives, negatives) < 2:
                raise DataError(f"rule {rule!r} has {positives} positive and {negatives} negative labelled rows; "
                                "each learned rule needs at least 2 of each: add labelled examples")
            folds = min(self.cv, positives, negatives)
            say(f"{rule}: {folds}-fold out-of-fold scores on {len(yr)} rows ({positives} positive)")
            rows = np.flatnonzero(mask)
            if groups is None:
                splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state).split(Xr, yr)
            else:
                splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=self.random_state).split(
                    Xr, yr, np.asarray(groups)[mask])
            oof_whole, oof_pooled = np.zeros(len(rows)), np.zeros(len(rows))
            for fit_idx, held_idx in splits:
                clf = self._classifier().fit(Xr[fit_idx], yr[fit_idx])
                oof_whole[held_idx] = Xr[held_idx] @ clf.coef_[0] + clf.intercept_[0]
                oof_pooled[held_idx] = self._pooled(clf.coef_[0], clf.intercept_[0], X, pieces, rows[held_idx])
            ap_whole, ap_pooled = average_precision_score(yr, oof_whole), average_precision_score(yr, oof_pooled)
            self.pooled_[j] = ap_pooled > ap_whole
            self.pooling_ap_[rule] = {"whole": round(float(ap_whole), 4), "pooled": round(float(ap_pooled), 4)}
            oof = oof_pooled if self.pooled_[j] else oof_whole
            platt = LogisticRegression(C=1e4, solver="lbfgs").fit(oof.reshape(-1, 1), yr)
            a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            self.calibration_[j] = (a, b)
            self.thresholds_[rule] = choose_rule_thresholds(
                expit(a * oof + b), yr, *(g if isinstance(g, str) else g[rule]
                                          for g in (self.review_goal, self.reject_goal, self.fallback_goal)))
            final = self._classifier().fit(Xr, yr)
            self.coef_[:, j] = final.coef_[0]
            self.intercept_[j] = final.intercept_[0]
        return self

    @staticmethod
    def _sentence_spans(texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Each text's sentence spans, or none for a text that is one sentence."""
        out = []
        for text in texts:
            spans = segments(text)
            several = spans and text[spans[0][0]:spans[-1][1]].strip() != text.strip() or len(spans) > 1
            out.append(spans if several else [])
        return out

    @staticmethod
    def _pooled(coef, intercept, X, pieces, index) -> np.ndarray:
        """Max of the decision values of texts ``index`` and of their sentences."""
        z = np.asarray(X[index] @ coef).ravel() + intercept
        part_X, owners = pieces
        if len(owners):
            where = {t: k for k, t in enumerate(index)}
            keep = np.array([o in where for o in owners])
            if keep.any():
                zp = np.asarray(part_X[keep] @ coef).ravel() + intercept
                np.maximum.at(z, np.array([where[o] for o in owners[keep]]), zp)
        return z

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.features_.transform(list(texts))

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix]:
        """Calibrated pooled scores, shape (n_comments, n_rules), and the texts' feature rows."""
        texts = list(texts)
        spans = self._sentence_spans(texts) if self.pooled_.any() else [[] for _ in texts]
        # Comments and their sentences in one pass and one matrix product.
        X, P = self.features_.transform_with_parts(texts, spans)
        z = np.asarray(X @ self.coef_) + self.intercept_
        owners = [i for i, s in enumerate(spans) for _ in s]
        if owners:
            pooled = z.copy()
            np.maximum.at(pooled, np.asarray(owners), np.asarray(P @ self.coef_) + self.intercept_)
            z = np.where(self.pooled_, pooled, z)
        return expit(z * self.calibration_[:, 0] + self.calibration_[:, 1]), X

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts)[0]

    def explain(self, text: str, rule: str, k: int = 5, row: sp.csr_matrix | None = None) -> list[tuple[int, int, float]]:
        """The words (or links) of ``text`` that raised ``rule``'s score most, as (start, end, weight).

        A feature's contribution is its coefficient times its TF-IDF value; it is shared out over
        the places the feature occurs, and word n-grams over their words, so every contribution
        lands on a word or a link of the original text.
        """
        j = self.rules_.index(rule)
        row = self.transform([text]) if row is None else row
        row = sp.csr_matrix(row)
        contributions = row.data * self.coef_[row.indices, j]
        spans = self.features_.feature_spans(text)
        toks = tokens(normalize(text))
        words = [(s, e) for _, s, e in toks]
        # Function words still count in the score, but "because" or "the" explains nothing to a
        # moderator, so they are never shown as evidence.
        quiet = {(s, e) for word, s, e in toks if word in ENGLISH_STOP_WORDS}
        link_columns = range(self.features_.n_features_ - 3, self.features_.n_features_)
        links = spans.get(link_columns[0], []) if any(c in spans for c in link_columns) else []
        # A word inside a link is shown as the whole link.
        unit_of = {}
        for s, e in words:
            unit_of[(s, e)] = next(((ls, le) for ls, le in links if ls <= s and e <= le), (s, e))
        # Every n-gram span starts at a word's start and ends at a word's end: index both, so the
        # words of a span are a slice, not a scan of the comment.
        first_at = {start: i for i, (start, _) in enumerate(words)}
        last_at = {end: i for i, (_, end) in enumerate(words)}
        weight: dict[tuple[int, int], float] = defaultdict(float)
        for column, value in zip(row.indices, contributions):
            if value <= 0 or column not in spans:
                continue
            places = spans[column]
            for start, end in places:
                if column in link_columns:
                    weight[(start, end)] += value / len(places)
                    continue
                a, b = first_at.get(start), last_at.get(end)
                inside = words[a:b + 1] if a is not None and b is not None and a <= b else [(start, end)]
                for w in inside:
                    weight[unit_of.get(w, w)] += value / len(places) / len(inside)
        ranked = sorted(((span, w) for span, w in weight.items() if span not in quiet),
                        key=lambda item: (-item[1], item[0]))
        if not ranked:
            return []
        floor = 0.05 * ranked[0][1]
        return [(s, e, w) for (s, e), w in ranked[:k] if w >= floor]
