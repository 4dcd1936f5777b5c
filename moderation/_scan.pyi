# The compiled scanner (moderation/_scan.c). Its pure-Python twin, moderation/_scan_py.py, has the
# same functions with the same types; moderation/accel.py chooses one of the two.
from typing import Callable

from _typeshed import ReadableBuffer

def set_fold(fn: Callable[[str], str], /) -> None: ...
def normalize(text: str, /) -> str: ...
def scan(texts: list[str], tlds: set[str], /) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes]:
    """(doc, start, end int32, hash uint64, brk uint8) per token, flags uint8 per text, marks uint8 per token."""
def measure_volume(text: str, acronyms: set[str], acronyms_cased: bool, /
                   ) -> tuple[float, float, int, int, list[tuple[int, int, int]]]: ...
def grams(words: list[str], low: int, high: int, /) -> tuple[bytes, bytes]: ...
def grams_at(texts: list[str], doc: ReadableBuffer, start: ReadableBuffer, end: ReadableBuffer,
             low: int, high: int, /) -> tuple[bytes, bytes]: ...
def probe(slots: ReadableBuffer, shift: int, queries: ReadableBuffer, /) -> bytes: ...
def screen(texts: list[str], /) -> bytes:
    """Per text: 1 above ASCII, 2 letters spaced apart or dotted capitals, 4 a mask beside a letter."""
def terms_at(texts: list[str], doc: ReadableBuffer, start: ReadableBuffer, end: ReadableBuffer, /) -> list[str]: ...
def set_table(fn: Callable[[int], str], /) -> None: ...
def translate(texts: list[str], /) -> tuple[list[str | None], bytes]:
    """Each text through the normaliser's table (None: unchanged), and per text whether a character became other than one."""
def segment_sums(out: ReadableBuffer, k: int, group: ReadableBuffer, cols: ReadableBuffer, cols2: ReadableBuffer | None,
                 keep: ReadableBuffer | None, ext: ReadableBuffer, /) -> None:
    """out[group[i]] += ext[cols[i]] (+ ext[cols2[i]]) for kept items with a group; columns below 0 skipped."""
def pair_columns(table: ReadableBuffer, left: ReadableBuffer, right: ReadableBuffer, first_ok: ReadableBuffer,
                 second_ok: ReadableBuffer, slots: ReadableBuffer, shift: int, cols: ReadableBuffer, n_tok: int, /) -> bytes:
    """The word column (int64) of each bigram of tokens, or -1 (see moderation/_scan_py.py)."""
def take(out: ReadableBuffer, ext: ReadableBuffer, k: int, rows: ReadableBuffer, cols: ReadableBuffer, /) -> None:
    """out[i] = ext[rows[i] * k + cols[i]] (float64), 0 where rows[i] < 0."""
def text_kgram_digests(texts: list[str], k: int, /) -> tuple[bytes, list[int], list[int]]:
    """The 8-byte BLAKE2b digest of every run of k words (alphanumeric runs) joined by spaces, text
    after text, with each text's k-gram and word counts."""
def top_tokens(lo: ReadableBuffer, hi: ReadableBuffer, rule: ReadableBuffer, k: int, unigram: ReadableBuffer,
               pair_left: ReadableBuffer, pair_right: ReadableBuffer, pair_col: ReadableBuffer, table: ReadableBuffer,
               ext: ReadableBuffer, keep: ReadableBuffer, doc: ReadableBuffer, hashes: ReadableBuffer,
               stop_slots: ReadableBuffer, stop_shift: int, word_ext: ReadableBuffer, K: int, token_ext: ReadableBuffer,
               oov: ReadableBuffer, word_norm: ReadableBuffer, char_norm: ReadableBuffer,
               unit_token: ReadableBuffer, unit_share: ReadableBuffer, /) -> tuple[bytes, bytes, bytes]:
    """(flag, token, weight) of each learned-rule flag's heaviest tokens (see moderation/_scan_py.py)."""
