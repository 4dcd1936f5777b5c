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

import json
import operator
from itertools import chain, compress, repeat
import re
import unicodedata
from functools import cached_property, lru_cache
from importlib import resources
from typing import Sequence

import numpy as np

from . import accel
from .lexicon import Lexicon
from .text import MASK_INITIALS

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
        points = _codes(text)
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
#: A run of word and mask characters holding a mask spot (a mask character, a double dash, a
#: capital X; or beginning "f-", "a-" or "d-" and a letter: "f-ing", "a-hole", "d-bag"), from its
#: first character to its last. The look-ahead reads a run at most once: a run without a spot
#: fails it, and every later place in that run fails the look-behind at once.
_MASKED_RUN = re.compile(r"(?<![\w*#@%\-\u2013\u2014])"
                         rf"(?=[{MASK_INITIALS}]-[^\W\d_]|[\w*#@%\-\u2013\u2014]*?(?:[*#@%_\u2013\u2014]|--|X))"
                         r"[\w*#@%\-\u2013\u2014]++")
#: What may stand between spaced letters (``_SPACED``): not a letter of the word.
_SEPARATORS = " .-_\n\r\t"


def _codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _ascii(test) -> np.ndarray:
    return np.array([test(chr(c)) for c in range(128)], dtype=bool)


_ALNUM_ASCII, _LETTER_ASCII = _ascii(str.isalnum), _ascii(str.isalpha)
_SEPARATOR_ASCII = _ascii(lambda c: c in _SEPARATORS)
#: Word and mask characters (``[\w*#@%\-\u2013\u2014]``) and mask spots below 128; the two
#: dashes above it are compared apart.
_RUN_ASCII = _ascii(lambda c: c.isalnum() or c in "_*#@%-")
_SPOT_ASCII = _ascii(lambda c: c in "*#@%_X")
_EN_DASH, _EM_DASH, _DASH = 0x2013, 0x2014, ord("-")
#: The letters whose "x-" begins a profanity's abbreviation ("f-ing", "a-hole", "d-bag").
_INITIALS = np.array([ord(c) for c in MASK_INITIALS], dtype=np.uint32)
#: Where a mask may be (what ``_MASKED_RUN`` looks ahead for), a spot: a mask character, "--", a
#: capital X, or "f-", "a-", "d-" before a letter (and after no word or mask character). Spots are
#: found at the characters they begin with or, for "f-", hold second (one class, which the engine
#: skips to; a pattern of the four alternatives was tried at every character), each checked then.
_SPOT_CHAR = re.compile(r"[*#@%_\u2013\u2014X-]")
_INITIAL_SPOT = re.compile(rf"(?<![\w*#@%\-\u2013\u2014])[{MASK_INITIALS}]-(?=[^\W\d_])")
#: The run of word and mask characters around a spot.
_WORD_RUN = re.compile(r"[\w*#@%\-\u2013\u2014]*")
#: From this length a text's runs are found in arrays; below it, by the patterns.
_ARRAYS_FROM = 2000


