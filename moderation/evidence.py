"""Evidence: the spans of a comment that show a moderator why a rule flagged it.

Everything that chooses or shapes evidence lives here:

- for a learned rule, each word's own term of the comment's decision value (``token_weights``: with
  this feature space the decision value is exactly a sum over the comment's tokens, plus its links'
  share), and the heaviest few words per flag (``choose``, a whole batch of flags in one sort;
  ``choose_one`` is the same choice made word by word, which tests hold it equal to). Words inside
  a link count as the link, and function words ("the", "because") are never shown;
- for measured rules, their spans (links counted, shouted words) as ``Evidence``;
- ``merge``: one rule's evidence from several sources (word-list hits first), without repeats.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np

from . import accel
from .features.compiled import Scored
from .features.dense import LINKS
from .hashindex import HashIndex
from .scan import token_hash
from .signals import Span
from .verdict import Evidence

#: English function words (articles, pronouns, prepositions, conjunctions, auxiliaries, common
#: adverbs): never evidence on their own. Written for the project; it used to be scikit-learn's
#: stop-word list, which also holds content words a news comment means ("bill", "fire", "system",
#: "interest", "computer") and cost every served model an import of scikit-learn.
FUNCTION_WORDS = frozenset("""
a about above across after afterwards again against all almost alone along already also although
always am among amongst an and another any anybody anyhow anyone anything anyway anywhere are
around as at be became because become becomes been before beforehand behind being below beside
besides between beyond both but by can cannot could did do does doing done down during each either
else elsewhere enough etc even ever every everybody everyone everything everywhere except few for
from further had has have having he hence her here hereafter hereby herein hers herself him himself
his how however i ie if in indeed into is it its itself just least less many may me meanwhile might
mine more moreover most mostly much must my myself namely neither never nevertheless next no nobody
none noone nor not nothing now nowhere of off often on once one only onto or other others otherwise
our ours ourselves out over own per perhaps quite rather re same seem seemed seeming seems several
she should since so some somebody somehow someone something sometime sometimes somewhere still such
than that the their theirs them themselves then thence there thereafter thereby therefore therein
thereupon these they this those though through throughout thru thus to together too toward towards
under until up upon us very via was we well were what whatever when whence whenever where whereafter
whereas whereby wherein whereupon wherever whether which while whither who whoever whole whom whose
why will with within without would yet you your yours yourself yourselves
""".split())

#: Function words, by the hash the scanner gives their tokens.
STOP_HASHES = np.sort(np.asarray([token_hash(w) for w in FUNCTION_WORDS], dtype=np.uint64))
_STOP_INDEX = HashIndex(STOP_HASHES)


def spans(found: Iterable[Span]) -> tuple[Evidence, ...]:
    """Measured spans (links, shouted words, listed words) as evidence, as they are."""
    return tuple(Evidence(s.text, s.start, s.end) for s in found)


def merge(first: Iterable[Evidence], then: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """``first``, then those of ``then`` that cover other spans."""
    first = list(first)
    seen = {(e.start, e.end) for e in first}
    return tuple(first + [e for e in then if (e.start, e.end) not in seen])


def token_weights(scored: Scored, tokens: np.ndarray, rules: np.ndarray) -> np.ndarray:
    """Each token's own term of its comment's decision value for the rule (column) given with
    it: its unigram, half of each bigram it is in and its character n-grams, each over its norm."""
    a, c = scored.analysis, scored.compiled
    if scored._pair_at is None:
        left, right = np.full(len(a.table), -1), np.full(len(a.table), -1)
        left[a.pair_left] = np.arange(len(a.pair_left))
        right[a.pair_right] = np.arange(len(a.pair_right))
        scored._pair_at = (left, right)
    # Numbers picked from the compiled tables (larger than the caches) by ``accel.take``, which
    # fetches rows ahead: the unigram's, half of each bigram's, the token's character n-grams'.
    words = accel.take(c.word_ext, a.unigram[tokens], rules)
    for at in scored._pair_at if len(a.pair_col) else ():
        pair = at[tokens]
        column = np.where(pair >= 0, a.pair_col[np.maximum(pair, 0)], -1)
        words += accel.take(c.word_ext, column, rules) / 2
    table = a.table[tokens]
    has = table >= 0
    chars = accel.take(c.token_ext, table, rules)
    chars[~has] = scored.oov_token[a.ext[tokens[~has]] - len(c.token_ext), rules[~has]]
    doc = a.scan.doc[tokens]
    out = np.where(a.keep[tokens], words / scored.word_norm[doc] + chars / scored.char_norm[doc], 0.0)
    return out + signal_shares(scored, tokens, rules)


def signal_shares(scored: Scored, tokens: np.ndarray, rules: np.ndarray) -> np.ndarray:
    """Each token's share of its comment's lexicon and cue signals for the rule given with it: a
    signal's contribution split evenly among the tokens that make it (the hit words, the accuser's
    and the wrongdoing's words). Links' shares go to the links themselves (``choose``)."""
    if not len(scored.analysis.signals.unit_token) or not len(tokens):
        return np.zeros(len(tokens))
    unit_token, per_rule = _units(scored)
    at = np.minimum(np.searchsorted(unit_token, tokens), len(unit_token) - 1)
    hit = unit_token[at] == tokens
    out = np.zeros(len(tokens))
    out[hit] = per_rule[at[hit], rules[hit]]
    return out


def function_words(scored: Scored, tokens: np.ndarray) -> np.ndarray:
    """Which tokens are function words ("the", "because"): never shown as evidence."""
    return _STOP_INDEX.lookup(scored.analysis.scan.hash[tokens]) >= 0


def choose(scored: Scored, flags: list[tuple[int, int]], k: int = 5) -> list[list[tuple[int, int, float]]]:
    """The evidence of many learned-rule flags at once: for each (comment, rule column), its top
    ``k`` units (a word, or a link with the words inside it) as (start, end, weight), heaviest first,
    down to 5% of the heaviest. One weight per unit. The flags of comments without a link (nearly
    all) are chosen by ``accel.top_tokens`` in one read of their tokens; those with a link, whose
    words merge into the link's unit, by ``_choose_linked``."""
    if not flags:
        return []
    a = scored.analysis
    docs = np.asarray([i for i, _ in flags], dtype=np.int64)
    rules = np.asarray([j for _, j in flags], dtype=np.int64)
    linked = np.isin(docs, np.fromiter(a.promo_links, dtype=np.int64, count=len(a.promo_links)))
    out: list[list[tuple[int, int, float]]] = [[] for _ in flags]
    plain = np.flatnonzero(~linked)
    # In comment order: each flag's tokens are found from where the last one's were.
    plain = plain[np.argsort(docs[plain], kind="stable")]
    if len(plain):
        first = a.first_tokens()
        unit_token, unit_share = _units(scored)
        c = scored.compiled
        owner, tokens, weights = accel.top_tokens(
            first[docs[plain]], first[docs[plain] + 1], rules[plain], k, a.unigram, a.pair_left, a.pair_right,
            a.pair_col, a.table, a.ext, a.keep, a.scan.doc, a.scan.hash, _STOP_INDEX, c.word_ext, c.token_ext,
            scored.oov_token, scored.word_norm, scored.char_norm, unit_token, unit_share)
        _extend(out, plain[owner], a.scan.start[tokens], a.scan.end[tokens], weights)
    if linked.any():
        at = np.flatnonzero(linked)
        for f, found in zip(at.tolist(), _choose_linked(scored, docs[at], rules[at], k)):
            out[f] = found
    return out


