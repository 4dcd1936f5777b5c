"""Feature rows built as matrices: for training, and (``transform_reference``) the plain definition,
one comment at a time in pure Python, that every fast path is tested against."""
from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..signals import find_links, link_features
from ..text import TOKEN_RE, char_ngrams, normalize as normalize_reference
from .analysis import Analysis, link_rows
from .compiled import counts

if TYPE_CHECKING:
    from .vocabulary import TextFeatures


def rows(features: "TextFeatures", a: Analysis) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Feature rows of the comments, of their sentence rows, and each sentence row's comment."""
    s = a.scan
    T = features.table_matrix
    if len(a.oov):
        T = sp.vstack([T, features.oov_matrix(a)], format="csr")
    q = T @ (features.char_idf_ ** 2)
    links_doc, links_part = link_rows(a)
    out = []
    for group, pair_group, n_rows, link_block in ((s.doc, s.doc[a.pair_left], a.n, links_doc),
                                                  (a.part_of, a.pair_parts(), len(a.part_doc), links_part)):
        words = _word_block(features, group, a.unigram, pair_group, a.pair_col, n_rows)
        D = counts(group, a.ext, group >= 0, n_rows, T.shape[0])
        chars = (D @ T).tocsr()
        chars.data *= features.char_idf_[chars.indices]
        norms = np.sqrt(np.asarray(D @ q).ravel())
        norms[norms == 0] = 1.0
        chars = sp.diags(1.0 / norms) @ chars
        out.append(sp.hstack([words, chars, sp.csr_matrix(link_block)], format="csr"))
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


def transform_reference(features: "TextFeatures", texts) -> sp.csr_matrix:
    """The plain definition of the feature rows, one comment at a time, in pure Python:
    the reference the fast paths are tested against."""
    vocabulary = features.char_vocabulary_
    table = {t: i for i, t in enumerate(features.terms_)}
    bigrams = dict(zip(features.bigram_keys_.tolist(), features.bigram_cols_.tolist()))
    rows = []
    for text in texts:
        toks = TOKEN_RE.findall(normalize_reference(text))
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
        for counts, idf, offset in ((word_counts, features.word_idf_, 0), (char_counts, features.char_idf_, features.n_word_)):
            norm = math.sqrt(sum(k * idf[c] ** 2 for c, k in counts.items())) or 1.0
            for c, k in counts.items():
                row[offset + c] = k * idf[c] / norm
        row[features.n_word_ + features.n_char_:] = link_features(find_links(text))
        rows.append(row)
    return sp.csr_matrix(np.asarray(rows).reshape(len(rows), features.n_features_))

