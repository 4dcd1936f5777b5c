"""A read-only hash table from 64-bit keys to their positions, looked up a whole array at a time.

Looking up a batch's 300,000 token hashes by binary search (``np.searchsorted``) costs about 25 ms:
some 17 dependent reads each. Open addressing at a load factor of at most one half needs one or two,
and each slot holds its key and value side by side, so a probe touches one cache line.
"""
from __future__ import annotations

import numpy as np

from . import _scan_py, accel

_MIX = np.uint64(0x9E3779B97F4A7C15)   # Fibonacci hashing spreads keys such as a * n + b


class HashIndex:
    def __init__(self, keys: np.ndarray):
        keys = np.asarray(keys, dtype=np.uint64)
        # At least one slot stays empty (load <= 1/2), so every probe ends.
        bits = max(4, int(2 * max(len(keys), 1) - 1).bit_length())
        self._shift = np.uint64(64 - bits)
        self._mask = (1 << bits) - 1
        # slots[:, 0] is the key, slots[:, 1] its position + 1 (0: empty).
        self._slots = np.zeros((1 << bits, 2), dtype=np.uint64)
        slot = self._slot(keys)
        remaining = np.arange(len(keys))
        while remaining.size:
            at = slot[remaining]
            free = self._slots[at, 1] == 0
            claim, where = remaining[free], at[free]
            won, first = np.unique(where, return_index=True)
            self._slots[won, 0] = keys[claim[first]]
            self._slots[won, 1] = (claim[first] + 1).astype(np.uint64)
            placed = np.zeros(len(keys), dtype=bool)
            placed[claim[first]] = True
            remaining = remaining[~placed[remaining]]
            slot[remaining] = (slot[remaining] + 1) & self._mask

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * _MIX) >> self._shift).astype(np.int64)

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Position of each query among the keys, or -1."""
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        return np.frombuffer(accel.probe(self._slots, int(self._shift), queries), dtype=np.int64)

    def lookup_reference(self, queries: np.ndarray) -> np.ndarray:
        """``lookup`` by the pure-Python twin, whichever implementation is in use."""
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        return _scan_py.probe(self._slots, int(self._shift), queries)
