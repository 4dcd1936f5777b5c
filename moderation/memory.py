"""Memory for batch scoring: the model's lookup tables on huge pages, and freed batches kept.

**Huge pages.**
Scoring a batch reads its hash tables (tokens, bigrams, character n-grams) and its per-column
numbers (some 30 MB with the full model) at random places, several times per token. On 4 KB pages
nearly each of those reads also misses the processor's address cache (TLB): the tables span
thousands of pages. Copied into one mapping the kernel is asked to back with 2 MB pages
(``madvise(MADV_HUGEPAGE)``, honoured when transparent huge pages are ``always`` or ``madvise``),
they span fifteen, and a 10,000-comment batch is 5-10% quicker (benchmarks/speed.py).

Nothing depends on it: where the mapping or the advice is unavailable the arrays stay where they
are, and the numbers are the same either way (the copies are exact, and read-only).

**Freed batches kept.** A 10,000-comment batch makes some 100 MB of temporary arrays. glibc's
malloc gives blocks that large to the kernel as soon as they are freed and takes fresh ones for
the next batch, whose every page then faults in again: 5-15 ms a batch, and a different amount in
each process (its thresholds adapt to what was freed before). ``keep_freed_memory`` has it serve
blocks up to 32 MB from its heap and keep up to 256 MB of free heap, so the next batch reuses the
last one's pages: batches are quicker and steadier, and the process's resident memory stays near
its peak, where a server's stays anyway. Only glibc has these settings; elsewhere it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import sys
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


#: mallopt parameters (glibc's malloc.h) and the values set.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD, _TRIM_THRESHOLD = 32 << 20, 256 << 20
_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's malloc to reuse a freed batch's memory (see the module docstring), once per
    process; True when it is set."""
    global _kept
    if _kept is None:
        _kept = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                mallopt = libc.mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            _kept = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _kept
