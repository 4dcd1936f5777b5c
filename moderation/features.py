"""The one feature space shared by every learned rule.

Word 1-2-grams and character n-grams inside words (so ``f*ck`` and ``sh1t`` share most of their
n-grams with the words they disguise) over the normalised text, plus three link signals so the
``promotional`` rule sees how many links a comment has.

Weighting, and why: each block (words, characters) of a row holds ``count x idf`` per n-gram,
divided by the square root of the sum of ``idf^2`` over the row's n-gram *occurrences*. (The usual
TF-IDF divides by the l2 norm of the counted vector instead; the two agree whenever no n-gram
repeats.) With this norm a row's score is a sum over its tokens divided by a sum over its tokens,
so a batch is scored from per-token numbers computed once at training time (``compile``), with
no per-comment n-gram counting: that is what makes checking every rule faster than a one-rule
word-count classifier. ``transform_reference`` computes the same rows the plain way, one comment at
a time, and tests hold the fast paths equal to it to 1e-9.

A row is a comment or one of its sentences (runs of at least 3 tokens between sentence ends, for
comments of more than one sentence); a sentence row holds the n-grams and links inside it.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .signals import Link, find_links, link_features
from .hashindex import HashIndex
from .scan import Scan, gram_hashes, gram_hashes_at, normalize, scan, token_hash
from .text import TOKEN_RE, normalize as normalize_reference

N_LINK_FEATURES = 3
#: Function words, by the hash the scanner gives their tokens.
STOP_HASHES = np.sort(np.asarray([token_hash(w) for w in ENGLISH_STOP_WORDS], dtype=np.uint64))
MIN_SENTENCE_TOKENS = 3


def char_ngrams(word: str, n_min: int, n_max: int) -> list[str]:
    """Character n-grams of one word padded with spaces (``" f*ck "``)."""
    padded = f" {word} "
    size = len(padded)
    return [padded[i:i + n] for n in range(n_min, min(n_max, size) + 1) for i in range(size - n + 1)]


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    # scikit-learn's smoothed idf
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


@dataclass
class Analysis:
    """One batch of comments, tokenised and looked up once; shared by scoring and evidence."""

    texts: list[str]
    scan: Scan
    table: np.ndarray          # token-table row of each token, or -1 (not in the table)
    ext: np.ndarray            # row of each token in the table extended by this batch's other tokens
    oov: np.ndarray            # those other tokens (token indices), in extended-row order after the table
    unigram: np.ndarray        # word column of each token as a unigram, or -1
    pair_left: np.ndarray      # token index of each word bigram's first word
    pair_right: np.ndarray     # and of its second
    pair_col: np.ndarray       # and its word column (-1: not in the vocabulary)
    part_of: np.ndarray        # sentence row of each token, or -1
    part_doc: np.ndarray       # comment of each sentence row
    part_span: np.ndarray      # (start, end) character span of each sentence row
    links: dict[int, tuple[Link, ...]] = field(default_factory=dict)   # comments with links only
    _first: np.ndarray | None = None

    def term(self, token: int) -> str:
        """The normalised text of one token."""
        s = self.scan
        return normalize(self.texts[int(s.doc[token])])[int(s.start[token]):int(s.end[token])]

    @property
    def n(self) -> int:
        return len(self.texts)

    def pair_parts(self) -> np.ndarray:
        """The sentence row of each bigram, or -1 when its words are in different sentences (or
        in none)."""
        left = self.part_of[self.pair_left]
        return np.where(left == self.part_of[self.pair_right], left, -1)

    def first_tokens(self) -> np.ndarray:
        """Index of each comment's first token, and the token count last (tokens are in comment order)."""
        if self._first is None:
            self._first = np.searchsorted(self.scan.doc, np.arange(self.n + 1))
        return self._first

    def tokens_of(self, i: int) -> slice:
        first = self.first_tokens()
        return slice(int(first[i]), int(first[i + 1]))


