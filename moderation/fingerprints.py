"""Fingerprints of a comment's text: word 5-gram hashes, the codes and keys a history keeps.

Apart from repeat detection (``repeats``) so that the stores, which convert what older schemas
kept, depend on the fingerprints and not on the detector.

What is kept of a comment is small on purpose (a history holds a month of a site's comments): the
index keys are the top 32 bits of each 5-gram's 64-bit hash, and coverage is measured on a 16-bit
code of every 5-gram (the top half of its key, which also picks the positions winnowing keeps). A
stray 32-bit key shared with an unrelated comment costs one more candidate to measure, nothing else; a stray 16-bit code matches with odds of about one in 65,536 per 5-gram
of the candidate, far from the 8 covered words (two or more 5-grams in a row) a repeat needs.
``benchmarks/repeat_recall.py`` measured the same recall on real news comments with full 64-bit
hashes and with these.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from . import accel
from .text import WORD_RUN, fold

K = 5
WINDOW = 4


def words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in WORD_RUN.finditer(fold(text))]


def kgram_hashes(tokens: Sequence[tuple[str, int, int]], k: int = K) -> list[int]:
    """A signed 64-bit hash of every run of ``k`` words (SQLite integers are signed 64-bit)."""
    out = []
    for i in range(len(tokens) - k + 1):
        digest = hashlib.blake2b(" ".join(t[0] for t in tokens[i:i + k]).encode("utf-8"), digest_size=8).digest()
        out.append(int.from_bytes(digest, "big", signed=True))
    return out


def index_keys(hashes: Sequence[int]) -> list[int]:
    """The signed 32-bit keys a comment is indexed by: the top half of each 64-bit hash."""
    return [h >> 32 for h in hashes]


def coverage_codes(hashes: Sequence[int]) -> list[int]:
    """The 16-bit code of each 5-gram that coverage is measured on: the top 16 bits of its key."""
    return [(h >> 48) & 0xFFFF for h in hashes]


def codes_and_keys(hashes: Sequence[int]) -> tuple[list[int], list[int]]:
    """What the history keeps of a comment's 5-gram hashes: every code, and the keys of the
    positions winnowing picks, in order. Positions are picked by the codes, so they can be found
    again from the stored codes alone: a store keeps only the other 16 bits of each key."""
    codes, keys = coverage_codes(hashes), index_keys(hashes)
    return codes, [keys[i] for i in winnow_positions(codes)]


def winnow_positions(values: Sequence[int], window: int = WINDOW) -> list[int]:
    """The position of the minimum of every window of ``window`` consecutive values (Schleimer et
    al., 2003), each once: any run of ``window`` values shares a picked position with every
    sequence that holds the same run."""
    if len(values) <= window:
        return [len(values) - 1 - list(values)[::-1].index(min(values))] if len(values) else []
    chosen, last = [], -1
    for start in range(len(values) - window + 1):
        part = values[start:start + window]
        # The rightmost minimum: consecutive windows then keep choosing the same position.
        position = start + window - 1 - part[::-1].index(min(part))
        if position != last:
            chosen.append(position)
            last = position
    return chosen


def winnow(values: Sequence[int], window: int = WINDOW) -> list[int]:
    """The minimum of every window of ``window`` consecutive values, by ``winnow_positions``."""
    return [values[i] for i in winnow_positions(values, window)]


# --- a whole batch at once --------------------------------------------------------------------
#
# The per-comment functions above are the definition (and the reference the tests hold this to);
# a service checks hundreds of comments a request, where their Python loops were most of the time
# of a verdict. Here the 5-grams of every comment are hashed by the compiled speed-up (``accel``:
# BLAKE2b in C, or hashlib in its twin), and codes, keys and winnowing are computed for the whole
# batch in arrays: the same numbers.

class Printed:
    """What repeat detection needs of one comment: its number of words, the 16-bit code of every
    5-gram, and the winnowed 32-bit keys (``codes_and_keys``). The codes are made a list when first
    asked for, from the batch's array: most comments of a batch are neither stored nor compared
    with anything, and making every code of every comment a Python int was a fifth of a batch."""

    __slots__ = ("n_words", "keys", "_codes", "_batch", "_start", "_end")

    def __init__(self, n_words: int, codes: list[int] | None, keys: list[int],
                 batch: np.ndarray | None = None, start: int = 0, end: int = 0):
        self.n_words, self.keys, self._codes = n_words, keys, codes
        self._batch, self._start, self._end = batch, start, end

    @property
    def codes(self) -> list[int]:
        if self._codes is None:
            self._codes = self._batch[self._start:self._end].tolist()
            self._batch = None
        return self._codes

    def __eq__(self, other):
        if not isinstance(other, Printed):
            return NotImplemented
        return (self.n_words, self.codes, self.keys) == (other.n_words, other.codes, other.keys)

    def __repr__(self) -> str:
        return f"Printed(n_words={self.n_words}, codes={self.codes}, keys={self.keys})"


def print_batch(texts: Sequence[str], window: int = WINDOW) -> list[Printed]:
    """``Printed`` for each text; equal to ``codes_and_keys(kgram_hashes(words(text)))``."""
    # The bytes kgram_hashes reads, every comment at once, words split where ``WORD_RUN`` splits them.
    digests, counts, n_words = accel.text_kgram_digests([fold(text) for text in texts], K)
    hashes = np.frombuffer(digests, dtype=">i8").astype(np.int64)
    sizes = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    codes = (hashes >> 48) & 0xFFFF
    keys = hashes >> 32
    picked = np.zeros(len(hashes), dtype=bool)
    if len(hashes) >= window:
        # The rightmost minimum of every window, found from the right: an offset replaces the
        # best so far only when strictly less (whole arrays a step, not a window at a time).
        n_windows = len(hashes) - window + 1
        first = np.arange(n_windows)
        best = codes[window - 1:]
        position = first + (window - 1)
        for offset in range(window - 2, -1, -1):
            value = codes[offset:offset + n_windows]
            less = value < best
            best = np.where(less, value, best)
            position = np.where(less, first + offset, position)
        owner = np.repeat(np.arange(len(texts)), sizes)
        inside = owner[first] == owner[first + window - 1]   # windows within one comment
        picked[position[inside]] = True
    out = []
    chosen_list = keys[picked].tolist()   # the picked keys of every comment, in order
    before = np.concatenate([[0], np.cumsum(picked)]).tolist()   # picked before each position
    for n, s, e in zip(n_words, starts.tolist(), ends.tolist()):
        if 0 < e - s <= window:   # one window, shorter than usual: its rightmost minimum
            own = codes[s:e].tolist()
            out.append(Printed(n, own, [int(keys[s + i]) for i in winnow_positions(own, window)]))
        else:
            out.append(Printed(n, None, chosen_list[before[s]:before[e]], codes, s, e))
    return out
