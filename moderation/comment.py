"""The one input type: a comment to check, with what repeat detection needs to know about it."""
from __future__ import annotations

from dataclasses import dataclass


# Not frozen: a frozen dataclass's __init__ costs several microseconds, a tenth of a whole check.
@dataclass(slots=True)
class Comment:
    text: str
    id: str | None = None
    thread: str | None = None
    author: str | None = None
    #: Remember this comment for repeat detection (False: check against history only).
    store: bool = True
