"""Dense signals beside the n-grams: what a bag of words cannot see.

Three groups of columns, for every row (a comment, or one of its sentences):

- links (2): whether the comment holds a link through a shortener, and a disguised link. How many
  links it holds is the ``links`` rule's business, not promotion (a link given for context is not
  an advertisement); links to reference sites (government, statistics, encyclopaedias, news) and
  to the outlet's own domains are left out, and so are the words inside them.
- lexicon (4): hits of the foul-language lexicon, one column per tier action (reject, review,
  model, none), saturating counts. The learned model sees the words the lexicon knows, and the
  context around them.
- cues (10): who is accused of what, per sentence: a sentence naming an actor (an office, a body, a
  party, a public figure, "he"/"she") together with a wrongdoing predicate (lied, stole, rigged,
  is a puppet of, was bought); a wrongdoing aimed at "you" (another commenter: that is respect); a
  wrongdoing with a cited source or a hedge ("according to", "I suspect"); a wrongdoing asked as a
  question; any wrongdoing at all; and each kind of wrongdoing on its own (lying, money, cover-up,
  crime, violence), because the kinds are not equally often accusations (of the training news
  posts holding a word of each kind, 54% for lying and 29% for violence). A comment's value is a
  saturating count over its sentences.

Each column's contribution to a score is shared out among its "units" (the hit words, the cue
words, the links), so evidence can show them and the words' weights still add up to the score.
``signals_reference`` computes a text's signals the plain way, one comment at a time; tests hold
the batch path equal to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..lexicon import ACTIONS, Lexicon, Tier
from ..signals import Link, find_links
from ..text import TOKEN_RE, normalize as normalize_reference

if TYPE_CHECKING:
    from .analysis import Analysis

N_LINK = 2
#: A sentence of fewer tokens is no row of its own.
MIN_SENTENCE_TOKENS = 3
N_LEXICON = len(ACTIONS)
#: The kinds of wrongdoing, each a cue class of its own (every wrongdoing word is of one kind).
WRONG_KINDS = ("lying", "money", "cover-up", "crime", "violence")
N_KINDS = len(WRONG_KINDS)
#: The cue columns, in order.
CUE_COLUMNS = ("actor_wrongdoing", "wrongdoing_at_you", "wrongdoing_sourced_or_hedged", "wrongdoing_asked",
               "wrongdoing", *(f"wrongdoing_{kind}" for kind in WRONG_KINDS))
N_CUES = len(CUE_COLUMNS)
N_SIGNALS = N_LINK + N_LEXICON + N_CUES
LINKS, LEXICON, CUES = slice(0, N_LINK), slice(N_LINK, N_LINK + N_LEXICON), slice(N_LINK + N_LEXICON, N_SIGNALS)

#: Cue words (single normalised tokens; "*" as in the lexicon). A fixed part of the feature space:
#: changing them means retraining.
CUE_WORDS = {
    "lying": [
        "lie", "lies", "lied", "liar*", "lying", "misled", "mislead*", "deceiv*", "deceit*", "dishonest*", "fake",
        "faked", "fabricat*", "propaganda", "hoax*", "perjur*", "smear*", "slander*", "libel*", "plagiar*",
    ],
    "money": [
        "brib*", "bribe", "corrupt*", "kickback*", "crony*", "cronies", "payoff*", "pocket*", "lining", "bought",
        "paid", "owned", "sold", "shill*", "puppet*", "stooge*", "grift*", "grifter*", "nepotis*", "siphon*",
        "misappropriat*", "embezzl*", "launder*", "loot*", "klepto*", "kleptocra*", "scam*", "swindl*", "defraud*",
        "fraud*", "con", "conman", "conmen", "cheat*", "steal*", "stole", "stolen", "thief", "thieves", "crook*",
        "extort*", "extorted", "blackmail*", "racketeer*", "shakedown*",
    ],
    "cover-up": [
        "coverup", "cover-up", "covered", "hid", "hide", "hides", "hiding", "conspir*", "collu*", "rigg*", "rig",
        "rigged", "obstruct*", "planted", "leaked", "spied", "spying", "infiltrat*", "sabotag*", "manipulat*",
    ],
    "crime": [
        "illegal*", "criminal*", "crime*", "treason*", "traitor*", "treasonous", "sedition*", "seditious",
        "quisling*", "betray*", "mafia", "mob", "gangster*", "thug*", "agent", "agents", "cult", "complicit",
        "unethical",
    ],
    "violence": [
        "pedophil*", "paedophil*", "rapist*", "rape", "raped", "raping", "murderer*", "murder*", "assault*", "abus*",
        "predator*", "terroris*", "killer*",
    ],
    "actor": [
        "mayor", "councillor*", "councilor*", "council", "minister*", "premier", "president", "senator*", "governor",
        "congress*", "mp", "mps", "mpp", "mla", "mlas", "chief", "police", "cops", "cop", "rcmp", "fbi", "cia",
        "doj", "nsa", "irs", "epa", "government", "govt", "administration", "party", "liberal*", "conservative*",
        "tories", "tory", "ndp", "democrat*", "dems", "republican*", "gop", "dnc", "rnc", "trump*", "hillary",
        "clinton*", "obama*", "trudeau", "harper", "putin", "comey", "cnn", "fox", "msnbc", "nyt", "company",
        "corporation", "ceo", "board", "officials", "official", "he", "she", "him", "her", "they", "his", "pm",
        "cabinet", "senate", "court", "judge", "sheriff", "department", "agency", "ministry", "bank", "banks",
        "pharma", "mccain", "pelosi", "ryan", "bush", "cheney", "sanders", "biden", "kremlin", "russia*",
        "nato", "interpol", "guterres", "un", "netanyahu", "media", "press", "newspaper", "paper", "reporter*",
        "journalist*", "union", "unions", "lobby*",
    ],
    "source": [
        "according", "report", "reported", "reports", "study", "studies", "convicted", "charged", "indicted",
        "alleged*", "accused", "investigation*", "sources", "cited", "documents", "records", "audit*", "testified",
        "ruled", "verdict", "evidence", "article", "link",
    ],
    "hedge": [
        "think", "believe", "suspect", "guess", "maybe", "perhaps", "probably", "possibly", "seems", "apparently",
        "wonder", "might", "if", "opinion", "imo", "imho", "whether", "rumour*", "rumor*",
    ],
    "you": ["you", "your", "youre", "you're", "yours", "yourself", "u", "ya"],
}
CUE_CLASSES = tuple(CUE_WORDS)
assert CUE_CLASSES[:N_KINDS] == WRONG_KINDS
#: The first kind column's index among the cue columns.
_KIND_COLUMN = N_CUES - N_KINDS
CUES_LEXICON = Lexicon([Tier(name, "none", tuple(words)) for name, words in CUE_WORDS.items()], "<cue words>")
#: Classes 0..N_KINDS-1 are the wrongdoing kinds; then these.
_ACTOR, _SOURCE, _HEDGE, _YOU = range(N_KINDS, N_KINDS + 4)
#: A capitalised word inside a sentence that holds a wrongdoing: a name (Brown, Zuma, Podesta).
_NAME = len(CUE_CLASSES)


def is_name(text: str, token: str, start: int, first_in_sentence: bool) -> bool:
    """A token that reads as a name: capitalised as written, not the sentence's first word, not "I"."""
    return not first_in_sentence and len(token) >= 2 and text[start].isupper()
