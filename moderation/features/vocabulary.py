"""The fitted vocabulary of the one feature space: the token table, word n-grams, character n-grams.

``TextFeatures`` is a scikit-learn-style transformer (``moderation.estimator``): parameters in
``__init__``, the vocabulary and idf learned in ``fit`` (attributes ending in ``_``). How a batch
is analysed, turned into rows and scored lives in the sibling modules; the methods here are their
entry points.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from .. import accel
from ..estimator import Transformer
from ..hashindex import HashIndex
from ..lexicon import Lexicon
from ..scan import Scan, gram_hashes, gram_hashes_at, normalize, scan, token_hash
from ..signals import Link
from ..text import char_ngrams
from . import analysis as _analysis, compiled as _compiled, rows as _rows
from .analysis import Analysis
from .dense import CUES_LEXICON, N_SIGNALS


@lru_cache(maxsize=4)
def _both_lexicons(lexicon: Lexicon) -> Lexicon:
    """The lexicon's tiers followed by the cue classes: a token's first match, in one pass."""
    return Lexicon(lexicon.tiers + CUES_LEXICON.tiers, "lexicon and cue words")


def _oov_terms(a: Analysis) -> list[str]:
    """The normalised text of the batch's tokens that are not in the table."""
    return a.oov_terms()


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    # scikit-learn's smoothed idf
    return np.log((1.0 + n) / (1.0 + df)) + 1.0



