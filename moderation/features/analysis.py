"""One batch of comments tokenised and looked up once: what scoring, training rows and evidence share.

``analyse`` runs the scanner over the batch (or takes the scan the moderator already made), looks
every token up in the fitted token table, finds the word bigrams the vocabulary knows, and splits
comments of several sentences into sentence rows (runs of at least ``MIN_SENTENCE_TOKENS`` tokens
between sentence ends), so a rule can score a comment by its worst sentence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import accel
from ..scan import Scan, normalize, scan as scan_texts
from ..signals import Link, detect_links
from .dense import MIN_SENTENCE_TOKENS, N_LINK, Signals, batch_signals, split_ignored

if TYPE_CHECKING:
    from .vocabulary import TextFeatures

N_LINK_FEATURES = N_LINK


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
    #: False for the tokens inside a link the learned rules leave out (a reference site, the
    #: outlet's own): those words are not in any row.
    keep: np.ndarray | None = None
    #: The links the learned rules see (those not left out), per comment that has any.
    promo_links: dict[int, list[Link]] = field(default_factory=dict)
    seg: np.ndarray | None = None      # sentence (segment) of each token, over the whole batch
    action: np.ndarray | None = None   # lexicon action of each token (index in lexicon.ACTIONS), or -1
    signals: Signals | None = None
    _first: np.ndarray | None = None
    _oov_terms: list[str] | None = None

    def term(self, token: int) -> str:
        """The normalised text of one token."""
        s = self.scan
        return normalize(self.texts[int(s.doc[token])])[int(s.start[token]):int(s.end[token])]

    def oov_terms(self) -> list[str]:
        """The normalised text of the tokens not in the table (``oov``), made once per batch."""
        if self._oov_terms is None:
            s = self.scan
            doc, start, end = (np.ascontiguousarray(x[self.oov], dtype=np.int64) for x in (s.doc, s.start, s.end))
            self._oov_terms = accel.terms_at(self.texts, doc, start, end)
        return self._oov_terms

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
            self._first = _starts(self.scan.doc, self.n)
        return self._first

    def tokens_of(self, i: int) -> slice:
        first = self.first_tokens()
        return slice(int(first[i]), int(first[i + 1]))

    def segments(self):
        """(segment of each token, comment of each segment, first and last token of each segment)."""
        seg = self.seg
        n_seg = int(seg[-1]) + 1 if len(seg) else 0
        bounds = _starts(seg, n_seg)
        first, last = bounds[:-1], bounds[1:] - 1
        return seg, self.scan.doc[first].astype(np.int64), first, last

    def segment_part(self) -> np.ndarray:
        """The sentence row of each segment, or -1."""
        n_seg = int(self.seg[-1]) + 1 if len(self.seg) else 0
        out = np.full(n_seg, -1, dtype=np.int64)
        inside = self.part_of >= 0
        out[self.seg[inside]] = self.part_of[inside]
        return out



def _starts(group: np.ndarray, n: int) -> np.ndarray:
    """Where each of the groups 0..n-1 starts in the ascending array ``group``, and its length last
    (``searchsorted(group, arange(n + 1))``, by counting)."""
    out = np.zeros(n + 1, dtype=np.int64)
    if len(group):
        np.cumsum(np.bincount(group, minlength=n)[:n], out=out[1:])
    return out


def pairs(doc: np.ndarray, long_: np.ndarray):
    """Token indices of neighbouring words (one-character tokens skipped) in one comment."""
    words = np.flatnonzero(long_)
    same = doc[words[:-1]] == doc[words[1:]] if len(words) > 1 else np.zeros(0, dtype=bool)
    return words[:-1][same], words[1:][same]


def find_batch_links(texts: list[str], s: Scan) -> dict[int, tuple[Link, ...]]:
    """The links of the comments the scan says may hold one (before any allow-list)."""
    return {int(d): found for d in np.flatnonzero(s.may_link) if (found := detect_links(texts[d]))}


def analyse(features: "TextFeatures", texts: list[str], parts: bool = True, scanned: Scan | None = None,
            links: dict[int, tuple[Link, ...]] | None = None,
            ignore_domains: tuple[str, ...] | None = None) -> Analysis:
    """Tokens, table rows, bigrams, signals and (with ``parts``) sentence rows of a batch.
    ``scanned`` and ``links`` are the batch's scan and links when the caller has them already;
    ``ignore_domains`` replaces the features' own list of link domains to leave out."""
    texts = list(texts)
    s = scanned if scanned is not None else scan_texts(texts)
    if links is None:
        links = find_batch_links(texts, s)
    ignore = tuple(features.ignore_link_domains if ignore_domains is None else ignore_domains)
    keep = np.ones(len(s.doc), dtype=bool)
    promo_links: dict[int, list[Link]] = {}
    first_of_doc = _starts(s.doc, len(texts)) if links else None
    for d, found in links.items():
        gone, kept_links = split_ignored(found, ignore)
        if kept_links:
            promo_links[d] = kept_links
        if gone:
            lo, hi = int(first_of_doc[d]), int(first_of_doc[d + 1])
            starts, ends = s.start[lo:hi], s.end[lo:hi]
            gone_start = np.asarray([x.start for x in gone], dtype=np.int64)
            gone_end = np.asarray([x.end for x in gone], dtype=np.int64)
            at = np.maximum(np.searchsorted(gone_start, starts, side="right") - 1, 0)   # links never overlap
            keep[lo:hi] &= ~((starts >= gone_start[at]) & (ends <= gone_end[at]))
    n_tok = len(features.hashes_)
    table = features._tokens.lookup(s.hash)
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
    unigram = np.where(found, features.unigram_col_[table], -1) if n_tok else np.full(len(s.hash), -1)
    long_ = ((s.end - s.start) > 1) & keep
    left, right = pairs(s.doc, long_)
    pair_col = np.full(len(left), -1, dtype=np.int64)
    if features.word_ngram_range[1] == 2 and len(left) and len(features.bigram_keys_):
        pair_col = accel.pair_columns(table, left, right, features._bigram_first, features._bigram_second,
                                      features._bigrams, features.bigram_cols_, n_tok)
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
    a = Analysis(texts=texts, scan=s, table=table, ext=ext, oov=oov, unigram=unigram, pair_left=left,
                 pair_right=right, pair_col=pair_col, part_of=part_of, part_doc=part_doc, part_span=part_span,
                 links=links, keep=keep, promo_links=promo_links, seg=seg, _first=first_of_doc)
    a.action, cue = features.token_classes(a)
    a.signals = batch_signals(a, a.action, cue)
    return a
