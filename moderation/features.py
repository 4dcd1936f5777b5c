"""The one TF-IDF feature space shared by every learned rule.

Word 1-2-grams and character n-grams (within words, so ``f*ck`` and ``sh1t`` share most of their
n-grams with the words they disguise) over the normalised text, plus three link signals so the
``promotional`` rule sees how many links a comment has. Every feature can be traced back to the
spans of the original comment it came from; that is how the evidence is built.
"""
from __future__ import annotations

import copy
from collections import Counter, defaultdict

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from .signals import find_links, link_features
from .text import normalize, tokens

N_LINK_FEATURES = 3


class WordNgrams:
    """Analyzer for TfidfVectorizer: word n-grams of a token list (words of one letter skipped)."""

    def __init__(self, n_min: int = 1, n_max: int = 2):
        self.n_min, self.n_max = n_min, n_max

    def __call__(self, words: list[str]) -> list[str]:
        words = [w for w in words if len(w) > 1]
        out: list[str] = []
        for n in range(self.n_min, self.n_max + 1):
            if n == 1:
                out.extend(words)
            else:
                out.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
        return out

    def with_positions(self, toks: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        toks = [t for t in toks if len(t[0]) > 1]
        out = []
        for n in range(self.n_min, self.n_max + 1):
            for i in range(len(toks) - n + 1):
                part = toks[i:i + n]
                out.append((" ".join(t[0] for t in part), part[0][1], part[-1][2]))
        return out


class CharNgrams:
    """Analyzer for TfidfVectorizer: character n-grams inside each word, padded with spaces."""

    def __init__(self, n_min: int = 2, n_max: int = 5):
        self.n_min, self.n_max = n_min, n_max

    def __call__(self, words: list[str]) -> list[str]:
        out: list[str] = []
        for word in words:
            padded = f" {word} "
            size = len(padded)
            for n in range(self.n_min, min(self.n_max, size) + 1):
                out.extend(padded[i:i + n] for i in range(size - n + 1))
        return out

    def with_positions(self, toks: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        # An n-gram is attributed to the whole word it came from: evidence shows words, not shards.
        return [(gram, start, end) for word, start, end in toks for gram in self([word])]


class TextFeatures(TransformerMixin, BaseEstimator):
    """Word and character TF-IDF plus link signals, fitted once and shared by every rule."""

    def __init__(self, word_ngram_range=(1, 2), char_ngram_range=(2, 5), min_df=2,
                 max_word_features=100_000, max_char_features=200_000, sublinear_tf=True):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.sublinear_tf = sublinear_tf

    # Pickling: each vocabulary (hundreds of thousands of terms) is stored as one string of terms in
    # column order. joblib unpickles with Python's own unpickler, for which a dict of that size (with
    # NumPy integers as values) is most of a model's load time; one string is nearly free.
    _PACKED = ("word_", "char_")

    def __getstate__(self):
        state = dict(super().__getstate__())  # for our classes it is the live __dict__
        for name in self._PACKED:
            vectorizer = state.get(name)
            if vectorizer is None or not hasattr(vectorizer, "vocabulary_"):
                continue
            terms = [""] * len(vectorizer.vocabulary_)
            for term, column in vectorizer.vocabulary_.items():
                terms[column] = term
            light = copy.copy(vectorizer)
            del light.vocabulary_
            state[name] = light
            state[name + "terms"] = "\x00".join(terms)
        return state

    def __setstate__(self, state):
        for name in self._PACKED:
            packed = state.pop(name + "terms", None)
            if packed is not None:
                state[name].vocabulary_ = {term: column for column, term in enumerate(packed.split("\x00"))}
        super().__setstate__(state)

    def _vectorizer(self, analyzer, max_features):
        return TfidfVectorizer(analyzer=analyzer, min_df=self.min_df, max_features=max_features,
                               sublinear_tf=self.sublinear_tf, dtype=np.float64)

    @staticmethod
    def _words(texts) -> list[list[str]]:
        return [[t[0] for t in tokens(normalize(text))] for text in texts]

    def fit(self, texts, y=None):
        words = self._words(texts)
        self.word_ = self._vectorizer(WordNgrams(*self.word_ngram_range), self.max_word_features).fit(words)
        self.char_ = self._vectorizer(CharNgrams(*self.char_ngram_range), self.max_char_features).fit(words)
        for vectorizer in (self.word_, self.char_):
            # Every n-gram pruned by min_df/max_features; needed for nothing and can be most of the pickle.
            if hasattr(vectorizer, "stop_words_"):
                del vectorizer.stop_words_
        self.n_word_ = len(self.word_.vocabulary_)
        self.n_char_ = len(self.char_.vocabulary_)
        self.n_features_ = self.n_word_ + self.n_char_ + N_LINK_FEATURES
        return self

    def transform(self, texts) -> sp.csr_matrix:
        """The feature rows of ``texts``: the same numbers as ``transform_reference``, computed
        without scikit-learn's per-call input checks, which cost more than the arithmetic when
        scoring one comment at a time (tests hold the two equal to 1e-9)."""
        texts = list(texts)
        return self.transform_with_parts(texts, [[] for _ in texts])[0]

    def transform_with_parts(self, texts, parts: list[list[tuple[int, int]]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Rows for ``texts`` and for the given parts of each (sentence spans, in text order).

        Parts end and start at white space, so a part's n-grams are exactly the text's n-grams
        that lie inside it: each text is analysed once and its parts are slices of that analysis,
        not second analyses (the same numbers as ``transform`` of the part texts; tests hold it).
        """
        word_vocabulary, char_vocabulary = self.word_.vocabulary_, self.char_.vocabulary_
        word_ngrams, char_ngrams = self.word_.analyzer, self.char_.analyzer
        doc_words, doc_chars, part_words, part_chars, part_texts = [], [], [], [], []
        for text, spans in zip(texts, parts):
            toks = tokens(normalize(text))
            words = [(c, s, e) for term, s, e in word_ngrams.with_positions(toks)
                     if (c := word_vocabulary.get(term)) is not None]
            chars = [(c, s, e) for word, s, e in toks for gram in char_ngrams([word])
                     if (c := char_vocabulary.get(gram)) is not None]
            doc_words.append(Counter(c for c, _, _ in words))
            doc_chars.append(Counter(c for c, _, _ in chars))
            for a, b in spans:
                part_words.append(Counter(c for c, s, e in words if a <= s and e <= b))
                part_chars.append(Counter(c for c, s, e in chars if a <= s and e <= b))
                part_texts.append(text[a:b])
        return self._assemble(doc_words + part_words, doc_chars + part_chars, list(texts) + part_texts, len(texts))

    def transform_reference(self, texts) -> sp.csr_matrix:
        """The plain scikit-learn path, kept as the reference the fast path is tested against."""
        words = self._words(texts)
        return sp.hstack([self.word_.transform(words), self.char_.transform(words),
                          sp.csr_matrix(self._link_rows(texts))], format="csr")

    @staticmethod
    def _link_rows(texts) -> np.ndarray:
        rows = np.array([link_features(find_links(text)) for text in texts], dtype=np.float64)
        return rows.reshape(len(texts), N_LINK_FEATURES)

    @staticmethod
    def _weights(vectorizer: TfidfVectorizer, rows: list[dict[int, int]]):
        """Sublinear tf x idf, l2-normalised, from each row's column counts: the flat column and
        value arrays of all rows, and each row's length."""
        indices, counts, lengths = [], [], []
        for found in rows:
            columns = sorted(found)
            indices.extend(columns)
            counts.extend(found[c] for c in columns)
            lengths.append(len(columns))
        indices_ = np.asarray(indices, dtype=np.int32)
        data = np.asarray(counts, dtype=np.float64)
        lengths_ = np.asarray(lengths, dtype=np.int64)
        if vectorizer.sublinear_tf:
            np.log(data, data)
            data += 1
        data *= vectorizer.idf_[indices_]
        starts = np.concatenate([[0], np.cumsum(lengths_)[:-1]]).astype(np.int64)
        squares = np.add.reduceat(data * data, starts[lengths_ > 0]) if data.size else np.zeros(0)
        norms = np.ones(len(rows))
        norms[lengths_ > 0] = np.sqrt(squares)
        norms[norms == 0] = 1.0
        data /= np.repeat(norms, lengths_)
        return indices_, data, lengths_

    def _assemble(self, word_rows, char_rows, texts, n_first: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """One CSR matrix of word, character and link columns for every row, split after
        ``n_first`` rows: built from flat arrays, since scipy's hstack and row indexing cost more
        than the arithmetic for a single comment."""
        wi, wd, wl = self._weights(self.word_, word_rows)
        ci, cd, cl = self._weights(self.char_, char_rows)
        links = self._link_rows(texts)
        lr, lc = np.nonzero(links)
        n = len(texts)
        rows = np.concatenate([np.repeat(np.arange(n), wl), np.repeat(np.arange(n), cl), lr])
        cols = np.concatenate([wi, ci + self.n_word_, lc + self.n_word_ + self.n_char_]).astype(np.int32)
        data = np.concatenate([wd, cd, links[lr, lc]])
        order = np.argsort(rows, kind="stable")   # blocks keep their order: columns ascend in a row
        cols, data = cols[order], data[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
        cut = int(indptr[n_first])
        shape = (self.n_features_,)
        first = sp.csr_matrix((data[:cut], cols[:cut], indptr[:n_first + 1]), shape=(n_first,) + shape)
        rest = sp.csr_matrix((data[cut:], cols[cut:], indptr[n_first:] - cut), shape=(n - n_first,) + shape)
        return first, rest

    def feature_spans(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """For one text: feature column -> the spans of ``text`` it was counted at."""
        toks = tokens(normalize(text))
        spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for offset, vectorizer in ((0, self.word_), (self.n_word_, self.char_)):
            vocabulary = vectorizer.vocabulary_
            for term, start, end in vectorizer.analyzer.with_positions(toks):
                column = vocabulary.get(term)
                if column is not None:
                    spans[offset + column].append((start, end))
        link_spans = [(link.start, link.end) for link in find_links(text)]
        if link_spans:
            for column in range(self.n_word_ + self.n_char_, self.n_features_):
                spans[column] = list(link_spans)
        return spans
