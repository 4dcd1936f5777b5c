"""The foul-language lexicon: tiers of words as written, matched on the normalised tokens.

Why a lexicon: whether a comment holds foul language is a matter of the words in it, and the
corpora that label "offensive" or "toxic" mix insults, slurs and swearing; a model trained on them
missed most profane news comments and flagged "a hell of a goal". The lexicon says which words are
strong (reject), which need the context (the learned model decides), and which are mild (never
flag on their own); the learned model sees the hits as features, so it can use the context.

Matching works on the tokens the scanner makes (``moderation.text``: case and accents folded, leet
digits and symbols inside words undone, so ``Sh1t`` and ``a$$`` arrive as ``shit`` and ``ass``),
whole tokens only, so a lexicon word inside a longer innocent word never matches (Scunthorpe,
cockatoo, classic). On top of that, a token is also tried:

- masked: stars stand for letters (``f**k``, ``f***``, ``a**hole``, ``f***ing``) and the token
  matches a lexicon word of that shape (the most severe one, where several fit);
- stretched: runs of three or more of one letter collapsed to one or two (``shiiiit``, ``fuuuck``).

A whole table of tokens (the model's vocabulary, a batch's unseen tokens) is classified with one
regular-expression pass per tier over the tokens joined by newlines, so classifying costs a few
passes over the text, not a call per token.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import RulebookError
from .text import normalize

#: What may follow a masked word's stem ("f***ing", "sh*tty"): an ending, not another word ("do---if").
SUFFIXES = frozenset("s es ed er ers ing ings in y ty ier iest ies ly head heads face faces wit wits tard tards hole "
                     "holes bag bags off up ery ry er's".split())
#: The endings ``unmask`` tries first where stars cover both a stem's letters and an ending's.
_COMMON_ENDINGS = ("ing", "in", "ed", "er", "ers", "s", "es", "y", "ty", "ings")
#: What a hit of a tier does (see lexicon.toml).
ACTIONS = ("reject", "review", "model", "none")
_RUN = re.compile(r"([^\W\d_])\1{2,}")
#: Where a token (a line of a joined table) may be masked or stretched: stars, or a letter three
#: times in a row or more (a whole run is one match: a line of 20,000 letters is not 6,000).
_CANDIDATE = re.compile(r"\*+|([^\W\d_])\1{2,}")
_NONE = -1
#: A possessive ending ("bastard's", "bastards'", with either apostrophe), matched with the word.
_POSSESSIVE = "(?:['\u2019]s?)?"
#: A word of letters only (what spaced letters can spell).
_LETTERS = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")


def _fits(part: str, word: str) -> bool:
    """Whether ``part``, stars standing for letters, is ``word``'s shape ("f**k" fits "fuck")."""
    return len(part) == len(word) and all(c == "*" or c == w for c, w in zip(part, word))


def _maskable(token: str) -> bool:
    """Whether ``token`` can be a masked word: three characters or more, a letter first, letters
    and stars only, a star among them (what ``unmask`` and ``mild_reading`` read)."""
    return len(token) >= 3 and token[0].isalpha() and "*" in token and token.replace("*", "").isalpha()


def _candidate_lines(joined: str, starts: np.ndarray) -> list[int]:
    """The lines of ``joined`` (beginning at ``starts``) where ``_CANDIDATE`` matches: a star, or
    one letter three times in a row. Found in arrays (the pattern's back-reference, tried at every
    character, cost as much as the lexicon's own pass); the few repeats are checked as letters by
    the engine's own class. Tests hold it to the pattern."""
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    repeat = np.flatnonzero((points[:-2] == points[1:-1]) & (points[1:-1] == points[2:])) if len(points) > 2 else \
        np.zeros(0, dtype=np.int64)
    # A run of one character repeats at each of its places: its first stands for it (a word of
    # 20,000 "a"s is one check, not 20,000).
    repeat = repeat[np.concatenate(([True], np.diff(repeat) > 1))] if len(repeat) else repeat
    letters = [i for i, c in zip(repeat.tolist(), points[repeat].tolist()) if _LETTER.match(chr(c))]
    at = np.concatenate([np.flatnonzero(points == 42), np.asarray(letters, dtype=np.int64)])
    return np.unique(np.searchsorted(starts, at, side="right") - 1).tolist()