class TextFeatures(Transformer):
    """Word and character n-gram features plus dense signals (links, lexicon hits, accusation
    cues; see ``signals``), fitted once and shared by every rule.

    Parameters
    ----------
    word_ngram_range : (1, 1) or (1, 2); words of one character are skipped.
    char_ngram_range : (low, high) character n-gram sizes inside words.
    min_df : an n-gram (and a token of the token table) must occur in this many comments.
    max_word_features, max_char_features : keep this many n-grams, the most frequent.
    lexicon : the foul-language ``Lexicon`` whose hits are signals (None: no lexicon signals).
    ignore_link_domains : links to these domains (and their subdomains), and the words inside
        them, are left out of every row: reference sites and the outlet's own.
    """

    def __init__(self, word_ngram_range=(1, 2), char_ngram_range=(2, 5), min_df=2,
                 max_word_features=100_000, max_char_features=200_000, lexicon=None, ignore_link_domains=()):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.lexicon = lexicon
        self.ignore_link_domains = ignore_link_domains

    # --- fitting ---------------------------------------------------------------------------------

    def fit(self, texts, y=None):
        texts = list(texts)
        lo, hi = self.word_ngram_range
        if lo != 1 or hi not in (1, 2):
            raise ValueError(f"word_ngram_range must be (1, 1) or (1, 2), got {self.word_ngram_range!r}")
        n = len(texts)
        s = scan(texts)
        hashes, first, inverse = np.unique(s.hash, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        df = np.bincount(np.unique(inverse * n + s.doc) // n, minlength=len(hashes))
        normalized: dict[int, str] = {}

        def term(i: int) -> str:
            d = int(s.doc[i])
            if d not in normalized:
                normalized[d] = normalize(texts[d])
            return normalized[d][s.start[i]:s.end[i]]

        terms = [term(i) for i in first]
        # The token table: every token in at least min_df comments (the others are looked up by
        # their characters when met).
        keep = np.flatnonzero(df >= self.min_df)
        self.hashes_ = hashes[keep]
        self.terms_ = [terms[i] for i in keep]
        row_of = np.full(len(hashes), -1, dtype=np.int64)
        row_of[keep] = np.arange(len(keep))
        tid = row_of[inverse]
        n_tok = len(keep)

        # Word n-grams: unigrams are table tokens longer than one character; bigrams join
        # neighbouring such words of one comment.
        long_ = (s.end - s.start) > 1
        candidates = [(0, int(t), int(df[keep[t]])) for t in range(n_tok) if len(self.terms_[t]) > 1]
        if hi == 2:
            left, right = _analysis.pairs(s.doc, long_)
            both = (tid[left] >= 0) & (tid[right] >= 0)
            keys = tid[left[both]] * n_tok + tid[right[both]]
            pair_df = np.unique(keys * n + s.doc[left[both]]) // n
            bkeys, bdf = np.unique(pair_df, return_counts=True)
            sel = bdf >= self.min_df
            candidates += [(1, int(k), int(c)) for k, c in zip(bkeys[sel], bdf[sel])]
        candidates.sort(key=lambda c: (-c[2], c[0], c[1]))
        candidates = sorted(candidates[:self.max_word_features], key=lambda c: (c[0], c[1]))
        self.unigram_col_ = np.full(n_tok, -1, dtype=np.int64)
        bigram = [(k, col) for col, (kind, k, _) in enumerate(candidates) if kind == 1]
        for col, (kind, k, _) in enumerate(candidates):
            if kind == 0:
                self.unigram_col_[k] = col
        self.bigram_keys_ = np.asarray([k for k, _ in bigram], dtype=np.int64)
        self.bigram_cols_ = np.asarray([c for _, c in bigram], dtype=np.int64)
        self.word_idf_ = _idf(np.asarray([c[2] for c in candidates], dtype=np.float64), n)
        self.n_word_ = len(candidates)

        # Character n-grams: a gram's frequency is the summed comment frequency of the distinct
        # tokens holding it (every token, in the table or not).
        gram_df: Counter = Counter()
        for t, d in zip(terms, df.tolist()):
            for gram in set(char_ngrams(t, *self.char_ngram_range)):
                gram_df[gram] += d
        grams = [(g, c) for g, c in gram_df.items() if c >= self.min_df]
        grams.sort(key=lambda gc: (-gc[1], gc[0]))
        grams = sorted(grams[:self.max_char_features])
        self.char_vocabulary_ = {g: i for i, (g, _) in enumerate(grams)}
        hashes_of = np.asarray([token_hash(g) for g, _ in grams], dtype=np.uint64)
        order = np.argsort(hashes_of)
        self.gram_hashes_, self.gram_cols_ = hashes_of[order], order.astype(np.int64)
        self.char_idf_ = _idf(np.minimum(np.asarray([c for _, c in grams], dtype=np.float64), n), n)
        self.n_char_ = len(grams)
        self.n_features_ = self.n_word_ + self.n_char_ + N_SIGNALS
        self.table_action_, self.table_cue_ = self._classes(self.terms_)
        self._derive()
        return self

    def _classes(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each term's lexicon action (index in ``lexicon.ACTIONS``) and cue class, or -1."""
        if not len(terms):
            return np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int8)
        if self.lexicon is not None:
            # One pass for both: the lexicon's tiers, then the cue classes after them. A lexicon hit
            # may be a cue word too (hits are few): those are looked up again among the cues.
            both = _both_lexicons(self.lexicon).tiers_of(terms)
            n_lexicon = len(self.lexicon.tiers)
            hit = (both >= 0) & (both < n_lexicon)
            action = np.where(hit, self.lexicon.actions()[np.where(hit, both, 0)], -1)
            cue = np.where(both >= n_lexicon, both - n_lexicon, -1)
            if hit.any():
                index = np.flatnonzero(hit)
                cue[index] = CUES_LEXICON.tiers_of([terms[i] for i in index])
        else:
            action = np.full(len(terms), -1, dtype=np.int64)
            cue = CUES_LEXICON.tiers_of(terms)
        return action.astype(np.int8), cue.astype(np.int8)

    def token_classes(self, a: Analysis) -> tuple[np.ndarray, np.ndarray]:
        """Lexicon action and cue class of every token of an analysed batch (-1: none)."""
        oov_terms = _oov_terms(a)
        oov_action, oov_cue = self._classes(oov_terms)
        # Gathered as bytes (the tables stay in cache), widened afterwards.
        action = np.concatenate([self.table_action_, oov_action]).astype(np.int8, copy=False)
        cue = np.concatenate([self.table_cue_, oov_cue]).astype(np.int8, copy=False)
        return action[a.ext].astype(np.int64), cue[a.ext].astype(np.int64)

    def _derive(self):
        """State recomputed after fitting and after unpickling, never stored."""
        self._T = None
        self._tokens = HashIndex(self.hashes_)
        self._grams = HashIndex(self.gram_hashes_)
        self._bigrams = HashIndex(self.bigram_keys_.astype(np.uint64))
        # Which tokens begin or end some bigram: most neighbouring pairs need no lookup at all.
        n_tok = len(self.hashes_)
        self._bigram_first = np.zeros(n_tok, dtype=bool)
        self._bigram_second = np.zeros(n_tok, dtype=bool)
        if n_tok:
            self._bigram_first[self.bigram_keys_ // n_tok] = True
            self._bigram_second[self.bigram_keys_ % n_tok] = True

    def token_matrix(self, terms) -> sp.csr_matrix:
        """Counts of each character column in each of ``terms`` (tokens), found by the hashes of
        their n-grams (64-bit: the reference path, which looks the strings up, agrees)."""
        return self._gram_matrix(*gram_hashes(list(terms), *self.char_ngram_range), len(terms))

    def oov_matrix(self, a: "Analysis") -> sp.csr_matrix:
        """``token_matrix`` of the batch's tokens that are not in the table."""
        s = a.scan
        owner, hashes = gram_hashes_at(a.texts, s.doc[a.oov], s.start[a.oov], s.end[a.oov], *self.char_ngram_range)
        return self._gram_matrix(owner, hashes, len(a.oov))

    def oov_sums(self, a: "Analysis", ext: np.ndarray) -> np.ndarray:
        """``oov_matrix(a) @ ext`` in one pass over the n-grams (the same sums, in the same order)."""
        owner, hashes = gram_hashes(a.oov_terms(), *self.char_ngram_range)
        at = self._grams.lookup(hashes)
        columns = np.where(at >= 0, self.gram_cols_[np.maximum(at, 0)], -1)
        return accel.segment_sums(owner, columns, None, None, ext, len(a.oov))

    def _gram_matrix(self, owner: np.ndarray, hashes: np.ndarray, n_rows: int) -> sp.csr_matrix:
        # owner ascends, so the rows are built directly; repeated grams stay unsummed (a product sums them)
        at = self._grams.lookup(hashes)
        hit = at >= 0
        return _compiled.counts(owner, self.gram_cols_[np.where(hit, at, 0)], hit, n_rows, self.n_char_)

    @property
    def table_matrix(self) -> sp.csr_matrix:
        if getattr(self, "_T", None) is None:
            self._T = self.token_matrix(self.terms_)
        return self._T

    # Pickling: the token table and character vocabulary (hundreds of thousands of strings) are
    # stored as one string each; unpickling a dict or list of that size is most of a load. The
    # character vocabulary is only read by the reference path, so it is rebuilt on first use.
    @property
    def char_vocabulary_(self) -> dict[str, int]:
        vocabulary = self.__dict__.get("_char_vocabulary")
        if vocabulary is None:
            packed = self.__dict__.get("_char_vocabulary_packed")
            if packed is None:
                raise AttributeError("char_vocabulary_: TextFeatures is not fitted")
            vocabulary = {g: i for i, g in enumerate(packed.split("\x00"))} if packed else {}
            self.__dict__["_char_vocabulary"] = vocabulary
        return vocabulary

    @char_vocabulary_.setter
    def char_vocabulary_(self, vocabulary: dict[str, int]) -> None:
        self.__dict__["_char_vocabulary"] = vocabulary
        self.__dict__.pop("_char_vocabulary_packed", None)

    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in ("_T", "_tokens", "_bigrams", "_grams", "_bigram_first", "_bigram_second"):
            state.pop(name, None)
        vocabulary, packed = state.pop("_char_vocabulary", None), state.pop("_char_vocabulary_packed", None)
        if "terms_" in state:
            state["terms_"] = "\x00".join(state["terms_"])
            if vocabulary is not None:
                grams = [""] * len(vocabulary)
                for g, c in vocabulary.items():
                    grams[c] = g
                packed = "\x00".join(grams)
            state["char_vocabulary_"] = packed
        return state

    def __setstate__(self, state):
        if isinstance(state.get("terms_"), str):
            state["terms_"] = state["terms_"].split("\x00") if state["terms_"] else []
            state["_char_vocabulary_packed"] = state.pop("char_vocabulary_")
        super().__setstate__(state)
        if "terms_" in state:
            self._derive()

    # --- analysis --------------------------------------------------------------------------------

    # --- analysis, rows and compiled numbers (see the sibling modules) --------------------------

    def analyse(self, texts: list[str], parts: bool = True, scanned: Scan | None = None,
                links: dict[int, tuple[Link, ...]] | None = None, ignore_domains=None) -> Analysis:
        return _analysis.analyse(self, texts, parts, scanned, links, ignore_domains)

    def transform(self, texts) -> sp.csr_matrix:
        return _rows.rows(self, self.analyse(list(texts)))[0]

    def rows(self, a: Analysis) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """Feature rows of the comments, of their sentence rows, and each sentence row's comment."""
        return _rows.rows(self, a)

    def transform_reference(self, texts, ignore_domains=None) -> sp.csr_matrix:
        """The plain definition of the comments' rows, one comment at a time in pure Python."""
        return _rows.transform_reference(self, texts, ignore_domains)[0]

    def rows_reference(self, texts, ignore_domains=None) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """``rows`` the plain way: comments' rows, their sentence rows, and each sentence row's comment."""
        return _rows.transform_reference(self, texts, ignore_domains)

    def compile(self, coef: np.ndarray) -> "_compiled.Compiled":
        """Per-token and per-n-gram numbers that score a batch without building its rows."""
        return _compiled.compile_coefficients(self, coef)
