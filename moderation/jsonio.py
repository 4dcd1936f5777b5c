"""JSON in and out of the service and the command line, through orjson.

orjson parses and writes JSON several times faster than the standard library (reading, building
and writing each verdict's JSON had cost more than scoring it) and keeps a dict's key order, so a
verdict's fields come out in the order ``Verdict.to_dict`` gives them. What orjson refuses (lone
surrogate escapes, integers past 64 bits, NaN, nesting past 1,024 levels, bytes that are not
UTF-8) goes to the standard parser, so each such input gets the answer it got before: accepted and
then validated, or the standard library's own error, with its message.
"""
from __future__ import annotations

import json
from typing import Any

import orjson


def loads(raw: bytes | str) -> Any:
    """Parse JSON; raises what ``json.loads`` raises (and UnicodeDecodeError for bytes that are
    not UTF-8)."""
    return loads_checked(raw)[0]


def loads_checked(raw: bytes | str) -> tuple[Any, bool]:
    """``loads``, and whether every string in the value is known to be valid Unicode: true when
    orjson parsed it (it refuses lone surrogates), so callers skip checking each string again."""
    try:
        return orjson.loads(raw), True
    except orjson.JSONDecodeError:
        return json.loads(raw.decode("utf-8") if isinstance(raw, (bytes, bytearray, memoryview)) else raw), False


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, keys in insertion order."""
    return orjson.dumps(value)