def _units(scored: Scored) -> tuple[np.ndarray, np.ndarray]:
    """The tokens that share a signal (ascending, distinct) and each one's share of every rule's
    decision value, made once per batch."""
    a, sig = scored.analysis, scored.analysis.signals
    if not len(sig.unit_token):
        return np.zeros(0, dtype=np.int64), np.zeros((0, scored.compiled.signals.shape[1]))
    if scored._units is None:
        # A token may make several units (a lexicon hit that is also a cue word): summed per token.
        doc = a.scan.doc[sig.unit_token]
        value = sig.doc[doc, sig.unit_column] / sig.unit_count[doc, sig.unit_column]
        order = np.argsort(sig.unit_token, kind="stable")
        unit_token = sig.unit_token[order]
        share = value[order, None] * scored.compiled.signals[sig.unit_column[order]]
        first = np.flatnonzero(np.concatenate([[True], unit_token[1:] != unit_token[:-1]]))
        scored._units = (unit_token[first], np.add.reduceat(share, first, axis=0))
    return scored._units


def _extend(out, owners: np.ndarray, starts: np.ndarray, ends: np.ndarray, weights: np.ndarray) -> None:
    """Append each (start, end, weight) to ``out[owner]``; entries come grouped by owner."""
    units = list(zip(starts.tolist(), ends.tolist(), weights.tolist()))
    # One extend per flag, not one append per unit.
    bounds = np.flatnonzero(np.diff(owners)) + 1 if len(owners) else np.zeros(0, dtype=np.int64)
    for lo, hi, o in zip([0] + bounds.tolist(), bounds.tolist() + [len(owners)], owners[np.r_[0, bounds]].tolist()
                         if len(owners) else []):
        out[o].extend(units[lo:hi])


