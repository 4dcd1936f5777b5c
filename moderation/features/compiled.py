"""Compiled scoring: a batch's decision values from per-token numbers, without building its rows.

With this feature space (see ``moderation.features``) a row's score is a sum over its tokens divided
by a sum over its tokens, so training compiles, per table token and per n-gram column, the idf x
coefficient of every rule and the idf^2 the token adds to its row's norm; a batch is then scored by
multiplying 0/1 matrices (which row holds which token or bigram) with those numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .. import accel
from .analysis import Analysis
from .dense import LINKS

if TYPE_CHECKING:
    from .vocabulary import TextFeatures


@dataclass
class Compiled:
    """Per-column numbers: (idf x coefficient of each rule, idf^2), so that one product gives a
    row's sums and its squared norm together."""

    word_ext: np.ndarray   # (n_word, rules + 1) per word column
    char_ext: np.ndarray   # (n_char, rules + 1) per character column
    token_ext: np.ndarray  # (n_table_tokens, rules + 1): each table token's character n-grams summed
    signals: np.ndarray    # (N_SIGNALS, rules): the coefficients of the dense signals

    @property
    def links(self) -> np.ndarray:
        return self.signals[LINKS]

    @property
    def word(self) -> np.ndarray:
        return self.word_ext[:, :-1]

    @property
    def token(self) -> np.ndarray:
        return self.token_ext[:, :-1]


_ONES = np.ones(0)


def _ones(n: int) -> np.ndarray:
    """n ones, as a read-only view of one array kept between batches (safe across threads: the
    slice is taken of the array this call checked or made)."""
    global _ONES
    ones = _ONES
    if len(ones) < n:
        ones = np.ones(max(n, 2 * len(ones)))
        ones.flags.writeable = False
        _ONES = ones
    return ones[:n]


def counts(group: np.ndarray, columns: np.ndarray, keep: np.ndarray, n_rows: int, n_columns: int) -> sp.csr_matrix:
    """(n_rows x n_columns) CSR with a 1 at (group, column) for every kept item, ``group``
    ascending among them. Repeated columns in a row are left unsummed: a product sums them."""
    g = group[keep]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix((_ones(len(g)), columns[keep], indptr), shape=(n_rows, n_columns), copy=False)




def compile_coefficients(features: "TextFeatures", coef: np.ndarray) -> Compiled:
    """Per-token and per-n-gram numbers that score a batch without building its rows."""
    # Each row: idf x coefficient for every rule, then idf^2 (what the row adds to its norm).
    word = np.column_stack([features.word_idf_[:, None] * coef[:features.n_word_], features.word_idf_ ** 2])
    char = np.column_stack([features.char_idf_[:, None] * coef[features.n_word_:features.n_word_ + features.n_char_],
                            features.char_idf_ ** 2])
    return Compiled(word_ext=word, char_ext=char, token_ext=np.asarray(features.table_matrix @ char),
                    signals=coef[features.n_word_ + features.n_char_:])



@dataclass
class Scored:
    """Decision values of a batch, and what evidence needs from them."""

    analysis: Analysis
    compiled: Compiled
    z: np.ndarray           # (n, rules) decision values of the comments (no intercept)
    parts_z: np.ndarray     # (n_parts, rules)
    oov_token: np.ndarray   # (n_oov, rules) character contributions of the tokens not in the table
    word_norm: np.ndarray   # per comment
    char_norm: np.ndarray
    signal_rows: np.ndarray  # (n, N_SIGNALS) the comments' dense signals
    _pair_at: tuple | None = None
    _units: object | None = None   # evidence's per-token shares of the signals, made on first use


def score_batch(features: "TextFeatures", compiled: Compiled, a: Analysis, parts: bool = True) -> Scored:
    """The decision values ``rows(...) @ coef`` of the analysed comments and (with ``parts``) of their
    sentence rows, from the compiled per-token numbers (tests hold them equal to 1e-9): each row's
    sums are products of a 0/1 matrix (which row holds which n-gram) with the compiled numbers."""
    s = a.scan
    n_tok = len(compiled.token_ext)
    rules = compiled.links.shape[1]
    m = len(s.doc)
    oov_ext = np.zeros((0, rules + 1))
    if len(a.oov):
        oov_ext = features.oov_sums(a, compiled.char_ext)
    oov_index = a.ext - n_tok
    keep = a.keep
    unigram = np.where(keep, a.unigram, -1)
    # A token's word items: its unigram, then the bigram it starts; in token order, so the rows
    # (comments, or sentences) stay ascending.
    starts_pair = np.full(m, -1, dtype=np.int64)
    starts_pair[a.pair_left] = a.pair_col

    def decisions(group, pair_starts, n_rows, signal_block):
        # Row sums of the rows' word items (unigram, then the bigram it starts), table tokens and
        # other tokens: the products of the 0/1 matrices ``counts`` describes, summed in one pass.
        words = accel.segment_sums(group, unigram, pair_starts, None, compiled.word_ext, n_rows)
        chars = accel.segment_sums(group, a.table, None, keep, compiled.token_ext, n_rows)
        if len(oov_ext):
            chars += accel.segment_sums(group, oov_index, None, keep, oov_ext, n_rows)
        wn, cn = np.sqrt(words[:, -1]), np.sqrt(chars[:, -1])
        wn[wn == 0] = 1.0
        cn[cn == 0] = 1.0
        z = words[:, :-1] / wn[:, None] + chars[:, :-1] / cn[:, None]
        return z + signal_block @ compiled.signals, wn, cn

    z, wn, cn = decisions(s.doc, starts_pair, a.n, a.signals.doc)
    parts_z = np.zeros((0, rules))
    if parts and len(a.part_doc):
        same = a.pair_parts() >= 0
        part_pairs = np.full(m, -1, dtype=np.int64)
        part_pairs[a.pair_left[same]] = a.pair_col[same]
        parts_z = decisions(a.part_of, part_pairs, len(a.part_doc), a.signals.part)[0]
    return Scored(analysis=a, compiled=compiled, z=z, parts_z=parts_z, oov_token=oov_ext[:, :-1], word_norm=wn,
                  char_norm=cn, signal_rows=a.signals.doc)
