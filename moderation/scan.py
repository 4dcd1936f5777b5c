"""Tokens of a batch of comments in one pass, and which comments may hold a link or shouting.

The work is done by ``moderation.accel`` (the compiled scanner, or its pure-Python twin); this
module turns its buffers into arrays. Tests hold the two implementations equal, and hold the
screens to what they promise: a comment not marked ``may_link`` has no link for ``find_links``, one
not marked ``may_shout`` has a volume score of 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _scan_py, accel
from .signals import TLDS, Span, Volume

FNV_OFFSET, FNV_PRIME = _scan_py.FNV_OFFSET, _scan_py.FNV_PRIME
_TLD_SET = set(TLDS)
token_hash = _scan_py.fnv1a


@dataclass
class Scan:
    """One entry per token (in comment order) and one per comment."""

    doc: np.ndarray        # int32, the comment the token is in
    start: np.ndarray      # offsets into the comment (normalising keeps offsets)
    end: np.ndarray
    hash: np.ndarray       # uint64 FNV-1a of the normalised token's code points
    brk: np.ndarray        # bool: a sentence ends between this token and the comment's previous one
    may_link: np.ndarray   # bool per comment
    may_shout: np.ndarray  # bool per comment
    #: bool per comment: a run of 3+ of "* # @ $ % & ^ !" holding one of "* # % & ^" (a word written as symbols?)
    may_mask: np.ndarray
    #: per token: 1 its first character is a capital as written, 2 a "?" follows it (before the
    #: next token, or the end of the comment)
    marks: np.ndarray


def normalize(text: str) -> str:
    """``moderation.text.normalize``, through the accelerator."""
    return accel.normalize(text)


def _as_scan(doc, start, end, hashes, brk, flags, marks) -> Scan:
    # Read-only views of the scanner's buffers, int32 as it wrote them: a batch's arrays are
    # allocated once (fresh memory costs page faults, a visible share of a batch).
    flags_ = np.frombuffer(flags, dtype=np.uint8)
    return Scan(doc=np.frombuffer(doc, dtype=np.int32), start=np.frombuffer(start, dtype=np.int32),
                end=np.frombuffer(end, dtype=np.int32), hash=np.frombuffer(hashes, dtype=np.uint64),
                brk=np.frombuffer(brk, dtype=np.bool_),
                may_link=(flags_ & 1).astype(bool), may_shout=(flags_ & 2).astype(bool),
                may_mask=(flags_ & 4).astype(bool),
                marks=np.frombuffer(marks, dtype=np.uint8))


def scan(texts: list[str]) -> Scan:
    return _as_scan(*accel.scan(list(texts), _TLD_SET))


def scan_reference(texts: list[str]) -> Scan:
    """The plain Python definition of ``scan`` (it screens nothing out), whichever implementation
    is in use."""
    return _as_scan(*_scan_py.scan(list(texts), _TLD_SET))


class VolumeMeter:
    """``signals.measure_volume`` with a fixed acronym list, through the accelerator."""

    def __init__(self, acronyms=()):
        self._acronyms = tuple(acronyms)
        self._upper = {a.upper() for a in self._acronyms}
        # The compiled path only looks up words without lower-case letters unless an acronym has one.
        self._cased = any(c.islower() for a in self._upper for c in a)

    def __call__(self, text: str) -> Volume:
        score, share, punct, stretched, spans = accel.measure_volume(text, self._upper, self._cased)
        return Volume(score=score, caps_share=share, punctuation_runs=punct, stretched_words=stretched,
                      spans=self.spans(text, spans))

    def score(self, text: str) -> tuple[float, list]:
        """The volume score and the raw spans ``spans`` turns into evidence: a batch makes spans
        only for the comments that are flagged."""
        found = accel.measure_volume(text, self._upper, self._cased)
        return found[0], found[4]

    @staticmethod
    def spans(text: str, raw: list) -> tuple[Span, ...]:
        raw = sorted(raw, key=lambda span: span[0])   # stable, like measure_volume's own sort
        return tuple(Span(text[a:b], a, b) for a, b, _ in raw)


def gram_hashes(words: list[str], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """(word index, FNV-1a hash) of every padded character n-gram of ``words``."""
    owner, hashes = accel.grams(list(words), low, high)
    return np.frombuffer(owner, dtype=np.int32).astype(np.int64), np.frombuffer(hashes, dtype=np.uint64)


def gram_hashes_at(texts: list[str], doc: np.ndarray, start: np.ndarray, end: np.ndarray, low: int, high: int):
    """``gram_hashes`` of the normalised tokens ``texts[doc[i]][start[i]:end[i]]`` (``doc`` ascending)."""
    doc, start, end = (np.ascontiguousarray(x, dtype=np.int64) for x in (doc, start, end))
    owner, hashes = accel.grams_at(list(texts), doc, start, end, low, high)
    return np.frombuffer(owner, dtype=np.int32).astype(np.int64), np.frombuffer(hashes, dtype=np.uint64)
