"""One normaliser for every detector: the comment as it reads, however it is dressed.

Commenters who want a word or a link past a filter disguise it: zero-width characters inside the
word, look-alike letters from other scripts (a Cyrillic "с" in "fuсk"), styled letters (𝐟𝐮𝐜𝐤,
ｆｕｃｋ), combining accents, letters spaced or dotted apart ("f u c k", "s.h.i.t"), masks
("f---ing", "s--t", "aXXhole"), ideographic full stops in a domain ("cheap-pills。com"). Every
detector reads the comment through ``Normaliser.normalise``, which undoes these, and keeps a map
from each character of the result back to the original, so evidence always points at the text as
the commenter wrote it.

Character by character (linear, cached per code point):

- Unicode NFKC (fullwidth and mathematical letters become plain ones; "…" becomes "...");
- format and invisible characters (category Cf: zero-width space, joiners, word joiner, BOM, soft
  hyphen, bidirectional controls) removed, and so are combining marks (after decomposition: "é"
  becomes "e", and stacked accents vanish);
- letters of other scripts that are confusable with Latin letters, by Unicode's own confusables
  data (TR39, through the ``confusable_homoglyphs`` package), become those Latin letters; other
  characters are kept;
- the ideographic full stops U+3002 and U+FF61 become "." (a disguised domain dot).

Word by word, against the foul-language lexicon (only where the result is a lexicon word, so
nothing else is touched):

- single letters separated by spaces, dots, dashes, underscores or line breaks are joined;
- masked words (letters with ``-`` runs, ``#``, ``@``, ``%``, ``_``, dashes, or capital ``X`` for
  letters) become the lexicon word of that shape. (Stars, stretched letters and leet digits are
  matched by the lexicon itself on the tokens.)

Most comments need none of this: ``needs_work`` (a pass in C when the scanner is built) says which
do, and the others are returned as they are.
"""
from __future__ import annotations

import bisect
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

import numpy as np

from . import accel
from .lexicon import Lexicon
from .text import normalize as fold_text