_BREAK = re.compile(r"\n|[.!?\u2026]\s")


def saturate(x):
    return 1.0 - np.exp(-np.asarray(x, dtype=np.float64))


@dataclass
class Signals:
    """The dense signals of a batch's rows, and who shares each contribution."""

    doc: np.ndarray          # (n_comments, N_SIGNALS)
    part: np.ndarray         # (n_parts, N_SIGNALS)
    unit_token: np.ndarray   # tokens that share a column's contribution to their comment's score
    unit_column: np.ndarray  # and that column
    unit_count: np.ndarray   # (n_comments, N_SIGNALS): how many tokens share each


def _cue_features(has: np.ndarray, question: np.ndarray) -> np.ndarray:
    """(segments, N_CUES) 0/1 cue columns from per-segment class presence (segments: the cue classes
    and names) and questions."""
    kinds = has[:, :N_KINDS]
    wrong = kinds.any(axis=1)
    return np.column_stack([wrong & (has[:, _ACTOR] | has[:, _NAME]), wrong & has[:, _YOU],
                            wrong & (has[:, _SOURCE] | has[:, _HEDGE]), wrong & question, wrong,
                            kinds]).astype(np.float64)


def _cue_units(cls: np.ndarray, fired: np.ndarray) -> list[np.ndarray]:
    """For each cue column, which tokens (by their class, in a segment where it fires) share it."""
    wrong = cls < N_KINDS
    return [(wrong | (cls == _ACTOR) | (cls == _NAME)) & fired[:, 0], (wrong | (cls == _YOU)) & fired[:, 1],
            (wrong | (cls == _SOURCE) | (cls == _HEDGE)) & fired[:, 2], wrong & fired[:, 3], wrong & fired[:, 4],
            *((cls == k) & fired[:, _KIND_COLUMN + k] for k in range(N_KINDS))]


