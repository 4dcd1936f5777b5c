"""The pure-Python twin of the compiled scanner ``moderation._scan``: the same functions, the same
arguments, results of the same types and bytes.

This is the plain definition the C code must equal (tests hold the two equal, function by function
and as whole verdicts), and what runs where the extension could not be built. Nothing imports it
but ``moderation.accel``, which chooses one of the two once; the rest of the library never asks
which one it got.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

from .signals import measure_volume as _measure_volume
from .text import MASK_INITIALS, TOKEN_RE, WORD_RUN, char_ngrams, normalize as _normalize

FNV_OFFSET, FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1
_BREAK = re.compile(r"\n|[.!?\u2026]\s")
_MIX = 0x9E3779B97F4A7C15


def fnv1a(text: str) -> int:
    """64-bit FNV-1a of the code points of ``text``: the hash of a token or an n-gram."""
    h = FNV_OFFSET
    for char in text:
        h = ((h ^ ord(char)) * FNV_PRIME) & _MASK
    return h


def set_fold(fn: Callable[[str], str]) -> None:
    """The compiled module needs the character folding function handed to it; this twin calls
    ``moderation.text`` directly."""


def normalize(text: str) -> str:
    return _normalize(text)


_table: list[Callable[[int], str]] = []


def set_table(fn: Callable[[int], str]) -> None:
    """The normaliser's character table: code point (above ASCII) -> its replacement."""
    _table[:] = [fn]


def translate(texts: list[str]) -> tuple[list[str | None], bytes]:
    """Each text through the table (None where nothing changes), and per text whether a character
    became other than one character."""
    if not _table:
        raise RuntimeError("moderation._scan_py: set_table() was not called")
    fn = _table[0]
    out, reshaped = [], bytearray(len(texts))
    for d, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"comment #{d + 1} is not a str")
        if text.isascii():
            out.append(None)
            continue
        pieces = [c if c < "\x80" else fn(ord(c)) for c in text]
        changed = any(p != c for p, c in zip(pieces, text))
        reshaped[d] = changed and any(len(p) != 1 for p in pieces)
        out.append("".join(pieces) if changed else None)
    return out, bytes(reshaped)


def segment_sums(out, k: int, group, cols, cols2, keep, ext) -> None:
    """``out[group[i]] += ext[cols[i]]`` (then ``ext[cols2[i]]``) for every item with a group (and
    kept), columns below 0 skipped: the product of a 0/1 CSR matrix with ``ext``, in item order."""
    import scipy.sparse as sp

    y = np.frombuffer(out, dtype=np.float64).reshape(-1, k) if not isinstance(out, np.ndarray) else out.reshape(-1, k)
    x = np.asarray(ext, dtype=np.float64).reshape(-1, k)
    g = np.asarray(group, dtype=np.int64)
    columns = [np.asarray(cols, dtype=np.int64)] + ([np.asarray(cols2, dtype=np.int64)] if cols2 is not None else [])
    use = g >= 0
    if keep is not None:
        use &= np.asarray(keep, dtype=bool)
    if use.any() and (g[use].max() >= len(y)):
        raise IndexError("segment_sums: a group is past the last row")
    items = np.flatnonzero(use)
    rows = np.repeat(g[items], len(columns))
    col = np.column_stack([c[items] for c in columns]).ravel() if len(items) else np.zeros(0, dtype=np.int64)
    valid = col >= 0
    rows, col = rows[valid], col[valid]
    if len(col) and col.max() >= len(x):
        raise IndexError("segment_sums: a column is past the last row of ext")
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(len(y) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(y)), out=indptr[1:])
    matrix = sp.csr_matrix((np.ones(len(col)), col[order], indptr), shape=(len(y), len(x)))
    y += matrix @ x


