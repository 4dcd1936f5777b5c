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
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .errors import DataError
from .features import Scored, TextFeatures, score_batch
from .rulebook import LEARNED_RULES
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
        self.compiled_ = self.features_.compile(self.coef_)
        return self

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

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, Scored]:
        """Calibrated pooled scores, shape (n_comments, n_rules), and what evidence needs."""
        scored = score_batch(self.features_, self.compiled_, list(texts), parts=bool(self.pooled_.any()))
        z = scored.z + self.intercept_
        if self.pooled_.any() and len(scored.parts_z):
            pooled = z.copy()
            np.maximum.at(pooled, scored.analysis.part_doc, scored.parts_z + self.intercept_)
            z = np.where(self.pooled_, pooled, z)
        return self._calibrated(z), scored

    def _calibrated(self, z: np.ndarray) -> np.ndarray:
        return expit(z * self.calibration_[:, 0] + self.calibration_[:, 1])

    def score_reference(self, texts: Sequence[str]) -> np.ndarray:
        """``score``'s probabilities the plain way: each comment's and sentence's row built one at a
        time in pure Python, then multiplied by the coefficients (tests hold the two equal)."""
        texts = list(texts)
        features = self.features_
        z = np.asarray(features.transform_reference(texts) @ self.coef_) + self.intercept_
        if self.pooled_.any():
            a = features.analyse(texts)
            pieces = [texts[d][start:end] for d, (start, end) in zip(a.part_doc.tolist(), a.part_span.tolist())]
            if pieces:
                zp = np.asarray(features.transform_reference(pieces) @ self.coef_) + self.intercept_
                pooled = z.copy()
                for d, row in zip(a.part_doc.tolist(), zp):
                    pooled[d] = np.maximum(pooled[d], row)
                z = np.where(self.pooled_, pooled, z)
        return self._calibrated(z)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts)[0]

    def explain(self, text: str, rule: str, k: int = 5) -> list[tuple[int, int, float]]:
        return self.evidence(self.score([text])[1], 0, rule, k)

    def evidence(self, scored: Scored, i: int, rule: str, k: int = 5) -> list[tuple[int, int, float]]:
        """The words (or links) of comment ``i`` that raised ``rule``'s score most, as (start, end, weight).

        With this feature space a comment's decision value is exactly a sum over its tokens (a
        word's unigram, half of each bigram it is in, its character n-grams) plus its links' share,
        so each word's weight is its own term of that sum. Words inside a link count as the link.
        """
        return self.evidence_batch(scored, [(i, rule)], k)[0]

    def evidence_batch(self, scored: Scored, flags: list[tuple[int, str]], k: int = 5) -> list[list[tuple[int, int, float]]]:
        """``evidence`` of many (comment, rule) flags at once: one weight per shown unit (a word, or
        a link with the words inside it), every flag's top units chosen by one sort. Tests hold it
        equal to ``_evidence_one``, the same choice made word by word."""
        if not flags:
            return []
        a = scored.analysis
        docs = np.asarray([i for i, _ in flags], dtype=np.int64)
        rules = np.asarray([self.rules_.index(rule) for _, rule in flags], dtype=np.int64)
        first = a.first_tokens()
        lo, hi = first[docs], first[docs + 1]
        sizes = hi - lo
        owner = np.repeat(np.arange(len(flags)), sizes)
        offsets = np.cumsum(sizes) - sizes
        tokens = np.arange(int(sizes.sum())) - np.repeat(offsets, sizes) + np.repeat(lo, sizes)
        weights = scored.token_weights(tokens, rules[owner])
        starts, ends = a.scan.start[tokens], a.scan.end[tokens]
        quiet = scored.quiet(tokens)
        linked = [f for f, i in enumerate(docs.tolist()) if i in a.links]
        if linked:
            # Words inside a link are shown as the link, which also gets the link signals' share.
            extra_owner, extra_weight, extra_start, extra_end = [], [], [], []
            for f in linked:
                i, j = int(docs[f]), int(rules[f])
                links = a.links[i]
                part = slice(int(offsets[f]), int(offsets[f] + sizes[f]))
                for link in links:
                    inside = (starts[part] >= link.start) & (ends[part] <= link.end)
                    starts[part][inside], ends[part][inside], quiet[part][inside] = link.start, link.end, False
                share = float(scored.link_rows[i] @ self.compiled_.links[:, j]) / len(links)
                for link in links:
                    extra_owner.append(f)
                    extra_weight.append(share)
                    extra_start.append(link.start)
                    extra_end.append(link.end)
            # Only the linked flags' entries are merged into units; the rest stay one per word.
            mine = np.isin(owner, linked)
            lo_owner = np.concatenate([owner[mine], extra_owner]).astype(np.int64)
            lo_weights = np.concatenate([weights[mine], extra_weight])
            lo_starts = np.concatenate([starts[mine], extra_start]).astype(np.int64)
            lo_ends = np.concatenate([ends[mine], extra_end]).astype(np.int64)
            lo_quiet = np.concatenate([quiet[mine], np.zeros(len(extra_owner), dtype=bool)])
            order = np.lexsort((lo_starts, lo_owner))
            lo_owner, lo_weights, lo_starts, lo_ends, lo_quiet = (x[order] for x in (lo_owner, lo_weights, lo_starts,
                                                                                     lo_ends, lo_quiet))
            unit_start = np.ones(len(lo_owner), dtype=bool)
            unit_start[1:] = (lo_owner[1:] != lo_owner[:-1]) | (lo_starts[1:] != lo_starts[:-1])
            at = np.flatnonzero(unit_start)
            lo_weights = np.add.reduceat(lo_weights, at) if len(at) else lo_weights
            rest = ~mine
            groups = [(owner[rest], weights[rest], starts[rest], ends[rest], quiet[rest]),
                      (lo_owner[at], lo_weights, lo_starts[at], lo_ends[at], lo_quiet[at])]
        else:
            groups = [(owner, weights, starts, ends, quiet)]
        out: list[list[tuple[int, int, float]]] = [[] for _ in flags]
        for owner, weights, starts, ends, quiet in groups:
            self._top(out, owner, weights, starts, ends, quiet, k)
        return out

    @staticmethod
    def _top(out, owner, weights, starts, ends, quiet, k):
        """Append to ``out[flag]`` the flag's top ``k`` positive, not quiet units, heaviest first
        (ties in text order), down to 5% of the heaviest. Entries come in (flag, text) order."""
        keep = (weights > 0) & ~quiet
        owner, weights, starts, ends = owner[keep], weights[keep], starts[keep], ends[keep]
        # Stable sorts: by weight, then by flag, keeps text order among equal weights.
        order = np.argsort(-weights, kind="stable")
        order = order[np.argsort(owner[order], kind="stable")]
        owner, weights, starts, ends = owner[order], weights[order], starts[order], ends[order]
        group_start = np.searchsorted(owner, owner)          # first entry of each entry's flag
        chosen = ((np.arange(len(owner)) - group_start) < k) & (weights >= 0.05 * weights[group_start])
        for o, st, en, w in zip(owner[chosen].tolist(), starts[chosen].tolist(), ends[chosen].tolist(),
                                weights[chosen].tolist()):
            out[o].append((st, en, w))

    def _evidence_one(self, scored: Scored, i: int, rule: str, k: int) -> list[tuple[int, int, float]]:
        """One flag's evidence, word by word: the plain form of ``evidence_batch``, which tests hold
        it equal to."""
        j = self.rules_.index(rule)
        a = scored.analysis
        span = a.tokens_of(i)
        tokens = np.arange(span.start, span.stop)
        weights = scored.token_weights(tokens, np.full(len(tokens), j))
        quiet_tokens = scored.quiet(tokens)
        links = a.links.get(i, ())
        weight: dict[tuple[int, int], float] = defaultdict(float)
        quiet = set()
        for start, end, w, q in zip(a.scan.start[tokens].tolist(), a.scan.end[tokens].tolist(), weights.tolist(),
                                    quiet_tokens.tolist()):
            unit = next(((l.start, l.end) for l in links if l.start <= start and end <= l.end), (start, end))
            weight[unit] += w
            if q and unit == (start, end):
                quiet.add(unit)
        share = float(scored.link_rows[i] @ self.compiled_.links[:, j]) / len(links) if links else 0.0
        for link in links:
            weight[(link.start, link.end)] += share
        ranked = sorted(((span_, w) for span_, w in weight.items() if w > 0 and span_ not in quiet),
                        key=lambda item: (-item[1], item[0]))
        if not ranked:
            return []
        floor = 0.05 * ranked[0][1]
        return [(s_, e, w) for (s_, e), w in ranked[:k] if w >= floor]
