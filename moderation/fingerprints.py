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
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import accel
from .text import fold

K = 5
WINDOW = 4
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(fold(text))]


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

@dataclass(frozen=True, slots=True)
class Printed:
    """What repeat detection needs of one comment: its number of words, the 16-bit code of every
    5-gram, and the winnowed 32-bit keys (``codes_and_keys``)."""

    n_words: int
    codes: list[int]
    keys: list[int]


def print_batch(texts: Sequence[str], window: int = WINDOW) -> list[Printed]:
    """``Printed`` for each text; equal to ``codes_and_keys(kgram_hashes(words(text)))``."""
    ws = [_WORD.findall(fold(text)) for text in texts]
    digests, counts = accel.kgram_digests(ws, K)   # the bytes kgram_hashes reads, every comment at once
    hashes = np.frombuffer(digests, dtype=">i8").astype(np.int64)
    sizes = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    codes = (hashes >> 48) & 0xFFFF
    keys = hashes >> 32
    picked = np.zeros(len(hashes), dtype=bool)
    if len(hashes) >= window:
        # The rightmost minimum of every window: the first minimum of the window reversed.
        reversed_windows = np.lib.stride_tricks.sliding_window_view(codes, window)[:, ::-1]
        first = np.arange(len(reversed_windows))
        position = first + window - 1 - np.argmin(reversed_windows, axis=1)
        owner = np.repeat(np.arange(len(texts)), sizes)
        inside = owner[first] == owner[first + window - 1]   # windows within one comment
        picked[position[inside]] = True
    out = []
    codes_list, keys_list = codes.tolist(), keys.tolist()
    for w, s, e in zip(ws, starts.tolist(), ends.tolist()):
        if 0 < e - s <= window:   # one window, shorter than usual: its rightmost minimum
            chosen = [keys_list[s + i] for i in winnow_positions(codes_list[s:e], window)]
        else:
            chosen = [keys_list[i] for i in np.flatnonzero(picked[s:e]) + s] if e > s else []
        out.append(Printed(len(w), codes_list[s:e], chosen))
    return out
