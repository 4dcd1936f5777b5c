"""Text normalisation and tokenisation shared by the model's features and the word lists.

Everything here keeps character offsets: ``normalize(text)`` returns a string of exactly the same
length as ``text``, so a span found in the normalised text is the same span of the original. That is
what lets evidence point at the words the moderator actually sees.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Look-alike characters used to disguise words (sh1t, a$$, b!tch, h3ll).
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# A disguise character between two letters ("sh1t", "b!tch", "a55hole").
_LEET_INSIDE = re.compile(r"(?<=[a-z])[013457@$!]+(?=[a-z])")
# Dollar signs ending a word ("a$$") or starting one ("$hit"); not "$5" or "5$".
_DOLLAR_END = re.compile(r"(?<=[a-z])\$+(?![a-z0-9])")
_DOLLAR_START = re.compile(r"(?<![a-z0-9])\$(?=[a-z]{2})")
#: "@" for "a" at the start of a word only before "$$" or "ss" ("@$$", "@sshole"): elsewhere a
#: word-initial "@" is a handle ("@mayor").
_AT_START = re.compile(r"(?<![\w@.])@(?=[$s]{2})")
_DIGIT = re.compile(r"[0-9]")
#: The letters whose "x-" before the rest of a word abbreviates a profanity ("f-ing", "a-hole",
#: "d-bag"): the normaliser reads such a run as masked, and the screens (the compiled one's
#: is_initial too) pass on texts holding one.
MASK_INITIALS = "fFaAdD"
#: A word of repeat detection's fingerprints: a run of alphanumeric characters (str.isalnum's;
#: the compiled scanner's text_kgram_digests splits the same way).
WORD_RUN = re.compile(r"[^\W_]+")

#: A word: letters/digits, with inner apostrophes or stars ("don't", "f*ck", "f**k") and trailing
#: stars ("f***"). Hyphens and other punctuation separate words.
TOKEN_RE = re.compile(r"[^\W_]+(?:[*'\u2019]+[^\W_]+)*\**")


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """Lower-case and strip accents from one character, keeping it one character long."""
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    if len(base) == 1:
        return base
    lower = char.lower()
    return lower if len(lower) == 1 else char


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text``, the same length as ``text``."""
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))


def unleet(folded: str) -> str:
    """Undo common character disguises inside words; keeps the length."""
    def swap(match: re.Match) -> str:
        return match.group(0).translate(_LEET)

    out = _AT_START.sub("a", folded) if "@" in folded else folded
    out = _LEET_INSIDE.sub(swap, out)
    out = _DOLLAR_END.sub(swap, out)
    return _DOLLAR_START.sub(swap, out)


def normalize(text: str, fold_digits: bool = True) -> str:
    """The text the model reads: folded, disguises undone and (by default) every digit made ``0``.

    Folding digits lets the model learn the shape of phone numbers and prices rather than the
    particular numbers in its training data.
    """
    out = unleet(fold(text))
    if fold_digits:
        out = _DIGIT.sub("0", out)
    return out


def is_valid_unicode(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8: JSON's lone "\\ud800"-style escapes give strings
    that cannot (the store, the logs and every reply would fail on them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def char_ngrams(word: str, n_min: int, n_max: int) -> list[str]:
    """Character n-grams of one word padded with spaces (``" f*ck "``): what the learned rules see
    inside words, so a disguised spelling shares most of its n-grams with the word it hides."""
    padded = f" {word} "
    size = len(padded)
    return [padded[i:i + n] for n in range(n_min, min(n_max, size) + 1) for i in range(size - n + 1)]


def tokens(normalized: str) -> list[tuple[str, int, int]]:
    """Words of a normalised text with their (start, end) offsets."""
    return [(m.group(0), m.start(), m.end()) for m in TOKEN_RE.finditer(normalized)]


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+|\n+")


def segments(text: str, min_words: int = 3) -> list[tuple[int, int]]:
    """Sentence-like (start, end) spans of ``text`` with at least ``min_words`` words.

    Shorter pieces ("Great reporting.", "Wow!") are left out rather than glued to a neighbour: they
    are scored as part of the whole text, and alone they are too short to judge.
    """
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in list(_SENTENCE_END.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        if len(TOKEN_RE.findall(text[start:end])) >= min_words:
            pieces.append((start, end))
        if match:
            start = match.end()
    return pieces