def scan(texts: list[str], tlds) -> tuple:
    """Tokens of every text: (doc int32, start int32, end int32, hash uint64, brk bool, flags uint8,
    marks uint8). It screens nothing out: every text is flagged as one that may hold a link (1),
    shout (2) and hold a word written as symbols (4). A token's mark is 1 when its first character
    is a capital as written, plus 2 when a "?" follows it before the next token (or the end of the
    text)."""
    doc, start, end, hashes, brk, marks = [], [], [], [], [], []
    for d, text in enumerate(texts):
        norm = _normalize(text)
        previous = None
        for match in TOKEN_RE.finditer(norm):
            if previous is not None and "?" in norm[previous:match.start()]:
                marks[-1] |= 2
            doc.append(d)
            start.append(match.start())
            end.append(match.end())
            hashes.append(fnv1a(match.group(0)))
            brk.append(previous is not None and bool(_BREAK.search(norm, previous, match.start())))
            marks.append(1 if text[match.start()].isupper() else 0)
            previous = match.end()
        if previous is not None and "?" in norm[previous:]:
            marks[-1] |= 2
    return (np.asarray(doc, dtype=np.int32), np.asarray(start, dtype=np.int32), np.asarray(end, dtype=np.int32),
            np.asarray(hashes, dtype=np.uint64), np.asarray(brk, dtype=np.bool_),
            np.full(len(texts), 7, dtype=np.uint8), np.asarray(marks, dtype=np.uint8))


def measure_volume(text: str, acronyms: set, acronyms_cased: bool) -> tuple:
    """(score, caps share, punctuation runs, stretched words, [(start, end, 0), ...])."""
    volume = _measure_volume(text, acronyms)
    return (volume.score, volume.caps_share, volume.punctuation_runs, volume.stretched_words,
            [(span.start, span.end, 0) for span in volume.spans])


def grams(words: list[str], low: int, high: int) -> tuple:
    """(word index int32, FNV-1a hash uint64) of every padded character n-gram of ``words``."""
    owner, hashes = [], []
    for i, word in enumerate(words):
        for gram in char_ngrams(word, low, high):
            owner.append(i)
            hashes.append(fnv1a(gram))
    return np.asarray(owner, dtype=np.int32), np.asarray(hashes, dtype=np.uint64)


def terms_at(texts: list[str], doc, start, end) -> list[str]:
    """The normalised token spans ``normalize(texts[doc[i]])[start[i]:end[i]]``."""
    normalized: dict[int, str] = {}
    out = []
    for d, a, b in zip(np.frombuffer(doc, dtype=np.int64).tolist(), np.frombuffer(start, dtype=np.int64).tolist(),
                       np.frombuffer(end, dtype=np.int64).tolist()):
        if d not in normalized:
            normalized[d] = _normalize(texts[d])
        out.append(normalized[d][a:b])
    return out


def grams_at(texts: list[str], doc, start, end, low: int, high: int) -> tuple:
    """``grams`` of the normalised token spans ``normalize(texts[doc[i]])[start[i]:end[i]]``."""
    return grams(terms_at(texts, doc, start, end), low, high)


def probe(slots, shift: int, queries) -> np.ndarray:
    """Positions (int64) of ``queries`` in an open-addressing table of (key, position + 1) slots;
    a query's first slot is (query * 0x9E3779B97F4A7C15) >> shift, then the next ones in turn."""
    table = np.frombuffer(slots, dtype=np.uint64).reshape(-1, 2)
    queries = np.frombuffer(queries, dtype=np.uint64)
    mask = len(table) - 1
    out = np.full(len(queries), -1, dtype=np.int64)
    with np.errstate(over="ignore"):
        slot = ((queries * np.uint64(_MIX)) >> np.uint64(shift)).astype(np.int64)
    pending = np.arange(len(queries))
    while pending.size:
        keys, values = table[slot, 0], table[slot, 1]
        hit = (values > 0) & (keys == queries[pending])
        out[pending[hit]] = values[hit].astype(np.int64) - 1
        occupied = (values > 0) & ~hit
        pending, slot = pending[occupied], (slot[occupied] + 1) & mask
    return out