def _choose_linked(scored: Scored, docs: np.ndarray, rules: np.ndarray, k: int) -> list[list[tuple[int, int, float]]]:
    """``choose`` of flags of comments with links, in arrays: words inside a link are shown as
    the link, which also gets the link signals' share."""
    a = scored.analysis
    n_flags = len(docs)
    first = a.first_tokens()
    lo, hi = first[docs], first[docs + 1]
    sizes = hi - lo
    owner = np.repeat(np.arange(n_flags), sizes)
    offsets = np.cumsum(sizes) - sizes
    tokens = np.arange(int(sizes.sum())) - np.repeat(offsets, sizes) + np.repeat(lo, sizes)
    quiet = function_words(scored, tokens)
    weights = token_weights(scored, tokens, rules[owner])
    starts, ends = a.scan.start[tokens], a.scan.end[tokens]
    # The links of every flag in one array, keyed (flag, start): the link each word lies in is
    # found by one search (links never overlap).
    link_lists = [a.promo_links[int(d)] for d in docs]
    counts = np.fromiter(map(len, link_lists), dtype=np.int64, count=n_flags)
    extra_owner = np.repeat(np.arange(n_flags), counts)
    extra_start = np.fromiter((x.start for links in link_lists for x in links), dtype=np.int64, count=int(counts.sum()))
    extra_end = np.fromiter((x.end for links in link_lists for x in links), dtype=np.int64, count=int(counts.sum()))
    shares = [float(scored.signal_rows[int(d), LINKS] @ scored.compiled.links[:, int(r)]) / len(links)
              for d, r, links in zip(docs.tolist(), rules.tolist(), link_lists)]
    extra_weight = np.repeat(np.asarray(shares), counts)
    width = np.int64(1 << 32)   # above any offset
    link_key = extra_owner * width + extra_start
    own = owner.astype(np.int64)
    at = np.maximum(np.searchsorted(link_key, own * width + starts, side="right") - 1, 0)
    inside = (extra_owner[at] == own) & (starts >= extra_start[at]) & (ends <= extra_end[at])
    starts, ends = starts.astype(np.int64), ends.astype(np.int64)
    starts[inside], ends[inside] = extra_start[at[inside]], extra_end[at[inside]]
    quiet[inside] = False
    # Words and links merged into units: one weight per (flag, span).
    all_owner = np.concatenate([own, extra_owner])
    all_weights = np.concatenate([weights, extra_weight])
    all_starts = np.concatenate([starts, extra_start])
    all_ends = np.concatenate([ends, extra_end])
    all_quiet = np.concatenate([quiet, np.zeros(len(extra_owner), dtype=bool)])
    order = np.lexsort((all_starts, all_owner))
    all_owner, all_weights, all_starts, all_ends, all_quiet = (x[order] for x in (all_owner, all_weights, all_starts,
                                                                                     all_ends, all_quiet))
    unit_start = np.ones(len(all_owner), dtype=bool)
    unit_start[1:] = (all_owner[1:] != all_owner[:-1]) | (all_starts[1:] != all_starts[:-1])
    at = np.flatnonzero(unit_start)
    unit_weights = np.add.reduceat(all_weights, at) if len(at) else all_weights
    out: list[list[tuple[int, int, float]]] = [[] for _ in range(n_flags)]
    _top(out, all_owner[at], unit_weights, all_starts[at], all_ends[at], all_quiet[at], k)
    return out


