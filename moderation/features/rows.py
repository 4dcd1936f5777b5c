"""Feature rows built as matrices: for training, and (``transform_reference``) the plain definition,
one comment at a time in pure Python, that every fast path is tested against."""
from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..text import char_ngrams
from .analysis import Analysis
from .compiled import counts
from .dense import N_SIGNALS, signals_reference

if TYPE_CHECKING:
    from .vocabulary import TextFeatures


def rows(features: "TextFeatures", a: Analysis) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Feature rows of the comments, of their sentence rows, and each sentence row's comment."""
    s = a.scan
    T = features.table_matrix
    if len(a.oov):
        T = sp.vstack([T, features.oov_matrix(a)], format="csr")
    q = T @ (features.char_idf_ ** 2)
    out = []
    doc_group = np.where(a.keep, s.doc, -1)
    part_group = np.where(a.keep, a.part_of, -1)
    for group, pair_group, n_rows, signal_block in ((doc_group, s.doc[a.pair_left], a.n, a.signals.doc),
                                                    (part_group, a.pair_parts(), len(a.part_doc), a.signals.part)):
        words = _word_block(features, group, a.unigram, pair_group, a.pair_col, n_rows)
        D = counts(group, a.ext, group >= 0, n_rows, T.shape[0])
        chars = (D @ T).tocsr()
        chars.data *= features.char_idf_[chars.indices]
        norms = np.sqrt(np.asarray(D @ q).ravel())
        norms[norms == 0] = 1.0
        chars = sp.diags(1.0 / norms) @ chars
        out.append(sp.hstack([words, chars, sp.csr_matrix(signal_block)], format="csr"))
    return out[0], out[1], a.part_doc


def _word_block(features: "TextFeatures", group, unigram, pair_group, pair_col, n_rows) -> sp.csr_matrix:
    u = (group >= 0) & (unigram >= 0)
    b = (pair_group >= 0) & (pair_col >= 0)
    rows = np.concatenate([group[u], pair_group[b]])
    cols = np.concatenate([unigram[u], pair_col[b]])
    W = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, features.n_word_))
    W.sum_duplicates()
    norms = np.sqrt(np.asarray(W @ (features.word_idf_ ** 2)).ravel())
    norms[norms == 0] = 1.0
    W.data *= features.word_idf_[W.indices]
    return sp.diags(1.0 / norms) @ W


def _ngram_row(features: "TextFeatures", toks: list[str], table: dict, bigrams: dict) -> np.ndarray:
    """The word and character blocks of one row from its tokens, by the definition."""
    vocabulary = features.char_vocabulary_
    words = [t for t in toks if len(t) > 1]
    word_counts: Counter = Counter()
    for t in words:
        col = features.unigram_col_[table[t]] if t in table else -1
        if col >= 0:
            word_counts[int(col)] += 1
    if features.word_ngram_range[1] == 2:
        n_tok = len(features.terms_)
        for x, y in zip(words, words[1:]):
            if x in table and y in table and (col := bigrams.get(table[x] * n_tok + table[y])) is not None:
                word_counts[col] += 1
    char_counts = Counter(c for t in toks for g in char_ngrams(t, *features.char_ngram_range)
                          if (c := vocabulary.get(g)) is not None)
    row = np.zeros(features.n_features_)
    for found, idf, offset in ((word_counts, features.word_idf_, 0), (char_counts, features.char_idf_, features.n_word_)):
        norm = math.sqrt(sum(k * idf[c] ** 2 for c, k in found.items())) or 1.0
        for c, k in found.items():
            row[offset + c] = k * idf[c] / norm
    return row


def transform_reference(features: "TextFeatures", texts, ignore_domains=None
                        ) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """The plain definition of the rows, one comment at a time, in pure Python: each comment's row
    and its sentence rows (when it has two sentences or more), from its tokens and signals."""
    table = {t: i for i, t in enumerate(features.terms_)}
    bigrams = dict(zip(features.bigram_keys_.tolist(), features.bigram_cols_.tolist()))
    ignore = tuple(features.ignore_link_domains if ignore_domains is None else ignore_domains)
    doc_rows, part_rows, owners = [], [], []
    signal_at = features.n_word_ + features.n_char_
    for d, text in enumerate(texts):
        tokens, keep, segments, whole, parts = signals_reference(text, features.lexicon, ignore)
        row = _ngram_row(features, [t for (t, _, _), k in zip(tokens, keep) if k], table, bigrams)
        row[signal_at:] = whole
        doc_rows.append(row)
        for seg, signals in parts:
            part = _ngram_row(features, [tokens[i][0] for i in seg if keep[i]], table, bigrams)
            part[signal_at:] = signals
            part_rows.append(part)
            owners.append(d)
    width = features.n_features_
    assert width == signal_at + N_SIGNALS
    return (sp.csr_matrix(np.asarray(doc_rows).reshape(len(doc_rows), width)),
            sp.csr_matrix(np.asarray(part_rows).reshape(len(part_rows), width)), np.asarray(owners, dtype=np.int64))