def take(out, ext, k: int, rows, cols) -> None:
    """``out[i] = ext[rows[i] * k + cols[i]]``, 0 where ``rows[i] < 0``."""
    y = out if isinstance(out, np.ndarray) else np.frombuffer(out, dtype=np.float64)
    x = np.asarray(ext, dtype=np.float64).reshape(-1)
    r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    has = r >= 0
    if has.any() and (r[has].max() >= len(x) // k or c[has].min() < 0 or c[has].max() >= k):
        raise IndexError("take: a row or column is out of range")
    y[:] = 0.0
    y[has] = x[r[has] * k + c[has]]


def pair_columns(table, left, right, first_ok, second_ok, slots, shift: int, cols, n_tok: int) -> np.ndarray:
    """The word column of each bigram (left[i], right[i]) of tokens, or -1: both in the table, the
    first able to begin a known bigram and the second to end one, and the key
    ``table[left] * n_tok + table[right]`` found by ``probe`` (its position indexes ``cols``)."""
    table, left, right = (np.frombuffer(x, dtype=np.int64) if not isinstance(x, np.ndarray) else x
                          for x in (table, left, right))
    first_ok = np.asarray(first_ok).view(np.uint8).astype(bool)
    second_ok = np.asarray(second_ok).view(np.uint8).astype(bool)
    cols = np.asarray(cols, dtype=np.int64)
    out = np.full(len(left), -1, dtype=np.int64)
    if len(left) and (left.min() < 0 or right.min() < 0 or max(left.max(), right.max()) >= len(table)):
        raise IndexError("pair_columns: a token index is out of range")
    tl, tr = table[left], table[right]
    both = np.flatnonzero((tl >= 0) & (tr >= 0) & (tl < n_tok) & (tr < n_tok))
    both = both[first_ok[tl[both]] & second_ok[tr[both]]]
    keys = (tl[both].astype(np.uint64) * np.uint64(n_tok) + tr[both].astype(np.uint64))
    at = probe(slots, shift, np.ascontiguousarray(keys))
    out[both[at >= 0]] = cols[at[at >= 0]]
    return out


def top_tokens(lo, hi, rule, k: int, unigram, pair_left, pair_right, pair_col, table, ext, keep, doc, hashes,
               stop_slots, stop_shift: int, word_ext, K: int, token_ext, oov, word_norm, char_norm, unit_token,
               unit_share) -> tuple[bytes, bytes, bytes]:
    """The heaviest tokens of learned-rule flags whose comments have no link: for flag f, the
    tokens ``lo[f] <= t < hi[f]`` that are not function words (``stop_slots``), weighed for rule
    column ``rule[f]`` (the unigram's number, plus half of each bigram's, over the comment's word
    norm; the character n-grams' over its character norm; 0 for a token not kept; plus the token's
    share of the signals, ``unit_share`` at its place in ``unit_token``); its ``k`` heaviest
    positive ones, heaviest first and ties in text order, down to 5% of the heaviest. Returns
    (flag, token, weight) of each, as int64, int64 and float64 bytes."""
    i64 = lambda x: np.frombuffer(x, dtype=np.int64) if not isinstance(x, np.ndarray) else x.astype(np.int64)  # noqa: E731
    f64 = lambda x: np.frombuffer(x, dtype=np.float64) if not isinstance(x, np.ndarray) else x.ravel()  # noqa: E731
    lo, hi, rule, unigram, pair_left, pair_right, pair_col, table, ext, unit_token = map(
        i64, (lo, hi, rule, unigram, pair_left, pair_right, pair_col, table, ext, unit_token))
    R = K - 1
    words_x, token_x = f64(word_ext).reshape(-1, K), f64(token_ext).reshape(-1, K)
    oov_x, share_x = f64(oov).reshape(-1, R), f64(unit_share).reshape(-1, R)
    wn, cn = f64(word_norm), f64(char_norm)
    keep = np.asarray(keep).view(np.uint8).astype(bool)
    doc = np.frombuffer(doc, dtype=np.int32) if not isinstance(doc, np.ndarray) else doc
    hashes = np.frombuffer(hashes, dtype=np.uint64) if not isinstance(hashes, np.ndarray) else hashes
    if len(lo) and (lo.min() < 0 or (hi < lo).any() or hi.max() > len(unigram) or rule.min() < 0 or rule.max() >= R):
        raise IndexError("top_tokens: a flag's tokens or rule are out of range")
    sizes = hi - lo
    owner = np.repeat(np.arange(len(lo)), sizes)
    tokens = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes) + np.repeat(lo, sizes)
    loud = probe(stop_slots, stop_shift, np.ascontiguousarray(hashes[tokens])) < 0
    owner, tokens = owner[loud], tokens[loud]
    r = rule[owner]
    u = unigram[tokens]
    words = np.where(u >= 0, words_x[np.maximum(u, 0), r], 0.0)
    for side in (pair_left, pair_right):   # each bigram the token is in, left then right
        at = np.full(len(unigram), -1, dtype=np.int64)
        at[side] = pair_col
        column = at[tokens]
        words += np.where(column >= 0, words_x[np.maximum(column, 0), r], 0.0) / 2
    rows = table[tokens]
    chars = np.where(rows >= 0, token_x[np.maximum(rows, 0), r], 0.0)
    other = rows < 0
    chars[other] = oov_x[ext[tokens[other]] - len(token_x), r[other]]   # other tokens follow the table's
    d = doc[tokens]
    weights = np.where(keep[tokens], words / wn[d] + chars / cn[d], 0.0)
    place = np.minimum(np.searchsorted(unit_token, tokens), max(len(unit_token) - 1, 0))
    unit = (unit_token[place] == tokens) if len(unit_token) else np.zeros(len(tokens), dtype=bool)
    weights[unit] = weights[unit] + share_x[place[unit], r[unit]]
    positive = weights > 0
    owner, tokens, weights = owner[positive], tokens[positive], weights[positive]
    # Heaviest first, ties in text order, by flag: two stable sorts.
    order = np.argsort(-weights, kind="stable")
    order = order[np.argsort(owner[order], kind="stable")]
    owner, tokens, weights = owner[order], tokens[order], weights[order]
    first = np.searchsorted(owner, owner)
    chosen = ((np.arange(len(owner)) - first) < k) & (weights >= 0.05 * weights[first])
    return (owner[chosen].astype(np.int64).tobytes(), tokens[chosen].astype(np.int64).tobytes(),
            weights[chosen].astype(np.float64).tobytes())


