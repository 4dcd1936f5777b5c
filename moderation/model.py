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

from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from .errors import DataError
from .estimator import Estimator
from . import evidence
from .features import Scored, TextFeatures, score_batch
from .detectors import LEARNED_RULES
from .thresholds import choose_rule_thresholds

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression


def expit(z: np.ndarray) -> np.ndarray:
    """The logistic function, as scipy.special.expit computes it (1 / (1 + exp(-z))); scipy.special's
    import alone was a tenth of a served model's start-up."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))

Progress = Callable[[str], None]
#: Selected rows (news comments) needed of each class to choose a rule's thresholds on them alone.
MIN_SELECTED = 20


def selection(y: np.ndarray, picked: np.ndarray | None) -> tuple[np.ndarray, str]:
    """The rows a rule's calibration and thresholds are chosen on, and what they are: the selected
    rows (news comments) when they hold ``MIN_SELECTED`` of each class; when they hold enough
    negatives but too few positives, those negatives with every positive row (the false-alarm rate
    is then measured on news comments, the recall on every rule-breaking comment); else all rows."""
    everything = np.ones(len(y), dtype=bool)
    if picked is None:
        return everything, "all"
    positives, negatives = int(y[picked].sum()), int((1 - y[picked]).sum())
    if min(positives, negatives) >= MIN_SELECTED:
        return picked, "selected"
    if negatives >= MIN_SELECTED:
        return picked | (y == 1), "selected negatives, all positives"
    return everything, "all"


def log_ratio_scale(X: sp.csr_matrix, y: np.ndarray, n_text: int, alpha: float, power: float) -> np.ndarray | None:
    """Per-column scale ``|log(p / q)| ** power`` for the first ``n_text`` (word and character)
    columns, 1 for the rest, or None when ``alpha`` is 0. ``p`` and ``q`` are the column's share of
    the TF-IDF mass in positive and in negative rows, each smoothed by ``alpha``.

    Why: with one L2 penalty for all 300,000 columns, a rare n-gram that only ever appears in
    accusations is held back as hard as a common one that means nothing. Scaling a column by how
    unevenly the classes use it is a prior that lets the telling columns move first (NBSVM, Wang
    and Manning 2012); measured on out-of-fold news comments it raised accusations' average
    precision 0.625 -> 0.641 and foul language's 0.893 -> 0.914. Only the magnitude scales: the
    regression still learns each sign. The dense signals are not counts, so they keep scale 1."""
    if not alpha:
        return None
    # Each column's mass in the two classes, in one product (slicing the columns and the rows
    # would copy the matrix three times).
    mass = np.asarray(X.T @ np.column_stack([y == 1, y == 0]).astype(np.float64))[:n_text]
    p, q = alpha + mass[:, 0], alpha + mass[:, 1]
    ratio = np.abs(np.log((p / p.sum()) / (q / q.sum()))) ** power
    return np.concatenate([ratio, np.ones(X.shape[1] - n_text)])


class CommentModel(Estimator):
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
    pooling_min_gain : a rule scores comments by their worst sentence only when that raises its
        out-of-fold average precision by at least this much (sentence rows cost a quarter of a batch).
    nb_alpha, nb_power : each rule's regression is fitted on its word and character columns scaled
        by ``|log-count ratio| ** nb_power`` (NBSVM's features, Wang and Manning 2012), the ratio
        smoothed by ``nb_alpha``; 0 fits on the TF-IDF values as they are. See ``log_ratio_scale``.
    """

    def __init__(self, rules: Sequence[str] = LEARNED_RULES, features: TextFeatures | None = None, C: float = 4.0,
                 class_weight: str | None = "balanced", max_iter: int = 2000, cv: int = 5,
                 review_goal: str = "maximum recall @ precision >= 0.9 and fpr <= 0.01",
                 reject_goal: str = "maximum recall @ precision >= 0.98 and fpr <= 0.002",
                 fallback_goal: str = "maximum recall @ fpr <= 0.01", random_state: int = 0,
                 pooling_min_gain: float = 0.01, nb_alpha: float = 0.0, nb_power: float = 1.0):
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
        self.pooling_min_gain = pooling_min_gain
        self.nb_alpha = nb_alpha
        self.nb_power = nb_power

    def _classifier(self) -> LogisticRegression:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                  solver="liblinear", random_state=self.random_state)

    def fit(self, texts: Sequence[str], labels: Mapping[str, Sequence[float]], progress: Progress | None = None,
            groups: Sequence | None = None, select: Sequence[bool] | None = None):
        """``labels[rule][i]`` is 1, 0 or NaN (row ``i`` does not label ``rule``). Rows sharing a
        ``groups`` value are kept in the same fold, so near-copies never score each other.

        ``select`` marks the rows like those the model will judge (real news-site comments): a
        rule's pooling, calibration and thresholds are chosen on their out-of-fold scores, when they
        hold at least ``MIN_SELECTED`` positive and negative rows for it (else on all its rows; the
        thresholds say which)."""
        # scikit-learn only where something is learned (``moderation.estimator``).
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import average_precision_score
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        say = progress or (lambda message: None)
        texts = list(texts)
        self.rules_ = tuple(self.rules)
        say(f"fitting the TF-IDF feature space on {len(texts)} comments")
        self.features_ = clone(self.features) if self.features is not None else TextFeatures()
        self.features_.fit(texts)
        # Each comment analysed once: its sentence rows come from the same analysis.
        X, part_X, owners = self.features_.rows(self.features_.analyse(texts))
        pieces = (part_X, owners)
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
                coef, intercept = self._fit_rule(Xr[fit_idx], yr[fit_idx])
                oof_whole[held_idx] = Xr[held_idx] @ coef + intercept
                oof_pooled[held_idx] = self._pooled(coef, intercept, X, pieces, rows[held_idx])
            on, chosen_on = selection(yr, None if select is None else np.asarray(select, dtype=bool)[rows])
            ys = yr[on]
            ap_whole, ap_pooled = average_precision_score(ys, oof_whole[on]), average_precision_score(ys, oof_pooled[on])
            # Scoring sentences costs a quarter of a batch: kept only for a gain beyond noise.
            self.pooled_[j] = ap_pooled >= ap_whole + self.pooling_min_gain
            self.pooling_ap_[rule] = {"whole": round(float(ap_whole), 4), "pooled": round(float(ap_pooled), 4)}
            oof = (oof_pooled if self.pooled_[j] else oof_whole)[on]
            platt = LogisticRegression(C=1e4, solver="lbfgs").fit(oof.reshape(-1, 1), ys)
            a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            self.calibration_[j] = (a, b)
            self.thresholds_[rule] = choose_rule_thresholds(
                expit(a * oof + b), ys, *(g if isinstance(g, str) else g[rule]
                                          for g in (self.review_goal, self.reject_goal, self.fallback_goal)))
            self.thresholds_[rule]["chosen_on"] = chosen_on
            self.coef_[:, j], self.intercept_[j] = self._fit_rule(Xr, yr)
        self.compiled_ = self.features_.compile(self.coef_)
        return self

    def _fit_rule(self, X: sp.csr_matrix, y: np.ndarray) -> tuple[np.ndarray, float]:
        """One rule's coefficients over the unscaled columns, and its intercept. Fitted on the
        scaled columns, the regression's coefficients times the scale are the same decision values
        on unscaled rows: scoring never sees the scale."""
        scale = log_ratio_scale(X, y, self.features_.n_word_ + self.features_.n_char_, self.nb_alpha, self.nb_power)
        clf = self._classifier().fit(X if scale is None else X @ sp.diags(scale), y)
        coef = clf.coef_[0] if scale is None else clf.coef_[0] * scale
        return coef, float(clf.intercept_[0])

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

    def lookup_tables(self) -> list[tuple[object, str]]:
        """(holder, attribute) of the arrays scoring reads at random places: what
        ``memory.relocate`` moves onto huge pages at load."""
        f, c = self.features_, self.compiled_
        return [(f._tokens, "_slots"), (f._bigrams, "_slots"), (f._grams, "_slots"), (c, "word_ext"), (c, "token_ext"),
                (c, "char_ext"), (f, "unigram_col_"), (f, "bigram_cols_"), (f, "gram_cols_")]

    def check_feature_space(self) -> bool:
        """Whether this fitted model's feature space is the one this code computes."""
        from .features.dense import N_SIGNALS

        f = self.features_
        return f.n_features_ == f.n_word_ + f.n_char_ + N_SIGNALS == self.coef_.shape[0]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.features_.transform(list(texts))

    def score(self, texts: Sequence[str], scanned=None, links=None, ignore_domains=None) -> tuple[np.ndarray, Scored]:
        """Calibrated pooled scores, shape (n_comments, n_rules), and what evidence needs.
        ``scanned`` and ``links`` are the batch's scan and links when the caller made them already;
        ``ignore_domains`` the link domains to leave out (default: the features' own)."""
        parts = bool(self.pooled_.any())
        analysis = self.features_.analyse(list(texts), parts=parts, scanned=scanned, links=links,
                                          ignore_domains=ignore_domains)
        scored = score_batch(self.features_, self.compiled_, analysis, parts=parts)
        z = scored.z + self.intercept_
        if self.pooled_.any() and len(scored.parts_z):
            pooled = z.copy()
            np.maximum.at(pooled, scored.analysis.part_doc, scored.parts_z + self.intercept_)
            z = np.where(self.pooled_, pooled, z)
        return self._calibrated(z), scored

    def _calibrated(self, z: np.ndarray) -> np.ndarray:
        return expit(z * self.calibration_[:, 0] + self.calibration_[:, 1])

    def score_reference(self, texts: Sequence[str], ignore_domains=None) -> np.ndarray:
        """``score``'s probabilities the plain way: each comment's and sentence's row built one at a
        time in pure Python, then multiplied by the coefficients (tests hold the two equal)."""
        X, parts_X, owners = self.features_.rows_reference(list(texts), ignore_domains)
        z = np.asarray(X @ self.coef_) + self.intercept_
        if self.pooled_.any() and len(owners):
            zp = np.asarray(parts_X @ self.coef_) + self.intercept_
            pooled = z.copy()
            for d, row in zip(owners.tolist(), zp):
                pooled[d] = np.maximum(pooled[d], row)
            z = np.where(self.pooled_, pooled, z)
        return self._calibrated(z)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts)[0]

    def explain(self, text: str, rule: str, k: int = 5) -> list[tuple[int, int, float]]:
        """The words of ``text`` that raised ``rule``'s score most, as (start, end, weight)."""
        return self.evidence_batch(self.score([text])[1], [(0, rule)], k)[0]

    def evidence_batch(self, scored: Scored, flags: list[tuple[int, str]], k: int = 5) -> list[list[tuple[int, int, float]]]:
        """``moderation.evidence.choose`` for (comment, rule id) flags."""
        return evidence.choose(scored, [(i, self.rules_.index(rule)) for i, rule in flags], k)