def _trie_pattern(words: list[tuple[str, bool]]) -> str:
    """A regular expression matching a whole line that is one of ``words``, or begins with one of
    them marked as a prefix (True), written as a trie: ``fuck(?:ing|er)?`` rather than one
    alternative per word."""
    root: dict = {}
    for word, prefix in words:
        node = root
        for c in word:
            node = node.setdefault(c, {})
        node[""] = max(node.get("", False), prefix)   # end: True means anything may follow

    def emit(node: dict) -> str:
        options = [re.escape(c) + emit(child) for c, child in sorted(node.items()) if c != ""]
        if "" in node:
            options.append(r"[^\n]*" if node[""] else "")
        if not options:
            return ""
        if len(options) == 1:
            return options[0] if not options[0] or node.get("", None) is None else f"(?:{options[0]})"
        return "(?:" + "|".join(options) + ")"

    return emit(root)


def _longest_word_trie(words: list[str], stems: list[str], shortest: int, longest: int) -> str:
    """A pattern matching, at a place, the longest of ``words`` or of the words a stem begins (a
    stem and letters after it, ``shortest`` to ``longest`` letters in all). In a trie at most one
    child matches the next letter, so trying children before ending gives the longest word; a
    stem ends its branch, its letters taken greedily (no word under it is longer)."""
    root: dict = {}
    for word, stem in [(w, False) for w in words] + [(s, True) for s in stems]:
        node = root
        for c in word:
            node = node.setdefault(c, {})
        node[""] = node.get("", False) or stem

    def emit(node: dict, depth: int) -> str:
        if node.get(""):
            return rf"[^\W\d_]{{{max(shortest - depth, 0)},{longest - depth}}}"
        options = [re.escape(c) + emit(child, depth + 1) for c, child in sorted(node.items()) if c != ""]
        if "" in node:
            options.append("")
        if len(options) == 1:
            return options[0]
        return "(?:" + "|".join(options) + ")"

    return emit(root, 0) if root else ""


def packaged_lexicon_path() -> Path:
    return Path(str(resources.files("moderation") / "lexicon.toml"))


@dataclass(frozen=True)
class Tier:
    name: str
    action: str
    words: tuple[str, ...]


def _form(entry: str) -> str:
    """An entry's normalised form, stars (wildcards) kept."""
    return "*".join(normalize(part, fold_digits=False) for part in entry.strip().split("*"))