class TextFeatures(TransformerMixin, BaseEstimator):
    """Word and character n-gram features plus link signals, fitted once and shared by every rule.

    Parameters
    ----------
    word_ngram_range : (1, 1) or (1, 2); words of one character are skipped.
    char_ngram_range : (low, high) character n-gram sizes inside words.
    min_df : an n-gram (and a token of the token table) must occur in this many comments.
    max_word_features, max_char_features : keep this many n-grams, the most frequent.
    """

    def __init__(self, word_ngram_range=(1, 2), char_ngram_range=(2, 5), min_df=2,
                 max_word_features=100_000, max_char_features=200_000):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features

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
            left, right = self._pairs(s.doc, long_)
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
        self.n_features_ = self.n_word_ + self.n_char_ + N_LINK_FEATURES
        self._derive()
        return self

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

    def _gram_matrix(self, owner: np.ndarray, hashes: np.ndarray, n_rows: int) -> sp.csr_matrix:
        # owner ascends, so the rows are built directly; repeated grams stay unsummed (a product sums them)
        at = self._grams.lookup(hashes)
        hit = at >= 0
        return _counts(owner, self.gram_cols_[np.where(hit, at, 0)], hit, n_rows, self.n_char_)

    @property
    def table_matrix(self) -> sp.csr_matrix:
        if getattr(self, "_T", None) is None:
            self._T = self.token_matrix(self.terms_)
        return self._T

    # Pickling: the token table and character vocabulary (hundreds of thousands of strings) are
    # stored as one string each; unpickling a dict or list of that size is most of a load.
    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in ("_T", "_tokens", "_bigrams", "_grams", "_bigram_first", "_bigram_second"):
            state.pop(name, None)
        if "terms_" in state:
            state["terms_"] = "\x00".join(state["terms_"])
            grams = [""] * len(state["char_vocabulary_"])
            for g, c in state["char_vocabulary_"].items():
                grams[c] = g
            state["char_vocabulary_"] = "\x00".join(grams)
        return state

    def __setstate__(self, state):
        if isinstance(state.get("terms_"), str):
            state["terms_"] = state["terms_"].split("\x00") if state["terms_"] else []
            packed = state["char_vocabulary_"]
            state["char_vocabulary_"] = {g: i for i, g in enumerate(packed.split("\x00"))} if packed else {}
        super().__setstate__(state)
        if "terms_" in state:
            self._derive()

    # --- analysis --------------------------------------------------------------------------------

    @staticmethod
    def _pairs(doc: np.ndarray, long_: np.ndarray):
        """Token indices of neighbouring words (one-character tokens skipped) in one comment."""
        words = np.flatnonzero(long_)
        same = doc[words[:-1]] == doc[words[1:]] if len(words) > 1 else np.zeros(0, dtype=bool)
        return words[:-1][same], words[1:][same]

    def analyse(self, texts: list[str], parts: bool = True) -> Analysis:
        """Tokens, table rows, bigrams and (with ``parts``) sentence rows of a batch."""
        texts = list(texts)
        s = scan(texts)
        n_tok = len(self.hashes_)
        table = self._tokens.lookup(s.hash)
        found = table >= 0
        # Tokens not in the table are looked up by their character n-grams: one row per distinct
        # token, in order of first appearance.
        missing = np.flatnonzero(~found)
        ext = table.copy()
        oov = missing
        if len(missing):
            _, first, inverse = np.unique(s.hash[missing], return_index=True, return_inverse=True)
            order = np.argsort(first)
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            oov = missing[first[order]]
            ext[missing] = n_tok + rank[inverse.ravel()]
        unigram = np.where(found, self.unigram_col_[table], -1) if n_tok else np.full(len(s.hash), -1)
        long_ = (s.end - s.start) > 1
        left, right = self._pairs(s.doc, long_)
        pair_col = np.full(len(left), -1, dtype=np.int64)
        if self.word_ngram_range[1] == 2 and len(left) and len(self.bigram_keys_):
            tl, tr = table[left], table[right]
            both = np.flatnonzero((tl >= 0) & (tr >= 0))
            both = both[self._bigram_first[tl[both]] & self._bigram_second[tr[both]]]
            at = self._bigrams.lookup((tl[both] * n_tok + tr[both]).astype(np.uint64))
            pair_col[both[at >= 0]] = self.bigram_cols_[at[at >= 0]]
        else:
            left, right = left[:0], right[:0]
            pair_col = pair_col[:0]
        # Sentence rows: runs of tokens between sentence ends, in comments with more than one run.
        m = len(s.doc)
        new_doc = np.ones(m, dtype=bool)
        new_doc[1:] = s.doc[1:] != s.doc[:-1]
        seg = np.cumsum(new_doc | s.brk) - 1
        part_of = np.full(m, -1, dtype=np.int64)
        part_doc = np.zeros(0, dtype=np.int64)
        part_span = np.zeros((0, 2), dtype=np.int64)
        if m and parts:
            seg_len = np.bincount(seg)
            seg_first = np.concatenate([[0], np.cumsum(seg_len)[:-1]])
            seg_doc = s.doc[seg_first]
            segs_in_doc = np.bincount(seg_doc, minlength=len(texts))
            kept = (seg_len >= MIN_SENTENCE_TOKENS) & (segs_in_doc[seg_doc] >= 2)
            index = np.full(len(seg_len), -1, dtype=np.int64)
            index[kept] = np.arange(int(kept.sum()))
            part_of = index[seg]
            part_doc = seg_doc[kept]
            part_span = np.stack([s.start[seg_first[kept]], s.end[seg_first[kept] + seg_len[kept] - 1]], axis=1)
        links = {int(d): found_links for d in np.flatnonzero(s.may_link) if (found_links := find_links(texts[d]))}
        return Analysis(texts=texts, scan=s, table=table, ext=ext, oov=oov, unigram=unigram, pair_left=left,
                        pair_right=right, pair_col=pair_col, part_of=part_of, part_doc=part_doc, part_span=part_span, links=links)

    def link_rows(self, a: Analysis) -> tuple[np.ndarray, np.ndarray]:
        """Link signals of each comment and of each sentence row (the links starting inside it)."""
        docs = np.zeros((a.n, N_LINK_FEATURES))
        parts = np.zeros((len(a.part_doc), N_LINK_FEATURES))
        for d, found in a.links.items():
            docs[d] = link_features(list(found))
        if a.links:
            for p in np.flatnonzero(np.isin(a.part_doc, list(a.links))):
                start, end = a.part_span[p]
                inside = [link for link in a.links[int(a.part_doc[p])] if start <= link.start < end]
                parts[p] = link_features(inside)
        return docs, parts

    # --- feature rows (training and the reference) -------------------------------------------

    def transform(self, texts) -> sp.csr_matrix:
        return self.rows(self.analyse(list(texts)))[0]

    def rows(self, a: Analysis) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """Feature rows of the comments, of their sentence rows, and each sentence row's comment."""
        s = a.scan
        T = self.table_matrix
        if len(a.oov):
            T = sp.vstack([T, self.oov_matrix(a)], format="csr")
        q = T @ (self.char_idf_ ** 2)
        links_doc, links_part = self.link_rows(a)
        out = []
        for group, pair_group, n_rows, link_block in ((s.doc, s.doc[a.pair_left], a.n, links_doc),
                                                      (a.part_of, a.pair_parts(), len(a.part_doc), links_part)):
            words = self._word_block(group, a.unigram, pair_group, a.pair_col, n_rows)
            D = _counts(group, a.ext, group >= 0, n_rows, T.shape[0])
            chars = (D @ T).tocsr()
            chars.data *= self.char_idf_[chars.indices]
            norms = np.sqrt(np.asarray(D @ q).ravel())
            norms[norms == 0] = 1.0
            chars = sp.diags(1.0 / norms) @ chars
            out.append(sp.hstack([words, chars, sp.csr_matrix(link_block)], format="csr"))
        return out[0], out[1], a.part_doc

    def _word_block(self, group, unigram, pair_group, pair_col, n_rows) -> sp.csr_matrix:
        u = (group >= 0) & (unigram >= 0)
        b = (pair_group >= 0) & (pair_col >= 0)
        rows = np.concatenate([group[u], pair_group[b]])
        cols = np.concatenate([unigram[u], pair_col[b]])
        W = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, self.n_word_))
        W.sum_duplicates()
        norms = np.sqrt(np.asarray(W @ (self.word_idf_ ** 2)).ravel())
        norms[norms == 0] = 1.0
        W.data *= self.word_idf_[W.indices]
        return sp.diags(1.0 / norms) @ W

    def transform_reference(self, texts) -> sp.csr_matrix:
        """The plain definition of the feature rows, one comment at a time, in pure Python:
        the reference the fast paths are tested against."""
        vocabulary = self.char_vocabulary_
        table = {t: i for i, t in enumerate(self.terms_)}
        bigrams = dict(zip(self.bigram_keys_.tolist(), self.bigram_cols_.tolist()))
        rows = []
        for text in texts:
            toks = TOKEN_RE.findall(normalize_reference(text))
            words = [t for t in toks if len(t) > 1]
            word_counts: Counter = Counter()
            for t in words:
                col = self.unigram_col_[table[t]] if t in table else -1
                if col >= 0:
                    word_counts[int(col)] += 1
            if self.word_ngram_range[1] == 2:
                n_tok = len(self.terms_)
                for x, y in zip(words, words[1:]):
                    if x in table and y in table and (col := bigrams.get(table[x] * n_tok + table[y])) is not None:
                        word_counts[col] += 1
            char_counts = Counter(c for t in toks for g in char_ngrams(t, *self.char_ngram_range)
                                  if (c := vocabulary.get(g)) is not None)
            row = np.zeros(self.n_features_)
            for counts, idf, offset in ((word_counts, self.word_idf_, 0), (char_counts, self.char_idf_, self.n_word_)):
                norm = math.sqrt(sum(k * idf[c] ** 2 for c, k in counts.items())) or 1.0
                for c, k in counts.items():
                    row[offset + c] = k * idf[c] / norm
            row[self.n_word_ + self.n_char_:] = link_features(find_links(text))
            rows.append(row)
        return sp.csr_matrix(np.asarray(rows).reshape(len(rows), self.n_features_))

    # --- compiled scoring ---------------------------------------------------------------------

    def compile(self, coef: np.ndarray) -> "Compiled":
        """Per-token and per-n-gram numbers that score a batch without building its rows."""
        # Each row: idf x coefficient for every rule, then idf^2 (what the row adds to its norm).
        word = np.column_stack([self.word_idf_[:, None] * coef[:self.n_word_], self.word_idf_ ** 2])
        char = np.column_stack([self.char_idf_[:, None] * coef[self.n_word_:self.n_word_ + self.n_char_],
                                self.char_idf_ ** 2])
        return Compiled(word_ext=word, char_ext=char, token_ext=np.asarray(self.table_matrix @ char),
                        links=coef[self.n_word_ + self.n_char_:])