def _top(out, owner, weights, starts, ends, quiet, k):
    """Append to ``out[flag]`` the flag's top ``k`` positive, not quiet units, heaviest first
    (ties in text order), down to 5% of the heaviest. Entries come in (flag, text) order."""
    keep = (weights > 0) & ~quiet
    owner, weights = owner[keep], weights[keep]
    if not len(owner):
        return
    # Units under 5% of their flag's heaviest are never shown: left out before sorting.
    first = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
    heaviest = np.maximum.reduceat(weights, first)
    group = np.cumsum(np.concatenate([[False], owner[1:] != owner[:-1]]))
    strong = np.flatnonzero(weights >= 0.05 * heaviest[group])
    owner, weights = owner[strong], weights[strong]
    starts, ends = starts[keep][strong], ends[keep][strong]
    # Stable sorts: by weight, then by flag, keeps text order among equal weights (flags as
    # small integers sort in linear time).
    order = np.argsort(-weights, kind="stable")
    flag_key = owner[order].astype(np.uint16 if owner.max() < 1 << 16 else np.int64)
    order = order[np.argsort(flag_key, kind="stable")]
    owner, weights, starts, ends = owner[order], weights[order], starts[order], ends[order]
    group_start = np.searchsorted(owner, owner)          # first entry of each entry's flag
    chosen = np.flatnonzero(((np.arange(len(owner)) - group_start) < k) & (weights >= 0.05 * weights[group_start]))
    _extend(out, owner[chosen], starts[chosen], ends[chosen], weights[chosen])


def choose_one(scored: Scored, i: int, j: int, k: int) -> list[tuple[int, int, float]]:
    """One flag's evidence, word by word: the plain form of ``choose``, which tests hold it equal to."""
    a = scored.analysis
    span = a.tokens_of(i)
    tokens = np.arange(span.start, span.stop)
    weights = token_weights(scored, tokens, np.full(len(tokens), j))
    quiet_tokens = function_words(scored, tokens)
    links = a.promo_links.get(i, ())
    weight: dict[tuple[int, int], float] = defaultdict(float)
    quiet = set()
    for start, end, w, q in zip(a.scan.start[tokens].tolist(), a.scan.end[tokens].tolist(), weights.tolist(),
                                quiet_tokens.tolist()):
        unit = next(((l.start, l.end) for l in links if l.start <= start and end <= l.end), (start, end))
        weight[unit] += w
        if q and unit == (start, end):
            quiet.add(unit)
    share = float(scored.signal_rows[i, LINKS] @ scored.compiled.links[:, j]) / len(links) if links else 0.0
    for link in links:
        weight[(link.start, link.end)] += share
    ranked = sorted(((span_, w) for span_, w in weight.items() if w > 0 and span_ not in quiet),
                    key=lambda item: (-item[1], item[0]))
    if not ranked:
        return []
    floor = 0.05 * ranked[0][1]
    return [(s_, e, w) for (s_, e), w in ranked[:k] if w >= floor]