_SPACED_ONE = re.compile(r"(?<![^\W_])[^\W\d_][ .\-_\n\r\t]{1,3}[^\W\d_](?![^\W_])[ .\-_\n\r\t]{1,3}"
                         r"[^\W\d_](?![^\W_])|[A-Z]\.[A-Z]\.")
_MASK_NEAR = re.compile(r"[^\W\d_][#@%_\u2013\u2014]|[#@%_\u2013\u2014][^\W\d_]|\w--|--\w|[a-z]X|X[a-z]"
                        rf"|(?<![^\W_])[{MASK_INITIALS}]-[^\W\d_]")


def screen(texts: list[str]) -> np.ndarray:
    """What moderation.normaliser may have to undo in each text (uint8): 1 a character above ASCII,
    2 three single letters spaced apart or dotted capitals, 4 a mask beside a letter."""
    return np.asarray([(0 if t.isascii() else 1) | (2 if _SPACED_ONE.search(t) else 0) |
                       (4 if _MASK_NEAR.search(t) else 0) for t in texts], dtype=np.uint8)


def _kgram_digests(lists: list[list[str]], k: int) -> tuple[bytes, list[int]]:
    """The 8-byte BLAKE2b digest of every run of ``k`` words joined by spaces, comment after
    comment, and how many each comment has (what the history stores; see _scan.c)."""
    import hashlib

    if k < 1:
        raise ValueError("text_kgram_digests: k must be at least 1")
    out, counts = [], []
    for ws in lists:
        encoded = [w.encode("utf-8") for w in ws]
        n = max(len(encoded) - k + 1, 0)
        joined = memoryview(b" ".join(encoded))
        starts, at = [], 0
        for w in encoded:
            starts.append(at)
            at += len(w) + 1
        out += [hashlib.blake2b(joined[starts[i]:starts[i + k - 1] + len(encoded[i + k - 1])], digest_size=8).digest()
                for i in range(n)]
        counts.append(n)
    return b"".join(out), counts


def text_kgram_digests(texts: list[str], k: int) -> tuple[bytes, list[int], list[int]]:
    """The 8-byte BLAKE2b digest of every run of ``k`` words of each text (its runs of
    alphanumeric characters) joined by spaces, with how many k-grams and words each text has."""
    lists = [WORD_RUN.findall(text) for text in texts]
    digests, grams = _kgram_digests(lists, k)
    return digests, grams, [len(ws) for ws in lists]