def batch_signals(a: "Analysis", action: np.ndarray, cue: np.ndarray) -> Signals:
    """The signals of every comment and sentence row of an analysed batch. ``action`` and ``cue`` are
    each token's lexicon action and cue class (-1: none). Lexicon hits and cue words are a few in a
    hundred tokens: everything past finding them works on them alone."""
    s = a.scan
    n = a.n
    keep = a.keep
    # Segments (sentences) of every comment, as the sentence rows use them.
    seg, seg_doc, seg_first, seg_last = a.segments()
    nseg = len(seg_doc)
    marks = s.marks
    question = (marks[seg_last] & 2).astype(bool) if nseg else np.zeros(0, dtype=bool)
    cue_tok = np.flatnonzero(cue >= 0)
    cue_tok = cue_tok[keep[cue_tok]]
    cue_cls = cue[cue_tok]
    has = np.zeros((nseg, len(CUE_CLASSES) + 1), dtype=bool)
    has[seg[cue_tok], cue_cls] = True
    # Names: capitalised words (not a sentence's first, not "I") of the sentences with a wrongdoing.
    wrong_segs = np.flatnonzero(has[:, :N_KINDS].any(axis=1)) if nseg else np.zeros(0, dtype=np.int64)
    if len(wrong_segs):
        lengths = seg_last[wrong_segs] - seg_first[wrong_segs]           # tokens after the first
        starts = np.repeat(seg_first[wrong_segs] + 1, lengths)
        inside = starts + (np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        name_tok = inside[(marks[inside] & 1).astype(bool) & ((s.end[inside] - s.start[inside]) >= 2)
                          & (cue[inside] < 0) & keep[inside]]
        has[seg[name_tok], _NAME] = True
        unit_tok = np.concatenate([cue_tok, name_tok])
        unit_cls = np.concatenate([cue_cls, np.full(len(name_tok), _NAME)])
    else:
        unit_tok, unit_cls = cue_tok, cue_cls
    fired_seg = _cue_features(has, question)
    part_index = a.segment_part()
    out_doc, out_part = np.zeros((n, N_SIGNALS)), np.zeros((len(a.part_doc), N_SIGNALS))
    # Links (the promotable ones).
    for d, found in a.promo_links.items():
        out_doc[d, LINKS] = link_features(found)
    if a.promo_links:
        for p in np.flatnonzero(np.isin(a.part_doc, list(a.promo_links))):
            start, end = a.part_span[p]
            out_part[p, LINKS] = link_features([x for x in a.promo_links[int(a.part_doc[p])] if start <= x.start < end])
    # Lexicon hits, per action.
    hit = np.flatnonzero(action >= 0)
    hit = hit[keep[hit]]
    hit_doc, hit_action = s.doc[hit].astype(np.int64), action[hit]
    out_doc[:, LEXICON] = saturate(_count2(hit_doc, hit_action, n, N_LEXICON))
    hit_part = a.part_of[hit]
    in_part = hit_part >= 0
    out_part[:, LEXICON] = saturate(_count2(hit_part[in_part], hit_action[in_part], len(a.part_doc), N_LEXICON))
    # Cues, per sentence.
    doc_cues = np.column_stack([np.bincount(seg_doc, weights=fired_seg[:, c], minlength=n) for c in range(N_CUES)]) \
        if nseg else np.zeros((n, N_CUES))
    out_doc[:, CUES] = saturate(doc_cues)
    kept_seg = part_index >= 0
    out_part[part_index[kept_seg], CUES] = saturate(fired_seg[kept_seg])
    # Units: hit tokens share their action's column; cue words of firing sentences share the cue's.
    tokens, columns = [hit], [N_LINK + hit_action]
    fired_tok = fired_seg[seg[unit_tok]] > 0 if len(unit_tok) else np.zeros((0, N_CUES), dtype=bool)
    for c, mask in enumerate(_cue_units(unit_cls, fired_tok)):
        tokens.append(unit_tok[mask])
        columns.append(np.full(int(mask.sum()), N_LINK + N_LEXICON + c))
    unit_token = np.concatenate(tokens).astype(np.int64)
    unit_column = np.concatenate(columns).astype(np.int64)
    unit_count = _count2(s.doc[unit_token].astype(np.int64), unit_column, n, N_SIGNALS)
    return Signals(out_doc, out_part, unit_token, unit_column, unit_count)


def _count2(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> np.ndarray:
    """(n_rows, n_columns) counts of the (row, column) pairs (``np.add.at``, by one bincount)."""
    flat = np.bincount(rows.astype(np.int64) * n_columns + columns, minlength=n_rows * n_columns)
    return flat[:n_rows * n_columns].reshape(n_rows, n_columns).astype(np.float64)


def link_features(links: Iterable[Link]) -> list[float]:
    """What the learned rules see of links: a shortener, a disguised link."""
    links = list(links)
    return [float(any(x.shortener for x in links)), float(any(x.obfuscated for x in links))]


def ignored(link: Link, domains: tuple[str, ...]) -> bool:
    """A link the learned rules leave out: to one of ``domains`` (or a subdomain of one)."""
    return _ignored_domain(link.domain, _domain_set(domains))


def split_ignored(links, domains: tuple[str, ...]) -> tuple[list, list]:
    """``links`` the learned rules leave out, and those they keep (each domain decided once)."""
    wanted, seen = _domain_set(domains), {}
    gone, kept = [], []
    for x in links:
        out = seen.get(x.domain)
        if out is None:
            out = seen[x.domain] = _ignored_domain(x.domain, wanted)
        (gone if out else kept).append(x)
    return gone, kept


def _ignored_domain(domain: str, wanted: frozenset[str]) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[i:]) in wanted for i in range(len(labels)))


