"""The one boundary between the library and its compiled speed-up (markupsafe's pattern).

``moderation._scan`` (C, built by ``pip install`` when a compiler is there) and
``moderation._scan_py`` (its pure-Python twin) expose the same functions; this module chooses one
of them once, at import, and every caller goes through it. No other module asks whether the C code
was built. ``use`` switches implementation, for the tests that run every verdict on both.
"""
from __future__ import annotations

from contextlib import contextmanager
from types import ModuleType
from typing import Iterator

from . import _scan_py
from .text import _fold_char

IMPLEMENTATIONS: dict[str, ModuleType] = {"python": _scan_py}
try:
    from . import _scan as _compiled
except ImportError:  # not built: the twin computes the same, more slowly
    _compiled = None
else:
    _compiled.set_fold(_fold_char)
    IMPLEMENTATIONS["compiled"] = _compiled

#: The implementation in use: the compiled one when it was built.
name = "compiled" if _compiled is not None else "python"
_impl: ModuleType = IMPLEMENTATIONS[name]


def available() -> tuple[str, ...]:
    return tuple(IMPLEMENTATIONS)


@contextmanager
def use(implementation: str) -> Iterator[None]:
    """Run the block with ``implementation`` ("compiled" or "python")."""
    global _impl, name
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, got {implementation!r}")
    before = name
    name, _impl = implementation, IMPLEMENTATIONS[implementation]
    try:
        yield
    finally:
        name, _impl = before, IMPLEMENTATIONS[before]


def normalize(text: str) -> str:
    return _impl.normalize(text)


def scan(texts: list[str], tlds: set) -> tuple:
    return _impl.scan(texts, tlds)


def measure_volume(text: str, acronyms: set, acronyms_cased: bool) -> tuple:
    return _impl.measure_volume(text, acronyms, acronyms_cased)


def grams(words: list[str], low: int, high: int) -> tuple:
    return _impl.grams(words, low, high)


def grams_at(texts: list[str], doc, start, end, low: int, high: int) -> tuple:
    return _impl.grams_at(texts, doc, start, end, low, high)


def probe(slots, shift: int, queries):
    return _impl.probe(slots, shift, queries)


def screen(texts: list[str]):
    return _impl.screen(texts)


def terms_at(texts: list[str], doc, start, end) -> list[str]:
    return _impl.terms_at(texts, doc, start, end)


def take(ext, rows, cols):
    """``ext[rows[i], cols[i]]`` of a 2-D float table (0 where ``rows[i] < 0``)."""
    import numpy as np

    ext = np.ascontiguousarray(ext, dtype=np.float64)
    rows, cols = np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(cols, dtype=np.int64)
    out = np.empty(len(rows))
    _impl.take(out, ext, ext.shape[1], rows, cols)
    return out


def pair_columns(table, left, right, first_ok, second_ok, index, cols, n_tok: int):
    """The word column of each bigram of tokens (``left[i]``, ``right[i]``), or -1, looked up in
    ``index`` (a ``HashIndex`` of ``table[left] * n_tok + table[right]`` keys)."""
    import numpy as np

    as64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    flags = lambda a: np.ascontiguousarray(a).view(np.uint8)  # noqa: E731
    found = _impl.pair_columns(as64(table), as64(left), as64(right), flags(first_ok), flags(second_ok), index._slots,
                               int(index._shift), as64(cols), int(n_tok))
    return found if isinstance(found, np.ndarray) else np.frombuffer(found, dtype=np.int64)


def set_table(fn) -> None:
    """Hand the normaliser's character table (code point -> str) to both implementations."""
    for implementation in IMPLEMENTATIONS.values():
        implementation.set_table(fn)


def translate(texts: list[str]) -> tuple[list, bytes]:
    return _impl.translate(texts)


def segment_sums(group, cols, cols2, keep, ext, n_rows: int):
    """(n_rows x k) sums: row ``group[i]`` adds ``ext[cols[i]]`` and ``ext[cols2[i]]`` (columns
    below 0 and unkept items skipped), the product of the 0/1 matrix they describe with ``ext``."""
    import numpy as np

    ext = np.ascontiguousarray(ext, dtype=np.float64)
    k = ext.shape[1]
    out = np.zeros((n_rows, k))
    as64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    _impl.segment_sums(out, k, as64(group), as64(cols), None if cols2 is None else as64(cols2),
                       None if keep is None else np.ascontiguousarray(keep).view(np.uint8), ext)
    return out


def top_tokens(lo, hi, rule, k: int, unigram, pair_left, pair_right, pair_col, table, ext, keep, doc, hashes,
               stop_index, word_ext, token_ext, oov, word_norm, char_norm, unit_token, unit_share):
    """(flag, token, weight) arrays of each learned-rule flag's ``k`` heaviest tokens, heaviest
    first, down to 5% of the heaviest (``moderation.evidence.choose`` for flags without links)."""
    import numpy as np

    as64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    word_ext, token_ext = f64(word_ext), f64(token_ext)
    found = _impl.top_tokens(as64(lo), as64(hi), as64(rule), int(k), as64(unigram), as64(pair_left),
                             as64(pair_right), as64(pair_col), as64(table), as64(ext),
                             np.ascontiguousarray(keep).view(np.uint8), np.ascontiguousarray(doc, dtype=np.int32),
                             np.ascontiguousarray(hashes, dtype=np.uint64), stop_index._slots, int(stop_index._shift),
                             word_ext, word_ext.shape[1], token_ext, f64(oov), f64(word_norm),
                             f64(char_norm), as64(unit_token), f64(unit_share))
    owner, token, weight = (np.frombuffer(x, dtype=t) for x, t in zip(found, (np.int64, np.int64, np.float64)))
    return owner, token, weight


def text_kgram_digests(texts: list[str], k: int) -> tuple[bytes, list[int], list[int]]:
    return _impl.text_kgram_digests(texts, k)