@dataclass
class Compiled:
    """Per-column numbers: (idf x coefficient of each rule, idf^2), so that one product gives a
    row's sums and its squared norm together."""

    word_ext: np.ndarray   # (n_word, rules + 1) per word column
    char_ext: np.ndarray   # (n_char, rules + 1) per character column
    token_ext: np.ndarray  # (n_table_tokens, rules + 1): each table token's character n-grams summed
    links: np.ndarray      # (3, rules)

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


def _counts(group: np.ndarray, columns: np.ndarray, keep: np.ndarray, n_rows: int, n_columns: int) -> sp.csr_matrix:
    """(n_rows x n_columns) CSR with a 1 at (group, column) for every kept item, ``group``
    ascending among them. Repeated columns in a row are left unsummed: a product sums them."""
    g = group[keep]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix((_ones(len(g)), columns[keep], indptr), shape=(n_rows, n_columns), copy=False)


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
    link_rows: np.ndarray   # (n, 3)
    _pair_at: tuple | None = None

    def token_weights(self, tokens: np.ndarray, rules: np.ndarray) -> np.ndarray:
        """Each token's own term of its comment's decision value for the rule (column) given with
        it: its unigram, half of each bigram it is in and its character n-grams, each over its norm."""
        a, c = self.analysis, self.compiled
        if self._pair_at is None:
            left, right = np.full(len(a.table), -1), np.full(len(a.table), -1)
            left[a.pair_left] = np.arange(len(a.pair_left))
            right[a.pair_right] = np.arange(len(a.pair_right))
            self._pair_at = (left, right)
        words = np.zeros(len(tokens))
        uni = a.unigram[tokens]
        has = uni >= 0
        words[has] = c.word[uni[has], rules[has]]
        for at in self._pair_at:
            pair = at[tokens]
            has = pair >= 0
            has[has] = a.pair_col[pair[has]] >= 0
            words[has] += c.word[a.pair_col[pair[has]], rules[has]] / 2
        chars = np.zeros(len(tokens))
        table = a.table[tokens]
        has = table >= 0
        chars[has] = c.token[table[has], rules[has]]
        chars[~has] = self.oov_token[a.ext[tokens[~has]] - len(c.token), rules[~has]]
        doc = a.scan.doc[tokens]
        return words / self.word_norm[doc] + chars / self.char_norm[doc]

    def quiet(self, tokens: np.ndarray) -> np.ndarray:
        """Which tokens are function words ("the", "because"): never shown as evidence."""
        hashes = self.analysis.scan.hash[tokens]
        at = np.minimum(np.searchsorted(STOP_HASHES, hashes), len(STOP_HASHES) - 1)
        return STOP_HASHES[at] == hashes


