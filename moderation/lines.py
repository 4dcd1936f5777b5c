"""Lines of a stream as they come, and whether the next one is at hand without waiting.

``check --jsonl`` scores comments in batches of thousands (a batch has fixed costs). Read from a
file, a batch fills at once; read from a pipe that a comment feed writes to as comments arrive
(``tail -f comments.jsonl | moderation check --jsonl``), waiting for thousands would hold back the
verdicts of the comments already read. So the command asks ``ready()`` and, at a pause in its
input (``PAUSE``), checks and writes the batch it has.

The stream's descriptor is read directly (``os.read``) in chunks, and ``select`` says whether more
is there; a stream without one (a test's ``BytesIO``) is read as an iterator and is always ready.
"""
from __future__ import annotations

import os
import select
from collections import deque
from typing import BinaryIO, Iterator

CHUNK = 1 << 16
#: A pause: this long without input. A writer piping a file refills the pipe far sooner, so its
#: comments still go in whole batches; a feed that stops for longer gets its verdicts at once.
PAUSE = 0.01


class Lines:
    def __init__(self, stream: BinaryIO):
        self.stream = stream
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self._lines: deque[bytes] = deque()
        self._partial: list[bytes] = []   # the pieces of a line not ended yet (a long line in many chunks)
        self._eof = False

    def ready(self, wait: float = PAUSE) -> bool:
        """Whether the next line (or the end) comes within ``wait`` seconds."""
        if self._lines or self._eof or self.fd is None:
            return True
        try:
            readable, _, _ = select.select([self.fd], [], [], wait)
        except (OSError, ValueError):   # a descriptor select cannot watch: never wait on it
            return True
        return bool(readable)

    def __iter__(self) -> Iterator[bytes]:
        if self.fd is None:
            yield from self.stream
            return
        while True:
            while self._lines:
                yield self._lines.popleft()
            if self._eof:
                return
            chunk = os.read(self.fd, CHUNK)
            if not chunk:
                self._eof = True
                if self._partial:
                    self._lines.append(b"".join(self._partial))
                    self._partial = []
                continue
            parts = chunk.split(b"\n")
            if len(parts) > 1:
                self._partial.append(parts[0])
                self._lines.append(b"".join(self._partial) + b"\n")
                self._lines.extend(part + b"\n" for part in parts[1:-1])
                self._partial = [parts[-1]] if parts[-1] else []
            else:
                self._partial.append(chunk)