class Lexicon:
    """Tiers of words, most severe first. ``tier(token)`` is the index of the first tier that
    matches a normalised token, or -1."""

    def __init__(self, tiers: Sequence[Tier], source: str = "<lexicon>"):
        self.tiers = tuple(tiers)
        self.source = source
        self._exact: list[set[str]] = []
        self._wild: list[list[tuple[str, str]]] = []     # (kind, stem): prefix, suffix, infix
        self._ordered: list[list[tuple[str, str]]] = []  # (kind, stem) of every entry, in file order
        parts = []
        for tier in self.tiers:
            exact, wild, alternatives, ordered = set(), [], [], []
            for entry in tier.words:
                form = _form(entry)
                stem = form.strip("*")
                if not stem or "*" in stem:
                    raise RulebookError(f"{source}: tier {tier.name!r}: {entry!r} is not a word; a \"*\" may only "
                                        "begin or end an entry")
                kind = ("infix" if form.startswith("*") and form.endswith("*") else
                        "suffix" if form.startswith("*") else "prefix" if form.endswith("*") else "exact")
                if kind == "exact":
                    exact.add(stem)
                else:
                    wild.append((kind, stem))
                ordered.append((kind, stem))
                body = re.escape(stem)
                alternatives.append({"exact": body, "prefix": body + r"[^\n]*", "suffix": r"[^\n]*" + body,
                                     "infix": r"[^\n]*" + body + r"[^\n]*"}[kind])
            self._exact.append(exact)
            self._wild.append(wild)
            self._ordered.append(ordered)
            # The words and stems as a trie (the engine tries one branch per character, not every
            # word), then the few entries that may start anywhere in a token.
            trie = _trie_pattern([(stem, kind == "prefix") for kind, stem in ordered if kind in ("exact", "prefix")])
            anywhere = [a for (kind, _), a in zip(ordered, alternatives) if kind in ("suffix", "infix")]
            pieces = ([trie] if trie else []) + anywhere
            parts.append("|".join(pieces) if pieces else None)
        # A word's possessive is the word ("that bastard's hide", "your sorry a$$'s"): the tokeniser
        # keeps the apostrophe inside the token, and an exact entry would not match it.
        self._patterns = [re.compile(f"^(?:{p}){_POSSESSIVE}$", re.M) if p else None for p in parts]
        # Every tier in one pattern, most severe first: a table of tokens is classified in one pass.
        self._combined = re.compile("^(?:" + "|".join(f"(?P<t{k}>{p})" for k, p in enumerate(parts) if p) +
                                    f"){_POSSESSIVE}$", re.M) if any(parts) else None

    # --- reading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Lexicon":
        path = Path(path) if path is not None else packaged_lexicon_path()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RulebookError(f"cannot read lexicon {path}: {exc.strerror or exc}; give the path of a "
                                "lexicon.toml file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RulebookError(f"lexicon {path} is not valid TOML ({exc}); fix the syntax at that line") from None
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: dict, source: str = "<lexicon>") -> "Lexicon":
        tiers = data.get("tiers")
        if not isinstance(tiers, dict) or not tiers:
            raise RulebookError(f"{source}: no [tiers.<name>] tables; each tier has an action and words")
        out = []
        for name, tier in tiers.items():
            where = f"{source}: tier {name!r}"
            if not isinstance(tier, dict) or set(tier) - {"action", "words"}:
                raise RulebookError(f"{where} must be a table with 'action' and 'words', got {tier!r}")
            action = tier.get("action")
            if action not in ACTIONS:
                raise RulebookError(f"{where}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
            words = tier.get("words", [])
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise RulebookError(f"{where}: words must be a list of non-empty strings, got {words!r}")
            bad = [w for w in words if len(w.split()) > 1]
            if bad:
                raise RulebookError(f"{where}: {bad[0]!r} is a phrase; the lexicon holds single words (put "
                                    "phrases in the rulebook's banned_words or suspect_words)")
            out.append(Tier(name=name, action=action, words=tuple(w.strip() for w in words)))
        return cls(out, source)

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the tiers and their words: two lexicons with one fingerprint classify alike."""
        text = "\n".join(f"{t.name}\t{t.action}\t" + " ".join(t.words) for t in self.tiers)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def actions(self) -> np.ndarray:
        """Each tier's action, as its index in ``ACTIONS``."""
        return np.asarray([ACTIONS.index(t.action) for t in self.tiers], dtype=np.int64)

    # --- matching -----------------------------------------------------------------------------

    def _plain(self, token: str) -> int:
        """The first tier with an entry matching ``token`` as it is: one match of the combined
        pattern (its alternatives are the tiers in order, each holding its exact words too)."""
        if self._combined is None or "\n" in token:
            return _NONE
        m = self._combined.fullmatch(token)
        return _NONE if m is None else int(m.lastgroup[1:])

    def unmask(self, token: str, inside: bool = True) -> str | None:
        """The word a token with stars for letters stands for (``f**k``: fuck, ``f***ing``: fucking,
        ``f*****g``: fucking, the stars covering stem and ending, ``sh*``: shit, a trailing run of
        stars standing for the rest of the word), the most severe tier's first, or None."""
        if not _maskable(token):
            return None
        for words, stems in self._by_first_letter.get(token[0], ()):   # most severe tier first
            found = self._unmask_at_start(token, words, stems)
            if found is not None:
                return found
        for stems in self._inside if inside else ():             # batsh*t, clusterf**k
            for stem in stems:
                found = self._unmask_inside(token, stem)
                if found is not None:
                    return found
        return None

    def _unmask_at_start(self, token: str, words: list[str], stems: list[str]) -> str | None:
        """The first of one tier's ``words`` (or a prefix ``stem`` and an ending) that the masked
        ``token`` fits, its first letter as written."""
        body = token.rstrip("*")
        trailing = len(token) - len(body)

        def is_ending(rest: str, word: str) -> bool:
            # "sh*tting", "bulls**tter": an ending after the stem's last letter doubled
            return rest in SUFFIXES or (len(rest) > 2 and rest[0] == word[-1] and rest[1:] in SUFFIXES)

        for word in words:                                       # f**k: fuck
            if _fits(token, word):
                return word
        for word in stems:                                       # f***ing: fuck + ing
            rest = token[len(word):]
            if len(token) > len(word) and _fits(token[:len(word)], word) and is_ending(rest, word):
                return word + rest
        for word in stems:                                       # f*****g: the stars span stem and ending
            for ending in self._endings_of_length.get(len(token) - len(word), ()):
                if _fits(token, word + ending):
                    return word + ending
        if trailing and len(body) >= 2:                          # sh*: the stars stand for the rest
            for word in words:
                if len(word) > len(body) and _fits(body, word[:len(body)]):
                    return word
        return None

    def mild_reading(self, token: str) -> str | None:
        """A word of a tier whose action is "none" (mild) that a masked token may stand for as
        well as the word ``unmask`` reads (``d***``: damn as well as dbag, ``c***``: crap as well
        as cunt), or None. Our readers judged such comments mild (the comment wrote "damn"), so
        a mask that fits both is for a moderator to read, not a reason to reject. ``token`` may be
        as written ("C***"): it is normalised here, its stars kept."""
        token = _form(token)
        if not _maskable(token):
            return None
        for tier, (words, stems) in zip(self.tiers, self._by_first_letter.get(token[0], ())):
            if tier.action == "none":
                found = self._unmask_at_start(token, words, stems)
                if found is not None:
                    return found
        return None

    @staticmethod
    def _unmask_inside(token: str, stem: str) -> str | None:
        """``token`` with the one place where stars stand for letters of ``stem`` (an entry that
        matches inside words, "*shit*") read as the stem, the letters around it as written. The
        place begins with the stem's first letter and keeps two of its letters ("batsh*t"): the
        normaliser reads a dash run between two words as stars, and "hey--it" is no "heyshit"."""
        first, last = token.find("*"), token.rfind("*")
        # Every star inside the place: only the few places that cover the first and the last star
        # are tried (a 20,000-letter token is not 20,000 tries).
        for at in range(max(last - len(stem) + 1, 0), min(first, len(token) - len(stem)) + 1):
            window = token[at:at + len(stem)]
            if window[0] == stem[0] and len(window) - window.count("*") >= 2 and _fits(window, stem):
                return token[:at] + stem + token[at + len(stem):]
        return None

    @cached_property
    def _inside(self) -> list[list[str]]:
        """Per tier, the stems of entries that match inside or at the end of a word ("*fuck*")."""
        return [[stem for kind, stem in ordered if kind in ("infix", "suffix")] for ordered in self._ordered]

    @cached_property
    def _endings_of_length(self) -> dict[int, list[str]]:
        """``SUFFIXES`` by length, each length's in a fixed order (what ``unmask`` tries)."""
        out: dict[int, list[str]] = {}
        # "f*****g" is "fucking" before it is "fuckbag": the common endings first, then the rest.
        rank = {ending: k for k, ending in enumerate(_COMMON_ENDINGS)}
        for ending in sorted(SUFFIXES, key=lambda e: (rank.get(e, len(rank)), e)):
            out.setdefault(len(ending), []).append(ending)
        return out

    @cached_property
    def _by_first_letter(self) -> dict[str, list[tuple[list[str], list[str]]]]:
        """First letter -> per tier (most severe first), the words and the prefix stems beginning
        with it, in the file's order: what ``unmask`` tries."""
        out: dict[str, list[tuple[list[str], list[str]]]] = {}
        letters = {stem[0] for ordered in self._ordered for kind, stem in ordered if kind in ("exact", "prefix")}
        for letter in letters:
            out[letter] = [([stem for kind, stem in ordered if kind in ("exact", "prefix") and stem[0] == letter],
                            [stem for kind, stem in ordered if kind == "prefix" and stem[0] == letter])
                           for ordered in self._ordered]
        return out

    def _masked(self, token: str) -> int:
        """The tier of the word a masked token stands for (``unmask``), or -1."""
        word = self.unmask(token)
        return _NONE if word is None else self._plain(word)

    def whole_word(self, token: str) -> bool:
        """Whether ``token`` is a lexicon word as a whole: an exact entry or a word an entry begins
        ("fucking" for "fuck*"), not one a word merely contains."""
        exact, prefixes = self._whole
        return token in exact or token.startswith(prefixes)

    def spelled_words(self, shortest: int = 3, longest: int = 16) -> re.Pattern:
        """A pattern whose ``finditer`` over lower-case letters gives, leftmost first, the longest
        whole word (``whole_word``) of ``shortest`` to ``longest`` letters at each place, and goes
        on after it: the words a run of spaced letters spells ("abcfuck" holds "fuck"). It is a
        trie, each node trying its longer words first, so the engine reads each place at most
        ``longest`` letters far: linear in the text."""
        key = (shortest, longest)
        found = self._spelled.get(key)
        if found is None:
            exact, stems = self._whole
            found = re.compile(_longest_word_trie(
                [w for w in exact if shortest <= len(w) <= longest and _LETTERS.fullmatch(w)],
                [s for s in stems if len(s) <= longest and _LETTERS.fullmatch(s)], shortest, longest) or "(?!)")
            self._spelled[key] = found
        return found

    @cached_property
    def _spelled(self) -> dict:
        return {}

    @cached_property
    def _whole(self) -> tuple[frozenset[str], tuple[str, ...]]:
        return (frozenset().union(*self._exact),
                tuple(stem for wild in self._wild for kind, stem in wild if kind == "prefix"))

    def tier(self, token: str) -> int:
        """The first tier matching one normalised token (see the module docstring), or -1."""
        found = self._plain(token)
        if found == _NONE and "*" in token:
            found = self._masked(token)
        if found == _NONE and "*" in token.strip("*"):
            # A star put between the letters rather than for one ("b*itch", "pu*ssy", "f*c*king"):
            # the letters as they stand are the word.
            found = self._plain(token.replace("*", ""))
        if found == _NONE and _RUN.search(token):
            for n in (1, 2):
                found = self._plain(_RUN.sub(lambda m: m.group(1) * n, token))
                if found != _NONE:
                    break
        return found

    def tiers_of(self, tokens: Iterable[str]) -> np.ndarray:
        """``tier`` of every token (normalised, without newlines), a table at a time."""
        tokens = list(tokens)
        out = np.full(len(tokens), _NONE, dtype=np.int64)
        if not tokens:
            return out
        joined = "\n".join(tokens)
        starts = np.zeros(len(tokens), dtype=np.int64)
        np.cumsum(np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))[:-1] + 1, out=starts[1:])
        if self._combined is not None:
            found = [(m.start(), int(m.lastgroup[1:])) for m in self._combined.finditer(joined)]
            if found:
                at, tier = zip(*found)
                out[np.searchsorted(starts, at)] = tier
        # Masked and stretched tokens are few: tried one by one.
        for i in _candidate_lines(joined, starts):
            if out[i] == _NONE:
                out[i] = self.tier(tokens[i])
        return out

    def __getstate__(self):
        return {"tiers": self.tiers, "source": self.source}

    def __setstate__(self, state):
        self.__init__(state["tiers"], state["source"])
