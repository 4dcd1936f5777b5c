"""How the history keeps a comment's fingerprints: packed integers in one byte order.

Schema 2 keeps, per comment, a 16-bit code of every word 5-gram (to measure how much of a new
comment an earlier one covers) and the 32-bit keys the comment is indexed by (winnowed from the
5-grams). A key's top 16 bits are the code at its position, and the positions are picked from the
codes (``fingerprints.codes_and_keys``), so SQLite's row keeps only each key's low 16 bits: enough
to delete the comment's index entries when it is forgotten. Schema 1 kept every 5-gram's full 64-bit
hash twice over (in the row and, winnowed, in an index by comment): about 1,300 bytes a comment
against about 400. Both are derived from the same 64-bit hashes (``fingerprints.kgram_hashes``), so
a schema-1 history converts exactly.
"""
from __future__ import annotations

import sys
from array import array
from typing import Iterable, Sequence

CODES = "H"    # unsigned 16-bit
_V1 = "q"      # schema 1: signed 64-bit


def pack(values: Iterable[int], typecode: str) -> bytes:
    """Little-endian bytes (a history file moves between machines); a value out of range raises."""
    packed = array(typecode, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes, typecode: str) -> tuple[int, ...]:
    packed = array(typecode)
    packed.frombytes(bytes(blob))
    if sys.byteorder == "big":
        packed.byteswap()
    return tuple(packed)


def pack_keys(codes: Sequence[int], keys: Sequence[int], check: bool = False) -> bytes:
    """The low halves of ``keys``, which must be ``fingerprints.codes_and_keys``' keys for
    ``codes``, in order (what ``print_batch`` gives). ``check`` proves it by unpacking them again:
    that costs as much as the rest of remembering a comment, so only the tests and migrations ask."""
    blob = pack([k & 0xFFFF for k in keys], CODES)
    if check and unpack_keys(codes, blob) != list(keys):
        raise ValueError("keys must be the winnowed keys of these codes (fingerprints.codes_and_keys)")
    return blob


def unpack_keys(codes: Sequence[int], blob: bytes) -> list[int]:
    """The full 32-bit keys again, from the codes and the packed low halves."""
    from ..fingerprints import winnow_positions

    low = unpack(blob, CODES)
    keys = [(codes[i] << 16) | half for i, half in zip(winnow_positions(codes), low)]
    return [k - (1 << 32) if k >= 1 << 31 else k for k in keys]


def from_schema_1(blob: bytes) -> tuple[list[int], list[int]]:
    """A schema-1 row's 64-bit hashes as schema 2 keeps them: (codes, index keys in order)."""
    from ..fingerprints import codes_and_keys

    hashes = array(_V1)
    hashes.frombytes(bytes(blob))   # schema 1 wrote the machine's own byte order
    return codes_and_keys(hashes)
