"""Measured text signals: links, shouting ("volume") and word-list matches.

These rules are measured, not learned, so each function returns both a number and the spans of the
original text it counted: the evidence a moderator sees.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Iterable, NamedTuple

from .text import fold, unleet


class Span(NamedTuple):
    text: str
    start: int
    end: int


# A tuple, not a frozen dataclass: a comment may hold thousands of links, and building a frozen
# dataclass costs several times as much.
class Link(NamedTuple):
    text: str
    start: int
    end: int
    domain: str
    obfuscated: bool
    shortener: bool


# --- links ---------------------------------------------------------------------------------------

# Top-level domains recognised without a scheme or "www.". A curated list rather than every TLD:
# bare-domain detection must not fire on "file.py" or "end.It" in ordinary prose.
TLDS = (
    "com net org edu gov mil int info biz io co me tv ly gl gd cc ws to be ai app dev xyz online "
    "site shop store club live link click top win vip pro money cash loan bet casino porn sex xxx "
    "dating mobi name news blog tk ml ga cf gq ru cn uk ca au nz ie de fr es it nl eu us in jp br mx "
    "za ch se no dk fi pl at pt gr tr ua il sg hk kr tw ph my id ng ke ar cl su fm am st la ms gs "
    "to ac sh vc lk"
).split()
# TLDs that are also common words: only a link when a path follows ("youtu.be/x", not "maybe.be").
_WORDLIKE_TLDS = {"to", "in", "it", "is", "be", "me", "no", "us", "at", "so", "my", "am", "id", "la", "st", "ms", "ac", "sh"}
# Disguised forms ("example dot com") are only believed for these TLDs.
_OBFUSCATION_TLDS = {"com", "net", "org", "info", "biz", "co", "io", "ly", "xyz", "ca", "uk", "us", "online", "site", "shop"}
SHORTENERS = {
    "bit.ly", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
    "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "s.id", "bl.ink", "lnkd.in", "shorte.st", "adf.ly",
    "v.gd", "soo.gd", "qr.ae", "trib.al", "dlvr.it", "linktr.ee",
}
# Words that begin phrases such as "the dot com bubble": never a host name in "X dot com".
_DOT_STOPWORDS = {"the", "a", "an", "this", "that", "of", "in", "on", "old", "early", "first", "big", "era", "and", "or", "no"}

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OBF_SEP = (r"(?:\s*\[\s*(?:\.|dot|DOT)\s*\]\s*|\s*\(\s*(?:\.|dot|DOT)\s*\)\s*|\s*\{\s*(?:\.|dot|DOT)\s*\}\s*"
            r"|\s+(?:dot|DOT)\s+|\s+\.\s+)")
_SEP = rf"(?:\.|{_OBF_SEP})"
_PORT = r"(?::\d{2,5})?"
_PATH = r"(?:[/?#][^\s<>\"'\u201c\u201d]*)?"
_TLD_ALT = "|".join(sorted(set(TLDS), key=len, reverse=True))

_SCHEME_URL = re.compile(
    rf"(?<![A-Za-z0-9])(?:https?|hxxps?|h\*\*ps?|ftps?)\s?(?::|\[:\])\s?//\s?{_LABEL}(?:{_SEP}{_LABEL})*{_PORT}{_PATH}",
    re.IGNORECASE)
_WWW_URL = re.compile(rf"(?<![\w@.\-/])www{_SEP}{_LABEL}(?:{_SEP}{_LABEL})+{_PORT}{_PATH}", re.IGNORECASE)
# Bare domains ("example.com/x", "example dot com") are found by a scanner, not one regular
# expression: a pattern that tries every label as a start and scans on for a top-level domain is
# quadratic on a crafted chain of labels with none ("x.com a[.]a[.]a[.]…"). The scanner walks each
# chain of labels once: a label from which no top-level domain can be reached is remembered, and a
# later start there fails at once. It finds exactly what this pattern finds (tests compare them):
_BARE_URL_REFERENCE = re.compile(
    rf"(?<![\w@.\-/])(?>{_LABEL})(?:{_SEP}(?>{_LABEL}))*?{_SEP}(?P<tld>{_TLD_ALT})(?![\w-])(?P<port>{_PORT})(?P<path>{_PATH})")
_LABEL_AT = re.compile(_LABEL)
#: A separator and the label after it, in one match: a step of a chain.
_STEP_AT = re.compile(rf"{_SEP}((?>{_LABEL}))")
_TAIL_AT = re.compile(rf"(?P<port>{_PORT})(?P<path>{_PATH})")
_START = re.compile(r"(?<![\w@.\-/])[A-Za-z0-9]")
#: Steps the bare-domain search took in its last call (tests hold it linear in the text): the
#: characters of the chains it read, or the scanner's steps.
work = {"bare_url": 0}


class _Bare(NamedTuple):
    """What ``_BARE_URL_REFERENCE`` gives of a match: its span, top-level domain and path."""

    start: int
    end: int
    tld: str
    path: str


#: Chains of labels and separators, each matched once (possessive): how long can a scan be?
_CHAIN = re.compile(rf"(?<![\w@.\-/])(?>{_LABEL})(?:{_SEP}(?>{_LABEL}))*+")
#: What every disguised separator (``_OBF_SEP``) begins with, found in one pass.
_OBF_HINT = re.compile(r"[\[({]\s*(?:\.|dot|DOT)|\s(?:dot|DOT|\.)\s")
#: Chains up to this many characters: the pattern itself is quick (each start scans at most one
#: chain); a text with a longer one goes to the scanner.
_SHORT_CHAIN = 256


#: A top-level domain as a label after a separator (which ends in ".", "]", ")", "}" or white
#: space), on the reversed text: the first match is the last such label of the text.
_TLD_REVERSED = re.compile(rf"[a-z](?<![\w-][a-z])[a-z]{{1,{max(map(len, TLDS)) - 1}}}(?=[.\])}}]|\s)")


def _last_tld(text: str) -> int:
    """Where the last label of ``text`` that could be a link's top-level domain begins, or -1: a
    bare domain ends in one, so none begins after it (and a text without one has none)."""
    reverse = text[::-1]
    for m in _TLD_REVERSED.finditer(reverse):
        if m.group(0)[::-1] in _TLD_SET:
            return len(text) - m.end()
    return -1


def _bare_urls(text: str):
    """The matches of ``_BARE_URL_REFERENCE`` in ``text``, in linear time: by the pattern where
    every chain of labels is short (the common case, and quicker), else by ``_scan_bare_urls``."""
    last = _last_tld(text)
    if last < 0:
        work["bare_url"] = 0
        return iter(())
    if len(text) <= _SHORT_CHAIN:   # no chain is longer than the text
        longest, chars = len(text), len(text)
    elif not _OBF_HINT.search(text):
        # Without a disguised dot no chain holds white space: none is longer than the longest
        # run of other characters.
        longest, chars = max(map(len, text.split()), default=0), len(text)
    else:
        sizes = list(map(len, _CHAIN.findall(text)))
        longest, chars = max(sizes, default=0), sum(sizes)
    if longest <= _SHORT_CHAIN:
        work["bare_url"] = chars
        return (_Bare(m.start(), m.end(), m.group("tld"), m.group("path"))
                for m in islice(_BARE_URL_REFERENCE.finditer(text), _MATCHES))
    return islice(_scan_bare_urls(text, last), _MATCHES)


def _scan_bare_urls(text: str, last: int | None = None):
    """The matches of ``_BARE_URL_REFERENCE`` in ``text``, walking each chain of labels once: a
    label from which no top-level domain is reached is remembered, and a later start there fails
    at once. A step (separator, label) is one match. No start after ``last`` (``_last_tld``) is
    tried, nor a chain followed past it: no top-level domain is there."""
    last = _last_tld(text) if last is None else last
    failed: set[int] = set()
    resume = 0
    steps = 0
    try:
        for p in [m.start() for m in _START.finditer(text, 0, max(last, 0))]:
            steps += 1
            if p < resume or p in failed:
                continue
            visited = [p]
            at, found = _LABEL_AT.match(text, p).end(), None
            while True:
                steps += 1
                step = _STEP_AT.match(text, at)
                if step is None:
                    break
                start, end = step.span(1)
                if text[start:end] in _TLD_SET and not _word_or_hyphen(text[end:end + 1]):
                    found = (start, end)
                    break
                if start in failed or start >= last:
                    break
                visited.append(start)
                at = end
            if found is None:
                failed.update(visited)
                continue
            tail = _TAIL_AT.match(text, found[1])
            resume = tail.end()
            yield _Bare(p, tail.end(), text[found[0]:found[1]], tail.group("path"))
    finally:   # also when the caller stops early
        work["bare_url"] = steps


def _word_or_hyphen(c: str) -> bool:
    """``[\\w-]`` on one character (or none)."""
    return bool(c) and (c.isalnum() or c in "_-")


_TLD_SET = frozenset(TLDS)

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)+")
_OBF_SEP_RE = re.compile(_OBF_SEP)
_TRAILING = ".,;:!?'\"\u201d\u2019)]}>*"


def _trim(text: str, start: int, end: int) -> int:
    """Move ``end`` left past trailing punctuation, keeping a ")" that closes a "(" inside the URL."""
    while end > start and text[end - 1] in _TRAILING:
        if text[end - 1] == ")" and text[start:end].count("(") >= text[start:end].count(")"):
            break
        end -= 1
    return end


_SCHEME_PREFIX = re.compile(r"^[A-Za-z*]+\s?(?::|\[:\])\s?//\s?")
_HOST_END = re.compile(r"[/?#:]")
_FIRST_WORD_END = re.compile(r"[\s.\[({]")


def _host(url: str, obfuscated: bool = True) -> str:
    host = _OBF_SEP_RE.sub(".", url) if obfuscated else url
    host = _SCHEME_PREFIX.sub("", host) if "//" in host or "[:]" in host else host
    host = _HOST_END.split(host, maxsplit=1)[0]
    return host.lower().removeprefix("www.")


def _allowed(domain: str, allow_domains: Iterable[str]) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in allow_domains)


def find_links(text: str, allow_domains: Iterable[str] = ()) -> list[Link]:
    """Every link in ``text``, in order: URLs with a scheme (also ``hxxp://``), ``www.`` addresses,
    bare domains (``example.com/x``) and disguised ones (``example dot com``, ``example[.]com``).

    E-mail addresses are not links. Links whose domain is in ``allow_domains`` (or a subdomain of
    one) are left out.
    """
    return allowed_links(detect_links(text), allow_domains)


def allowed_links(links: Iterable[Link], allow_domains: Iterable[str]) -> list[Link]:
    """``links`` without those to ``allow_domains`` (or their subdomains)."""
    allow_domains = tuple(allow_domains)
    return [link for link in links if not _allowed(link.domain, allow_domains)]


#: The most links read of one comment: past it a comment is a link farm, and reading every one of
#: thousands would cost a millisecond each thousand; the rest of its text is read as words.
MAX_LINKS = 200
#: Matches taken of each kind of link (some are turned down), so the first MAX_LINKS are among them.
_MATCHES = 4 * MAX_LINKS


@lru_cache(maxsize=1024)
def detect_links(text: str) -> tuple[Link, ...]:
    """Every link of ``text`` before any allow-list, in order, up to the first ``MAX_LINKS``
    (cached: training and evaluation ask again for the same texts)."""
    taken = [(m.start(), m.end()) for m in _EMAIL.finditer(text)] if "@" in text else []
    links: list[Link] = []
    # A scheme URL needs "//" and a www. address "www": without them those patterns cannot match.
    kinds = []   # each kind's matches in order of start; a kind found first takes its spans first
    if "//" in text:
        kinds.append((m.start(), m.end(), None) for m in islice(_SCHEME_URL.finditer(text), _MATCHES))
    if "www" in text.lower():
        kinds.append((m.start(), m.end(), None) for m in islice(_WWW_URL.finditer(text), _MATCHES))
    kinds.append((m.start, m.end, m) for m in _bare_urls(text))
    starts: list[int] = []      # the taken spans, sorted by start (they never overlap)
    ends: list[int] = []
    for a, b in sorted(taken):
        starts.append(a)
        ends.append(b)
    link_starts: list[int] = []  # the links' starts, sorted

    def free(start: int, end: int) -> bool:
        i = bisect.bisect_left(starts, end)   # the spans starting before ``end``
        return i == 0 or ends[i - 1] <= start

    hinted = None   # is there a disguised dot anywhere? (if not, none is in a link)
    for found in kinds:
        for match_start, match_end, bare in found:
            # MAX_LINKS links begin before this one: neither it nor any later one of its kind is
            # among the first, nor can a match of a later kind that it would block be.
            if len(link_starts) >= MAX_LINKS and bisect.bisect_left(link_starts, match_start) >= MAX_LINKS:
                break
            start, end = match_start, _trim(text, match_start, match_end)
            if not free(start, end):
                continue
            raw = text[start:end]
            if hinted is None:
                hinted = _OBF_HINT.search(text) is not None
            obfuscated = (hinted and bool(_OBF_SEP_RE.search(raw))) or raw[:4].lower() in {"hxxp", "h**p"} or "[:]" in raw
            if bare is not None:
                tld, has_path = bare.tld, bool(bare.path.strip(_TRAILING))
                if tld in _WORDLIKE_TLDS and not has_path:
                    continue
                if obfuscated and tld not in _OBFUSCATION_TLDS:
                    continue
                if obfuscated and _FIRST_WORD_END.split(raw, maxsplit=1)[0].lower() in _DOT_STOPWORDS:
                    continue
            domain = _host(raw, obfuscated or bare is None)
            i = bisect.bisect_left(starts, start)
            starts.insert(i, start)
            ends.insert(i, end)
            bisect.insort(link_starts, start)
            links.append(Link(text=raw, start=start, end=end, domain=domain, obfuscated=obfuscated,
                              shortener=domain in SHORTENERS))
    links.sort(key=lambda link: link.start)
    return tuple(links[:MAX_LINKS])


# --- volume --------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_PUNCT_RUN = re.compile(r"[!?\u203c\u2047-\u2049]{3,}")
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")
_ROMAN = re.compile(r"^[ivxlcdm]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Volume:
    score: float
    caps_share: float
    punctuation_runs: int
    stretched_words: int
    spans: tuple[Span, ...]


def _letters(word: str) -> int:
    return sum(c.isalpha() for c in word)


def measure_volume(text: str, acronyms: Iterable[str] = ()) -> Volume:
    """How much a comment shouts, in [0, 1], and where.

    - capitals: the share of letters in capitals over words of 3+ letters, counting only shouted
      words: all-capital words that are not acronyms, when there are at least two of them. Listed
      acronyms never count; an unlisted capitalised word of 4 letters or fewer counts only inside a
      run of capitalised words ("STOP THE CUTS"), so "NYT" or "WHO" alone is not shouting. A single
      capitalised word is emphasis, not shouting.
    - events: runs of three or more ``!``/``?`` and words with a letter stretched three times
      ("sooooo"); each event halves what is left of the score (1 event: 0.5, 2: 0.75).
    The two combine as 1 - (1 - capitals) * (1 - events). The review threshold on this score is
    chosen from labelled data at training time, like every other rule's.
    """
    acronyms = {a.upper() for a in acronyms}
    # @mentions and #hashtags are names, not shouting ("@USER", "#MAGA").
    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)
             if not (m.start() and text[m.start() - 1] in "@#")]
    # Roman numerals (VIII) and one letter repeated (XXX, AAA) are labels, not shouting.
    caps = [w[0].isupper() and _letters(w[0]) >= 2 and w[0] not in acronyms and not _ROMAN.match(w[0])
            and len(set(w[0])) > 1 for w in words]

    shouted: list[int] = []
    for i, (word, _, _) in enumerate(words):
        if not caps[i] or _letters(word) < 3:
            continue
        in_run = (i > 0 and caps[i - 1]) or (i + 1 < len(words) and caps[i + 1])
        if in_run or _letters(word) > 4:
            shouted.append(i)
    if len(shouted) < 2:
        shouted = []

    long_words = [w for w in words if _letters(w[0]) >= 3 and w[0] not in acronyms]
    total_letters = sum(_letters(w[0]) for w in long_words)
    shouted_letters = sum(sum(c.isupper() for c in words[i][0]) for i in shouted)
    caps_share = shouted_letters / total_letters if total_letters else 0.0

    spans: list[Span] = []
    # Adjacent shouted words become one span ("STOP THE CUTS"), which reads better as evidence.
    run_start = run_end = None
    for i in shouted:
        _, start, end = words[i]
        gap = text[run_end:start] if run_end is not None else ""
        if run_end is not None and len(gap) <= 12 and "\n" not in gap and not any(c.islower() for c in gap):
            run_end = end
            continue
        if run_start is not None:
            spans.append(Span(text[run_start:run_end], run_start, run_end))
        run_start, run_end = start, end
    if run_start is not None:
        spans.append(Span(text[run_start:run_end], run_start, run_end))

    punct = list(_PUNCT_RUN.finditer(text))
    spans.extend(Span(m.group(0), m.start(), m.end()) for m in punct)
    stretched = 0
    for word, start, end in words:
        if _is_stretched(word):
            stretched += 1
            spans.append(Span(word, start, end))

    events = len(punct) + stretched
    score = 1.0 - (1.0 - caps_share) * (0.5 ** events)
    spans.sort(key=lambda s: s.start)
    return Volume(score=min(1.0, max(0.0, score)), caps_share=caps_share, punctuation_runs=len(punct),
                  stretched_words=stretched, spans=tuple(spans))


def _is_stretched(word: str) -> bool:
    """"sooooo", "Noooo": a letter three times or more, in a word with other letters too.

    Not "www", "zzz", "III" or "XXX" (one letter repeated), nor roman numerals.
    """
    if not _STRETCH.search(word):
        return False
    lower = word.lower()
    return len(set(lower)) > 1 and not _ROMAN.match(word) and lower != "www"


# --- word lists ----------------------------------------------------------------------------------

def _wordlist_form(text: str) -> str:
    # Case-, accent- and disguise-insensitive, but digits kept: a listed "88" must not match "12".
    return unleet(fold(text))


class WordList:
    """Words and phrases matched on word boundaries, case- and accent-insensitive.

    Disguised spellings are matched too ("sh1t" matches a listed "shit").
    """

    def __init__(self, words: Iterable[str]):
        self.words = tuple(w for w in words if w.strip())
        parts = []
        for word in sorted({_wordlist_form(w.strip()) for w in self.words}, key=len, reverse=True):
            parts.append(r"\s+".join(re.escape(p) for p in word.split()))
        self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)") if parts else None

    def find(self, text: str) -> list[Span]:
        if self._pattern is None:
            return []
        form = _wordlist_form(text)
        return [Span(text[m.start():m.end()], m.start(), m.end()) for m in self._pattern.finditer(form)]

    def __bool__(self) -> bool:
        return self._pattern is not None


def link_score(count: int, limit: int) -> float:
    """Links over the outlet's limit: count / (limit + 1), capped at 1, so 1.0 means "over the limit"."""
    return min(1.0, count / (limit + 1))