def score_batch(features: TextFeatures, compiled: Compiled, texts: list[str], parts: bool = True) -> Scored:
    """The decision values ``rows(...) @ coef`` of the comments and (with ``parts``) of their
    sentence rows, from the compiled per-token numbers (tests hold them equal to 1e-9): each row's
    sums are products of a 0/1 matrix (which row holds which n-gram) with the compiled numbers."""
    a = features.analyse(texts, parts=parts)
    s = a.scan
    n_tok, n_word = len(compiled.token_ext), len(compiled.word_ext)
    rules = compiled.links.shape[1]
    m = len(s.doc)
    oov_ext = np.zeros((0, rules + 1))
    if len(a.oov):
        oov_ext = np.asarray(features.oov_matrix(a) @ compiled.char_ext)
    known = a.table >= 0
    oov_index = a.ext - n_tok
    links_doc, links_part = features.link_rows(a)
    # A token's word items: its unigram, then the bigram it starts; in token order, so the rows
    # (comments, or sentences) stay ascending.
    starts_pair = np.full(m, -1, dtype=np.int64)
    starts_pair[a.pair_left] = a.pair_col

    def decisions(group, pair_starts, n_rows, link_block):
        inside = group >= 0
        columns = np.column_stack([a.unigram, pair_starts]).ravel()
        doubled = np.repeat(group, 2)
        W = _counts(doubled, columns, (columns >= 0) & (doubled >= 0), n_rows, n_word)
        C = _counts(group, a.table, inside & known, n_rows, n_tok)
        O = _counts(group, oov_index, inside & ~known, n_rows, len(oov_ext))
        words = W @ compiled.word_ext
        chars = C @ compiled.token_ext + O @ oov_ext
        wn, cn = np.sqrt(words[:, -1]), np.sqrt(chars[:, -1])
        wn[wn == 0] = 1.0
        cn[cn == 0] = 1.0
        z = words[:, :-1] / wn[:, None] + chars[:, :-1] / cn[:, None]
        return z + link_block @ compiled.links, wn, cn

    z, wn, cn = decisions(s.doc, starts_pair, a.n, links_doc)
    parts_z = np.zeros((0, rules))
    if parts and len(a.part_doc):
        same = a.pair_parts() >= 0
        part_pairs = np.full(m, -1, dtype=np.int64)
        part_pairs[a.pair_left[same]] = a.pair_col[same]
        parts_z = decisions(a.part_of, part_pairs, len(a.part_doc), links_part)[0]
    return Scored(analysis=a, compiled=compiled, z=z, parts_z=parts_z, oov_token=oov_ext[:, :-1], word_norm=wn,
                  char_norm=cn, link_rows=links_doc)
