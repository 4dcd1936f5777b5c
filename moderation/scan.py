"""Tokens of a batch of comments in one pass, and which comments may hold a link or shouting.

The compiled ``moderation._scan`` does the work when it is built (``pip install`` builds it); this
module's pure-Python ``scan_reference`` computes the same tokens and is used when it is not.
Tests hold the two equal, and hold the screens to what they promise: a comment not marked
``may_link`` has no link for ``find_links``, one not marked ``may_shout`` has a volume score of 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .signals import TLDS, Span, Volume, measure_volume
from .text import TOKEN_RE, _fold_char, normalize as normalize_reference

try:
    from . import _scan
except ImportError:  # not built: the reference computes the same, more slowly
    _scan = None
else:
    _scan.set_fold(_fold_char)

FNV_OFFSET, FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1
_BREAK = re.compile(r"\n|[.!?\u2026]\s")
_TLD_SET = set(TLDS)


@dataclass
class Scan:
    """One entry per token (in comment order) and one per comment."""

    doc: np.ndarray        # int32 (or int64), the comment the token is in
    start: np.ndarray      # offsets into the comment (normalising keeps offsets)
    end: np.ndarray
    hash: np.ndarray       # uint64 FNV-1a of the normalised token's code points
    brk: np.ndarray        # bool: a sentence ends between this token and the comment's previous one
    may_link: np.ndarray   # bool per comment
    may_shout: np.ndarray  # bool per comment


def token_hash(token: str) -> int:
    h = FNV_OFFSET
    for char in token:
        h = ((h ^ ord(char)) * FNV_PRIME) & _MASK
    return h


def normalize(text: str) -> str:
    """``moderation.text.normalize``, compiled when available."""
    return _scan.normalize(text) if _scan is not None else normalize_reference(text)


def scan(texts: list[str]) -> Scan:
    if _scan is None:
        return scan_reference(texts)
    doc, start, end, hashes, brk, flags = _scan.scan(list(texts), _TLD_SET)
    flags_ = np.frombuffer(flags, dtype=np.uint8)
    # Read-only views of the scanner's buffers, int32 as it wrote them: a batch's arrays are
    # allocated once (fresh memory costs page faults, a visible share of a batch).
    return Scan(doc=np.frombuffer(doc, dtype=np.int32), start=np.frombuffer(start, dtype=np.int32),
                end=np.frombuffer(end, dtype=np.int32), hash=np.frombuffer(hashes, dtype=np.uint64),
                brk=np.frombuffer(brk, dtype=np.bool_),
                may_link=(flags_ & 1).astype(bool), may_shout=(flags_ & 2).astype(bool))


def scan_reference(texts: list[str]) -> Scan:
    """The plain Python definition of ``scan``: it screens nothing out (every comment may link or shout)."""
    doc, start, end, hashes, brk = [], [], [], [], []
    for d, text in enumerate(texts):
        norm = normalize_reference(text)
        previous = None
        for match in TOKEN_RE.finditer(norm):
            doc.append(d)
            start.append(match.start())
            end.append(match.end())
            hashes.append(token_hash(match.group(0)))
            brk.append(previous is not None and bool(_BREAK.search(norm, previous, match.start())))
            previous = match.end()
    return Scan(doc=np.asarray(doc, dtype=np.int64), start=np.asarray(start, dtype=np.int64),
                end=np.asarray(end, dtype=np.int64), hash=np.asarray(hashes, dtype=np.uint64),
                brk=np.asarray(brk, dtype=bool), may_link=np.ones(len(texts), dtype=bool),
                may_shout=np.ones(len(texts), dtype=bool))


class VolumeMeter:
    """``measure_volume`` with a fixed acronym list, compiled when available (tests hold the two
    equal)."""

    def __init__(self, acronyms=()):
        self._acronyms = tuple(acronyms)
        self._upper = {a.upper() for a in self._acronyms}
        # The compiled path only looks up words without lower-case letters unless an acronym has one.
        self._cased = any(c.islower() for a in self._upper for c in a)

    def __call__(self, text: str) -> Volume:
        if _scan is None:
            return measure_volume(text, self._acronyms)
        score, share, punct, stretched, spans = _scan.measure_volume(text, self._upper, self._cased)
        spans.sort(key=lambda span: span[0])   # stable, like measure_volume's own sort
        return Volume(score=score, caps_share=share, punctuation_runs=punct, stretched_words=stretched,
                      spans=tuple(Span(text[a:b], a, b) for a, b, _ in spans))


def gram_hashes(words: list[str], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """(word index, FNV-1a hash) of every padded character n-gram of ``words``."""
    if _scan is not None:
        owner, hashes = _scan.grams(list(words), low, high)
        return np.frombuffer(owner, dtype=np.int32).astype(np.int64), np.frombuffer(hashes, dtype=np.uint64)
    from .features import char_ngrams

    owner, hashes = [], []
    for i, word in enumerate(words):
        for gram in char_ngrams(word, low, high):
            owner.append(i)
            hashes.append(token_hash(gram))
    return np.asarray(owner, dtype=np.int64), np.asarray(hashes, dtype=np.uint64)


def gram_hashes_at(texts: list[str], doc: np.ndarray, start: np.ndarray, end: np.ndarray, low: int, high: int):
    """``gram_hashes`` of the normalised tokens ``texts[doc[i]][start[i]:end[i]]`` (``doc`` ascending)."""
    doc, start, end = (np.ascontiguousarray(x, dtype=np.int64) for x in (doc, start, end))
    if _scan is not None:
        owner, hashes = _scan.grams_at(list(texts), doc, start, end, low, high)
        return np.frombuffer(owner, dtype=np.int32).astype(np.int64), np.frombuffer(hashes, dtype=np.uint64)
    normalized: dict[int, str] = {}
    words = []
    for d, a, b in zip(doc.tolist(), start.tolist(), end.tolist()):
        if d not in normalized:
            normalized[d] = normalize(texts[d])
        words.append(normalized[d][a:b])
    return gram_hashes(words, low, high)
