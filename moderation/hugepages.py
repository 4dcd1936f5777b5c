"""The model's lookup tables on huge pages, where the system offers them.

Scoring a batch reads its hash tables (tokens, bigrams, character n-grams) and its per-column
numbers (some 30 MB with the full model) at random places, several times per token. On 4 KB pages
nearly each of those reads also misses the processor's address cache (TLB): the tables span
thousands of pages. Copied into one mapping the kernel is asked to back with 2 MB pages
(``madvise(MADV_HUGEPAGE)``, honoured when transparent huge pages are ``always`` or ``madvise``),
they span fifteen, and a 10,000-comment batch is 5-10% quicker (benchmarks/speed.py).

Nothing depends on it: where the mapping or the advice is unavailable the arrays stay where they
are, and the numbers are the same either way (the copies are exact, and read-only).
"""
from __future__ import annotations

import mmap
from typing import Iterable

import numpy as np

_HUGE = 2 << 20
_ALIGN = 64


def supported() -> bool:
    return hasattr(mmap, "MADV_HUGEPAGE") and hasattr(mmap, "MAP_ANONYMOUS")


def relocate(holders: Iterable[tuple[object, str]]) -> int:
    """Move each ``getattr(holder, name)`` array into one huge-page mapping (read-only views);
    return the bytes moved, 0 when the system offers no such mapping."""
    holders = [(h, n) for h, n in holders if isinstance(getattr(h, n, None), np.ndarray)]
    if not holders or not supported():
        return 0
    sizes = [-(-getattr(h, n).nbytes // _ALIGN) * _ALIGN for h, n in holders]
    total = -(-sum(sizes) // _HUGE) * _HUGE
    try:
        mapping = mmap.mmap(-1, total, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        mapping.madvise(mmap.MADV_HUGEPAGE)
    except (OSError, ValueError):
        return 0
    arena = np.frombuffer(mapping, dtype=np.uint8)   # keeps the mapping alive while any view does
    at = 0
    for (holder, name), size in zip(holders, sizes):
        array = getattr(holder, name)
        copy = arena[at:at + array.nbytes].view(array.dtype).reshape(array.shape)
        copy[...] = array
        copy.flags.writeable = False
        setattr(holder, name, copy)
        at += size
    return at