@lru_cache(maxsize=16)
def _domain_set(domains: tuple[str, ...]) -> frozenset[str]:
    return frozenset(domains)


def signals_reference(text: str, lexicon: Lexicon | None, ignore_domains: tuple[str, ...]):
    """One comment the plain way: its tokens (normalised, with offsets), which are kept (inside no
    ignored link), its sentences (token indices), its signals, and the (sentence, signals) of each
    of its sentence rows (when it has two sentences or more; those of 3+ tokens are rows)."""
    links = find_links(text)
    gone = [x for x in links if ignored(x, ignore_domains)]
    promo = [x for x in links if not ignored(x, ignore_domains)]
    norm = normalize_reference(text)
    tokens, breaks = [], []
    previous = None
    for match in TOKEN_RE.finditer(norm):
        breaks.append(previous is not None and bool(_BREAK.search(norm, previous, match.start())))
        tokens.append((match.group(0), match.start(), match.end()))
        previous = match.end()
    keep = [not any(x.start <= a and b <= x.end for x in gone) for _, a, b in tokens]
    # Sentences: runs of tokens between breaks.
    segments: list[list[int]] = []
    for i, brk in enumerate(breaks):
        if i == 0 or brk:
            segments.append([])
        segments[-1].append(i)

    def row(indices: list[int], links_in: list[Link], seg_list: list[list[int]]) -> np.ndarray:
        out = np.zeros(N_SIGNALS)
        out[LINKS] = link_features(links_in)
        counts = np.zeros(N_LEXICON)
        for i in indices:
            if keep[i] and lexicon is not None and (t := lexicon.tier(tokens[i][0])) >= 0:
                counts[ACTIONS.index(lexicon.tiers[t].action)] += 1
        out[LEXICON] = saturate(counts)
        cues = np.zeros(N_CUES)
        for seg in seg_list:
            has = np.zeros(len(CUE_CLASSES) + 1, dtype=bool)
            for i in seg:
                if keep[i] and (c := CUES_LEXICON.tier(tokens[i][0])) >= 0:
                    has[c] = True
            if has[:N_KINDS].any():
                has[_NAME] = any(keep[i] and CUES_LEXICON.tier(tokens[i][0]) < 0
                                 and is_name(text, tokens[i][0], tokens[i][1], i == seg[0]) for i in seg)
            end = tokens[seg[-1]][2]
            stop = tokens[seg[-1] + 1][1] if seg[-1] + 1 < len(tokens) else len(text)
            cues += _cue_features(has[None, :], np.array(["?" in text[end:stop]]))[0]
        out[CUES] = saturate(cues)
        return out

    whole = row(list(range(len(tokens))), promo, segments)
    parts = []
    if len(segments) >= 2:
        for seg in segments:
            if len(seg) >= MIN_SENTENCE_TOKENS:
                start, end = tokens[seg[0]][1], tokens[seg[-1]][2]
                parts.append((seg, row(seg, [x for x in promo if start <= x.start < end], [seg])))
    return tokens, keep, segments, whole, parts