#: Characters that stand for a dot in a disguised domain.
_FULL_STOPS = {"\u3002": ".", "\uff61": "."}
#: Kept as they are although NFKC would change them: the tokeniser and the sentence splitter read
#: them already, and keeping them keeps most comments' offsets as they are.
_KEPT = {"\u2026"}


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Non-ASCII letters confusable with one ASCII letter (Unicode's confusables data)."""
    data = json.loads((resources.files("confusable_homoglyphs") / "confusables.json").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        for h in homoglyphs:
            c = h.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalpha():
                out[char] = c
                break
    return out


class _Table(dict):
    """Code point -> replacement (``str.translate`` table), computed on first use of each."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if code < 128 or char in _KEPT:
            out = char
        elif char in _FULL_STOPS:
            out = _FULL_STOPS[char]
        elif unicodedata.category(char) == "Cf":
            out = ""
        else:
            pieces = []
            confusables = _confusables()
            for c in unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char)):
                if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me"):
                    continue
                pieces.append(confusables.get(c, c) if not c.isascii() else c)
            # Recomposed: a Hangul syllable decomposes into letters that are no marks.
            out = unicodedata.normalize("NFC", "".join(pieces))
        self[code] = out
        return out


TABLE = _Table()
_ABOVE_ASCII = re.compile(r"[^\x00-\x7f]")
accel.set_table(TABLE.__getitem__)


class _Lazy:
    """The offsets of a text put through the table, made when first needed."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def make(self) -> list[int]:
        changing = [c for c in set(_ABOVE_ASCII.findall(self.text)) if len(TABLE[ord(c)]) != 1]
        return _offsets(self.text, changing)


def _offsets(text: str, changing: list[str]) -> list[int]:
    """The original index of each character of ``text.translate(TABLE)``, where the characters in
    ``changing`` become other than one character: runs of one for one, then each changing
    character's index as often as its replacement is long."""
    if not changing:
        return list(range(len(text)))
    if sum(text.count(c) for c in changing) > 64:
        # Many: by arrays, in one pass (a run of thousands of zero-width characters).
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        lengths = np.ones(len(points), dtype=np.int64)
        for c in changing:
            lengths[points == ord(c)] = len(TABLE[ord(c)])
        return np.repeat(np.arange(len(points)), lengths).tolist()
    out: list[int] = []
    at = 0
    for m in re.finditer("[" + "".join(re.escape(c) for c in sorted(changing)) + "]", text):
        i = m.start()
        out += range(at, i)
        out += [i] * len(TABLE[ord(text[i])])
        at = i + 1
    out += range(at, len(text))
    return out


_LETTER = r"[^\W\d_]"
#: Runs of three or more single letters separated by a space, dot, dash, underscore or line break.
_SPACED = re.compile(rf"(?<![^\W_]){_LETTER}(?:[ .\-_\n\r\t]{{1,3}}+{_LETTER}(?![^\W_])){{2,}}+")
#: Where a mask may be: a mask character, a double dash, a capital X.
_MASK_SPOT = re.compile(r"[*#@%_\u2013\u2014]|--|X")
#: A run of word and mask characters (matched forwards, and backwards on the reversed text).
_WORD_RUN = re.compile(r"[\w*#@%\-\u2013\u2014]*")


def _masked_words(chars: str) -> list[tuple[int, int]]:
    """Spans of the runs of word and mask characters that hold a mask spot (3 to 40 long): from
    each spot (they are few) the run is followed right, and left on the reversed text, each by one
    match; a run is followed once, so the work is linear in the text."""
    spans, end, n, reverse = [], -1, len(chars), None
    for m in _MASK_SPOT.finditer(chars):
        if m.start() < end:
            continue
        if reverse is None:
            reverse = chars[::-1]
        at = n - m.start()            # reverse[at] is the character before the spot
        start = m.start() - (_WORD_RUN.match(reverse, at).end() - at)
        end = _WORD_RUN.match(chars, m.end()).end()
        if 3 <= end - start <= 40:
            spans.append((start, end))
    return spans


_MASK_CHARS = re.compile(r"[*#@%_\-\u2013\u2014]")
#: The longest word a run of spaced letters is searched for.
_LONGEST = 16
_MISSING = object()
_REAL_DASH_MASK = re.compile(r"--|\w-$|^\w-")
_X_MASK = re.compile(r"(?<=[a-z])X|X(?=[a-z])")
_SHORT_TRAILING_MASK = re.compile(r"[^\W\d_][#@%_\-\u2013\u2014]{1,2}")
#: Capitals spaced or dotted apart ("T H I S", "W.A.K.E"): shouting, joined into words.
_SPACED_CAPS = re.compile(r"(?<![\w.])[A-Z](?:( )[A-Z](?![\w.])(?:\1[A-Z](?![\w.]))*+|(\.)[A-Z](?:\2[A-Z])*+\.?(?![\w.]))")
#: What ``accel.screen`` flags: a character above ASCII; letters spaced apart (or dotted capitals);
#: a mask beside a letter. A comment with none is returned as it is.
ABOVE_ASCII, SPACED, MASKED = 1, 2, 4


def screen(texts: Sequence[str]) -> list[int]:
    """``accel.screen`` of every text (a pass in C when the scanner is built)."""
    return list(bytes(accel.screen(list(texts))))


class _Spans:
    """Disjoint spans, sorted: does a new one overlap any? (log time, so many edits stay linear)."""

    def __init__(self, spans):
        spans = sorted(spans)
        self.starts, self.ends = [a for a, _ in spans], [b for _, b in spans]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)
        return i > 0 and self.ends[i - 1] > start

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


class Normalised:
    """A comment as the detectors read it, and a map back: ``span`` gives the original span of a
    span of ``text`` (the map is made only when a span is asked for: most comments never are)."""

    __slots__ = ("text", "original", "_offsets", "_make")

    def __init__(self, text: str, original: str, offsets=None, make=None):
        self.text, self.original, self._offsets, self._make = text, original, offsets, make

    @property
    def offsets(self):
        """The index in the original of each character of ``text`` (None: the same, one for one)."""
        if self._offsets is None and self._make is not None:
            self._offsets, self._make = self._make(), None
        return self._offsets

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        offsets = self.offsets
        if offsets is None or start >= end:
            return start, end
        return offsets[start], offsets[end - 1] + 1

    def __eq__(self, other) -> bool:
        return isinstance(other, Normalised) and (self.text, self.original) == (other.text, other.original)

    def __repr__(self) -> str:
        return f"Normalised({self.text!r}, {self.original!r})"


class Normaliser:
    """``normalise(text)`` for a lexicon (which words may be joined or unmasked)."""

    def __init__(self, lexicon: Lexicon | None):
        self.lexicon = lexicon
        self._unmask_cache: dict[str, str | None] = {}

    def normalise(self, text: str, flag: int | None = None) -> Normalised:
        """``text`` as the detectors read it; ``flag`` is its ``screen`` flag when known."""
        found = self.normalise_many([text], None if flag is None else [flag])
        return found.get(0) or Normalised(text, text)

    def normalise_many(self, texts: Sequence[str], flags: Sequence[int] | None = None) -> dict[int, Normalised]:
        """``normalise`` of the texts it changes, by their index (most texts need nothing and are
        not in the result). Each step runs over the whole batch at once: the screen, the
        character table (in C when the scanner is built), the screen again of what the table
        changed, then the word-by-word pass over the few texts the screens flag."""
        flags = np.frombuffer(bytes(accel.screen(list(texts))), dtype=np.uint8).copy() if flags is None else \
            np.asarray(flags, dtype=np.uint8).copy()
        above = np.flatnonzero(flags & ABOVE_ASCII).tolist()
        chars: dict[int, str] = {}
        lazy: dict[int, _Lazy] = {}
        if above:
            translated, reshaped = accel.translate([texts[i] for i in above])
            changed = [(i, t, r) for i, t, r in zip(above, translated, reshaped) if t is not None]
            # A character removed, or become a space or a dot, may leave letters standing apart or
            # masked only now: what the table changed is screened again.
            again = screen([t for _, t, _ in changed]) if changed else []
            for (i, t, r), f in zip(changed, again):
                chars[i] = t
                flags[i] |= f
                if r:
                    lazy[i] = _Lazy(texts[i])
        out = {}
        for i in np.flatnonzero(flags).tolist():
            f = int(flags[i])
            text = texts[i]
            current = chars.get(i, text)
            offsets: object = lazy.get(i)
            if f & (SPACED | MASKED):
                current, offsets = self._words(current, offsets, f)
            if current == text:
                continue
            if isinstance(offsets, _Lazy):
                out[i] = Normalised(current, text, make=offsets.make)
            else:
                out[i] = Normalised(current, text, offsets)
        return out

    # --- word by word ----------------------------------------------------------------------------

    def _words(self, chars: str, offsets, flag: int):
        """Spaced and masked lexicon words of ``chars`` joined and unmasked; ``offsets`` (a list, a
        ``_Lazy`` or None) is made a list only when something is edited."""
        edits: list[tuple[int, int, str, list[int] | None]] = []   # (start, end, replacement, its positions)
        caps = list(_SPACED_CAPS.finditer(chars)) if flag & SPACED else []
        # Two spaced or dotted capitals are a word only beside a longer run ("T H I S  I S"), so
        # "vitamin B C" and "U.S." stay as they are.
        if any(sum(c.isalpha() for c in m.group(0)) >= 3 for m in caps):
            for m in caps:
                letters = [(i, c) for i, c in enumerate(m.group(0), m.start()) if c.isalpha()]
                edits.append((m.start(), m.end(), "".join(c for _, c in letters), [i for i, _ in letters]))
        taken = _Spans([(a, b) for a, b, _, _ in edits])
        for m in _SPACED.finditer(chars) if self.lexicon is not None and flag & SPACED else ():
            if taken.overlaps(m.start(), m.end()):
                continue
            letters = [(i, c) for i, c in enumerate(m.group(0), m.start()) if c.isalpha()]
            for first, last in self._words_in(letters):
                a, b = letters[first][0], letters[last][0] + 1
                edits.append((a, b, "".join(c for _, c in letters[first:last + 1]),
                              [i for i, _ in letters[first:last + 1]]))
                taken.add(a, b)
        for start, end in _masked_words(chars) if self.lexicon is not None and flag & MASKED else ():
            if taken.overlaps(start, end):
                continue
            word = self._unmask(chars[start:end])
            if word is not None:
                edits.append((start, end, word, None))
                taken.add(start, end)
        if not edits:
            return chars, offsets
        edits.sort()
        if isinstance(offsets, _Lazy):
            offsets = offsets.make()
        where = offsets if offsets is not None else list(range(len(chars)))
        out, out_offsets, at = [], [], 0
        for start, end, word, positions in edits:
            out.append(chars[at:start])
            out_offsets += where[at:start]
            out.append(word)
            if positions is not None:
                out_offsets += [where[p] for p in positions]
            elif len(word) == end - start:   # a masked word as long as written: letter for letter
                out_offsets += where[start:end]
            else:   # a masked word stands where it was written, its letters spread over it
                span = end - start
                out_offsets += [where[start + min(k * span // max(len(word), 1), span - 1)] for k in range(len(word))]
            at = end
        out.append(chars[at:])
        out_offsets += where[at:]
        return "".join(out), out_offsets

    def _words_in(self, letters: list[tuple[int, str]]) -> list[tuple[int, int]]:
        """The lexicon words the letters of a spaced run spell, leftmost and longest first, as
        (first, last) letter indices: "a b c f u c k" holds "fuck", not "abcfuck". Each start tries
        at most ``_LONGEST`` lengths, so a run costs its length."""
        found, i, n = [], 0, len(letters)
        text = "".join(c for _, c in letters).lower()
        prefixes, whole = self.lexicon.word_prefixes, self.lexicon.whole_word
        # A word here is 3 letters or more, each beginning of it a beginning of a lexicon word:
        # a start whose first three letters begin none is passed over at once.
        three = self.lexicon.word_beginnings(3)
        while i <= n - 3:
            if three is not None and text[i:i + 3] not in three:
                i += 1
                continue
            best = None
            for j in range(i + 1, min(n, i + _LONGEST) + 1):
                piece = text[i:j]
                if j - i >= 3 and whole(piece):
                    best = j
                elif piece not in prefixes:
                    break
            if best is None:
                i += 1
            else:
                found.append((i, best - 1))
                i = best
        return found

    def _unmask(self, token: str) -> str | None:
        """The lexicon word a masked token stands for, or None (a hyphenated word, a handle...);
        remembered per token, as the same disguises come again and again."""
        found = self._unmask_cache.get(token, _MISSING)
        if found is _MISSING:
            found = self._unmask_new(token)
            if len(self._unmask_cache) < 100_000:
                self._unmask_cache[token] = found
        return found

    def _unmask_new(self, token: str) -> str | None:
        if "-" in token and not _REAL_DASH_MASK.search(token):
            return None   # a single hyphen between words is a compound ("well-known"), not a mask
        if _SHORT_TRAILING_MASK.fullmatch(token):
            return None   # "A--", "B--": a list's letters, not "ass" (a letter and three masks is: "f---")
        masked = _MASK_CHARS.sub("*", token)
        if "X" in token.strip("X") or _X_MASK.search(token):   # FXXK, aXXhole (not XXX, TAX)
            masked = masked.replace("X", "*")
        if "*" not in masked or not any(c.isalpha() for c in masked.replace("*", "")):
            return None
        return self.lexicon.unmask(masked.lower())