class _Classes:
    r"""A text's characters as code points, and which are alphanumeric (``[^\W_]``) and letters
    (``[^\W\d_]``), as the regular expression engine reads them: the spans ``_SPACED`` and
    ``_MASKED_RUN`` find, found in arrays (a text of thousands of disguised words costs a few
    passes over arrays, not a pattern tried at each of its characters; a short text is read by the
    patterns). ``spaced_runs`` and ``masked_runs`` are those patterns' ``finditer`` spans exactly;
    the tests hold them to it."""

    def __init__(self, chars: str):
        self.chars = chars

    @cached_property
    def points(self) -> np.ndarray:
        return _codes(self.chars)

    @cached_property
    def small(self) -> np.ndarray:
        """The code points below 128, and 0 (NUL: in no table) for the others."""
        return np.where(self.points > 127, 0, self.points)

    @cached_property
    def _alnum_letter(self) -> tuple[np.ndarray, np.ndarray]:
        # Below 128 by tables; a character above it is looked up once however often it comes.
        points, small = self.points, self.small
        alnum, letter = _ALNUM_ASCII[small], _LETTER_ASCII[small]
        wide = np.flatnonzero(points > 127)
        if len(wide):
            codes, where = np.unique(points[wide], return_inverse=True)
            found = [chr(c) for c in codes.tolist()]
            wide_alnum = np.array([c.isalnum() for c in found], dtype=bool)
            # \d is a decimal digit: "²" is alphanumeric, not a digit, so a letter to the engine.
            wide_letter = wide_alnum & ~np.array([c.isdecimal() for c in found], dtype=bool)
            alnum[wide], letter[wide] = wide_alnum[where], wide_letter[where]
        return alnum, letter

    @property
    def alnum(self) -> np.ndarray:
        return self._alnum_letter[0]

    @property
    def letter(self) -> np.ndarray:
        return self._alnum_letter[1]

    def _by_arrays(self, by_arrays: bool | None) -> bool:
        # Arrays cost a few dozen calls whatever the length: a short text is quicker by pattern.
        return len(self.chars) >= _ARRAYS_FROM if by_arrays is None else by_arrays

    def spaced_runs(self, by_arrays: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``_SPACED``: chains of three or more single letters (no letter or digit either side),
        each next to the next across one to three separators and nothing else."""
        if not self._by_arrays(by_arrays):
            return _spans(_SPACED.finditer(self.chars))
        alnum = self.alnum
        beside = np.zeros(len(alnum) + 2, dtype=bool)
        beside[2:] |= alnum            # beside[i + 1]: the character before i...
        beside[:-2] |= alnum           # ...or the one after it is alphanumeric
        single = np.flatnonzero(self.letter & ~beside[1:-1])
        if len(single) < 3:
            return single[:0], single[:0]
        separators = np.concatenate(([0], np.cumsum(_SEPARATOR_ASCII[self.small])))
        gap = np.diff(single) - 1
        link = (gap >= 1) & (gap <= 3) & (separators[single[1:]] - separators[single[:-1] + 1] == gap)
        first, last = _segments(link)
        keep = last - first >= 2                    # two links or more: three letters
        return single[first[keep]], single[last[keep]] + 1

    def masked_runs(self, by_arrays: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``_MASKED_RUN``: the longest runs of word and mask characters holding a mask spot (a
        mask character, a capital X, a double dash)."""
        if not self._by_arrays(by_arrays):
            return self._masked_runs_from_spots()
        points, small = self.points, self.small
        dashes = (points == _EN_DASH) | (points == _EM_DASH)
        run = _RUN_ASCII[small] | self.alnum | dashes
        spot = _SPOT_ASCII[small] | dashes
        dash = small == _DASH
        spot[:-1] |= dash[:-1] & dash[1:]
        starts, ends = _segments(run)
        spots = np.concatenate(([0], np.cumsum(spot)))
        keep = spots[ends] > spots[starts]
        # A run that begins "f-", "a-" or "d-" and a letter ("f-ing", "a-hole") is a mask too.
        long_ = np.flatnonzero(~keep & (ends - starts >= 3))
        if len(long_):
            at = starts[long_]
            keep[long_] = np.isin(small[at], _INITIALS) & (small[at + 1] == _DASH) & \
                self.letter[at + 2]
        return starts[keep], ends[keep]

    def _masked_runs_from_spots(self) -> tuple[np.ndarray, np.ndarray]:
        """``masked_runs`` of a short text, as arrays."""
        flat = np.array([x for span in self.masked_spans() for x in span], dtype=np.int64)
        return flat[0::2], flat[1::2]

    def masked_spans(self) -> list[tuple[int, int]]:
        """``masked_runs`` of a short text, as (start, end) pairs: from each mask spot (the engine
        skips to them; they are few) the run is followed right, and left on the reversed text,
        each by one match; a run is followed once."""
        chars, spans, end, n, reverse = self.chars, [], -1, len(self.chars), None
        for m in _SPOT_CHAR.finditer(chars):
            spot = m.start()
            if spot < end:
                continue
            if chars[spot] == "-":
                # A dash is a spot as the second character of "f-" before a letter (the spot then
                # begins at the letter), or beginning "--"; alone, it is not.
                if spot > 0 and spot - 1 >= end and chars[spot - 1] in MASK_INITIALS \
                        and _INITIAL_SPOT.match(chars, spot - 1):
                    spot -= 1
                elif not chars.startswith("--", spot):
                    continue
            if reverse is None:
                reverse = chars[::-1]
            at = n - spot                 # reverse[at] is the character before the spot
            # Every character of a spot is a run character: the run from its start is the run past it.
            end = _WORD_RUN.match(chars, spot).end()
            spans.append((spot - (_WORD_RUN.match(reverse, at).end() - at), end))
        return spans


def _spans(matches) -> tuple[np.ndarray, np.ndarray]:
    """The starts and ends of regular expression matches, as arrays."""
    flat = np.fromiter(chain.from_iterable(m.span() for m in matches), dtype=np.int64)
    return flat[0::2], flat[1::2]


def _segments(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The starts and ends of the runs of True in ``flags``."""
    edges = np.diff(np.concatenate(([False], flags, [False])).view(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


_NO_SPANS = np.zeros(0, dtype=np.int64)
_NO_SPANS.flags.writeable = False
#: The characters that stand for a letter in a masked word ("d***", "d--n", "c_ap", "sh#t", "b@@@@");
#: the foul detector reads the same ones when it asks whether a mask may hide a mild word.
MASK_CHARS = "*#@%_-\u2013\u2014"
_MASK_CHARS = re.compile(f"[{re.escape(MASK_CHARS)}]")
#: The shortest and the longest word a run of spaced letters is searched for.
_SHORTEST, _LONGEST = 3, 16
_MISSING = object()
_REAL_DASH_MASK = re.compile(r"--|\w-$|^\w-")
_INITIAL_DASH = re.compile(rf"[{MASK_INITIALS}]-[^\W\d_]+")
_DASHES = re.compile("[-\u2013\u2014]")
_X_MASK = re.compile(r"(?<=[a-z])X|X(?=[a-z])")
_SHORT_TRAILING_MASK = re.compile(r"[^\W\d_][#@%_\-\u2013\u2014]{1,2}")
#: Capitals spaced or dotted apart ("T H I S", "W.A.K.E"): shouting, joined into words. The first
#: capital comes first and what is before it is looked at after, so the engine skips to capitals.
_SPACED_CAPS = re.compile(r"[A-Z](?<![\w.][A-Z])(?:( )[A-Z](?![\w.])(?:\1[A-Z](?![\w.]))*+|(\.)[A-Z](?:\2[A-Z])*+\.?(?![\w.]))")
#: What ``accel.screen`` flags: a character above ASCII; letters spaced apart (or dotted capitals);
#: a mask beside a letter. A comment with none is returned as it is.
ABOVE_ASCII, SPACED, MASKED = 1, 2, 4


def screen(texts: Sequence[str]) -> list[int]:
    """``accel.screen`` of every text (a pass in C when the scanner is built)."""
    return list(bytes(accel.screen(list(texts))))


def _lower(letters: str) -> str:
    """``letters`` in lower case, one character for one (a letter whose lower case is longer, "İ",
    keeps its first), so indices into it are indices into ``letters``."""
    lower = letters.lower()
    return lower if len(lower) == len(letters) else "".join(c.lower()[:1] or c for c in letters)


def _taken(kinds) -> tuple[np.ndarray, np.ndarray] | None:
    """The spans of the edits found so far (disjoint), sorted, or None."""
    kinds = [k for k in kinds if len(k[0])]
    if not kinds:
        return None
    starts, ends = np.concatenate([k[0] for k in kinds]), np.concatenate([k[1] for k in kinds])
    order = np.argsort(starts, kind="stable")
    return starts[order], ends[order]


def _outside(taken: tuple[np.ndarray, np.ndarray], starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which of the spans (``starts``, ``ends``) overlap none of the ``taken`` ones (sorted,
    disjoint)."""
    left, right = taken
    # The last span beginning before a span's end is the only one that can overlap it.
    i = np.searchsorted(left, ends, side="left")
    return (i == 0) | (right[np.maximum(i - 1, 0)] <= starts)


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
        return int(offsets[start]), int(offsets[end - 1]) + 1

    def __eq__(self, other) -> bool:
        return isinstance(other, Normalised) and (self.text, self.original) == (other.text, other.original)

    def __repr__(self) -> str:
        return f"Normalised({self.text!r}, {self.original!r})"


class _Edits:
    """Word edits of a text, in arrays sorted by start (they are disjoint): each replaces
    ``chars[start:end]`` by its word. A word "by letter" is the letters of its span without the
    separators between them (spaced letters, spaced capitals); another is a masked word, as long
    as what was written (most: it is written over it) or not (its letters are spread over it).
    ``apply`` gives the text, and ``make`` (called when a span is first asked for) its offsets."""

    __slots__ = ("chars", "offsets", "starts", "ends", "words", "by_letter")

    def __init__(self, chars: str, offsets, starts, ends, words: list[str], by_letter):
        self.chars, self.offsets = chars, offsets
        if len(starts) > 1 and (np.diff(starts) < 0).any():
            order = np.argsort(starts, kind="stable")
            starts, ends, by_letter = starts[order], ends[order], by_letter[order]
            words = list(operator.itemgetter(*order.tolist())(words))
        self.starts, self.ends, self.words, self.by_letter = starts, ends, words, by_letter

    def _inside(self, which: np.ndarray) -> np.ndarray:
        """Which characters are inside an edit marked in ``which``."""
        marks = np.zeros(len(self.chars) + 1, dtype=np.int64)
        np.add.at(marks, self.starts[which], 1)
        np.add.at(marks, self.ends[which], -1)
        return np.cumsum(marks[:-1]) > 0

    def _plan(self):
        """The characters kept (separators inside by-letter edits are not), and which masked
        edits are not as long as written."""
        points = _codes(self.chars)
        keep = ~(self._inside(self.by_letter) & _SEPARATOR_ASCII[np.where(points > 127, 0, points)])
        lengths = np.fromiter(map(len, self.words), dtype=np.int64, count=len(self.words))
        spread = ~self.by_letter & (lengths != self.ends - self.starts)
        return points, keep, lengths, spread

    def apply(self) -> str:
        points, keep, lengths, spread = self._plan()
        if spread.any():   # a word longer or shorter than written: spliced in, piece by piece
            chars, starts, ends = self.chars, self.starts.tolist(), self.ends.tolist()
            out = [None] * (2 * len(starts) + 1)
            out[::2] = [chars[a:b] for a, b in zip([0] + ends, starts + [len(chars)])]
            out[1::2] = self.words
            return "".join(out)
        masked = np.flatnonzero(~self.by_letter)
        if len(masked):   # each masked word written over what it stands for
            points = points.copy()
            size = lengths[masked]
            at = np.repeat(self.starts[masked] - (np.cumsum(size) - size), size) + np.arange(size.sum())
            points[at] = _codes("".join([self.words[i] for i in masked.tolist()]))
        return points[keep].tobytes().decode("utf-32-le", "surrogatepass")

    def make(self) -> np.ndarray:
        """In arrays: the characters kept, each masked word's letters spread over what was
        written where it is not as long, in order of where they stand."""
        offsets = self.offsets
        if isinstance(offsets, _Lazy):
            offsets = offsets.make()
        _, keep, lengths, spread = self._plan()
        if spread.any():
            keep &= ~self._inside(spread)
            size, first, count = (self.ends - self.starts)[spread], self.starts[spread], lengths[spread]
            k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
            # The first letter on the first written character and the last on the last, so a
            # span of the word covers all that was written ("a-hole" read as "ahole").
            letters = np.repeat(first, count) + np.minimum(
                k * (np.repeat(size, count) - 1) // np.repeat(np.maximum(count - 1, 1), count), np.repeat(size, count) - 1)
            index = np.sort(np.concatenate([np.flatnonzero(keep), letters]), kind="stable")
        else:
            index = np.flatnonzero(keep)
        return index if offsets is None else np.asarray(offsets, dtype=np.int64)[index]


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
            out[i] = Normalised(current, text, make=None if offsets is None else offsets.make)
        return out

    # --- word by word ----------------------------------------------------------------------------

    def _words(self, chars: str, offsets, flag: int):
        """Spaced and masked lexicon words of ``chars`` joined and unmasked, and the ``_Edits``
        that make the offsets (from ``offsets``, a ``_Lazy`` or None) when they are asked for.
        Each kind of edit is found by a pass over the text's characters in arrays, and checked
        against the others in arrays: a text of thousands of disguised words costs a few passes,
        not thousands."""
        kinds = []   # (starts, ends, words, by letter) of each kind
        caps = list(_SPACED_CAPS.finditer(chars)) if flag & SPACED else []
        # Two spaced or dotted capitals are a word only beside a longer run ("T H I S  I S"), so
        # "vitamin B C" and "U.S." stay as they are.
        if any(len(m.group(0)) >= 5 and sum(c.isalpha() for c in m.group(0)) >= 3 for m in caps):
            spans = np.fromiter(chain.from_iterable(m.span() for m in caps), dtype=np.int64, count=2 * len(caps))
            # Capitals and one kind of separator: the words are the matches without " " and ".".
            words = "\x00".join([m.group(0) for m in caps]).replace(" ", "").replace(".", "").split("\x00")
            kinds.append((spans[0::2], spans[1::2], words, True))
        classes = _Classes(chars) if self.lexicon is not None else None
        if classes is not None and flag & SPACED:
            kinds.append(self._spaced_words(chars, classes, _taken(kinds)) + (True,))
        if classes is not None and flag & MASKED:
            kinds.append(self._unmasked_words(chars, classes, _taken(kinds)) + (False,))
        kinds = [k for k in kinds if len(k[0])]
        if not kinds:
            return chars, offsets
        edits = _Edits(chars, offsets, np.concatenate([k[0] for k in kinds]), np.concatenate([k[1] for k in kinds]),
                       [w for k in kinds for w in k[2]],
                       np.concatenate([np.full(len(k[0]), k[3], dtype=bool) for k in kinds]))
        return edits.apply(), edits

    def _unmasked_words(self, chars: str, classes: _Classes, taken) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The lexicon words masked runs stand for, as edits; a run overlapping ``taken`` is left.
        A text repeats its disguises, so each distinct run is unmasked once."""
        unmask = self._unmask
        if taken is None and not classes._by_arrays(None):
            # A short text's few runs, read one by one: most (a hashtag, "word--word", a link's
            # "#anchor") stand for no word, and arrays would cost more than reading them.
            found = [(a, b, w) for a, b in classes.masked_spans() if 3 <= b - a <= 40
                     and (w := unmask(chars[a:b])) is not None]
            if not found:
                return _NO_SPANS, _NO_SPANS, []
            return (np.array([f[0] for f in found], dtype=np.int64), np.array([f[1] for f in found], dtype=np.int64),
                    [f[2] for f in found])
        starts, ends = classes.masked_runs()
        if not len(starts):
            return starts, ends, []
        keep = (ends - starts >= 3) & (ends - starts <= 40)
        if taken is not None:
            keep &= _outside(taken, starts, ends)
        starts, ends = starts[keep], ends[keep]
        tokens = [chars[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
        known = {t: unmask(t) for t in set(tokens)}
        words = list(map(known.__getitem__, tokens))
        found = np.fromiter(map(operator.is_not, words, repeat(None)), dtype=bool, count=len(words))
        return starts[found], ends[found], list(compress(words, found))

    def _spaced_words(self, chars: str, classes: _Classes, taken) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The lexicon words the runs of spaced letters spell (leftmost and longest first: "a b c f
        u c k" holds "fuck", not "abcfuck"), as edits; letters inside ``taken`` are not read, and
        no word is spelled across them ("T H I S f u c k": "fuck"). The
        runs' letters are read as one text (runs apart by a character no word holds), so the
        lexicon's word pattern passes over all of them once."""
        if taken is None and not classes._by_arrays(None):
            return self._spaced_words_short(chars)
        starts, ends = classes.spaced_runs()
        if not len(starts):
            return starts, ends, []
        points = classes.points
        marks = np.zeros(len(points) + 1, dtype=np.int32)
        marks[starts] = 1    # runs are disjoint and never touch: no start is another's end
        marks[ends] = -1
        read = np.cumsum(marks[:-1]) > 0
        if taken is not None:   # capitals already joined: the letters around them may still spell a word
            marks[:] = 0
            np.add.at(marks, taken[0], 1)
            np.add.at(marks, taken[1], -1)
            read &= np.cumsum(marks[:-1]) <= 0
            starts, _ = _segments(read)
        at = np.flatnonzero(read & ~_SEPARATOR_ASCII[classes.small])
        # The runs' letters as one text, a "\x00" between two runs so that no word spans both.
        between = np.searchsorted(at, starts[1:])
        letters = np.insert(points[at], between, 0).astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
        where = np.insert(at, between, -1)   # each letter's index in chars
        found = [m.span() for m in self.lexicon.spelled_words(_SHORTEST, _LONGEST).finditer(_lower(letters))]
        first = np.fromiter((i for i, _ in found), dtype=np.int64, count=len(found))
        last = np.fromiter((j for _, j in found), dtype=np.int64, count=len(found))
        return where[first], where[last - 1] + 1, [letters[i:j] for i, j in found]

    def _spaced_words_short(self, chars: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``_spaced_words`` of a short text with no edits taken, letter by letter (its few runs
        cost less read so than put in arrays)."""
        where: list[int] = []
        for m in _SPACED.finditer(chars):
            if where:
                where.append(-1)   # "\x00" between two runs: no word spans both
            where += [i for i in range(m.start(), m.end()) if chars[i] not in _SEPARATORS]
        if not where:
            return _NO_SPANS, _NO_SPANS, []
        letters = "".join([chars[i] if i >= 0 else "\x00" for i in where])
        found = [m.span() for m in self.lexicon.spelled_words(_SHORTEST, _LONGEST).finditer(_lower(letters))]
        if not found:
            return _NO_SPANS, _NO_SPANS, []
        return (np.array([where[i] for i, _ in found], dtype=np.int64),
                np.array([where[j - 1] + 1 for _, j in found], dtype=np.int64), [letters[i:j] for i, j in found])

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
        if _INITIAL_DASH.fullmatch(token):
            # "a-hole", "d-bag": the abbreviation is the lexicon's word without its dash (the dash
            # stands for no letter: "a*hole" has no word of its shape); "f-ing" stands for "fking"
            joined = token.replace("-", "", 1).lower()
            if self.lexicon.tier(joined) >= 0:
                return joined
        masked = _MASK_CHARS.sub("*", token)
        if "X" in token.strip("X") or _X_MASK.search(token):   # FXXK, aXXhole (not XXX, TAX)
            masked = masked.replace("X", "*")
        if "*" not in masked or not any(c.isalpha() for c in masked.replace("*", "")):
            return None
        # A dash run may be punctuation between two words ("trash--his"): it stands for a whole
        # word's letters only, never for letters inside a longer one.
        return self.lexicon.unmask(masked.lower(), inside=not _DASHES.search(token))
