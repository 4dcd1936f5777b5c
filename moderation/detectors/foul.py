"""Foul language: the words as written (the lexicon, ``moderation/lexicon.toml``), the outlet's own
word lists, and the learned model for the context.

- A hit of a lexicon tier whose action is "reject" scores 1.0 and, when the rule's action is
  "reject", rejects the comment; "review" raises the score to the review threshold (a comment
  raised that way is reviewed, not rejected, unless the model alone would reject it); "model" words
  are left to the learned model (which sees every hit as a feature); "none" words (mild) never flag
  on their own, and a comment whose only hits are mild is never rejected for foul language.
- A banned word (rulebook ``banned_words``, phrases allowed) rejects the comment; a suspect word
  (``suspect_words``) sends it to review (the same way as a "review" tier).
- A word masked whole by symbols ("what a load of ****", "#$%&"): no lexicon word to find, yet our
  readers judged 19 of 22 such training comments foul; it sends the comment to review
  (``review_masked``), as a "review" tier does.
- A strong word is for a moderator to read, not a reason to reject, where it may not be one:
  a mask that fits a mild word as well ("d***" is damn as well as dbag, "c***" crap as well as
  cunt; ``review_ambiguous_masks``), or a word standing alone in quotation marks, mentioned
  rather than used ("her pronouncement of 'slutty' behaviour"; ``review_quoted``). The word counts
  as a "review" tier's would (the comment is flagged, at least at the review threshold), and the
  model's score does not reject the comment either: the model read the same word as a feature.
- Evidence: the listed and lexicon words first, then the words the model weighed most.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .. import evidence
from ..lexicon import ACTIONS, Lexicon, packaged_lexicon_path
from ..normaliser import MASK_CHARS
from ..signals import WordList
from .base import Batch, RuleScores
from .learned import LearnedDetector, learned_scores

_REJECT, _REVIEW, _MODEL, _NONE = (ACTIONS.index(a) for a in ("reject", "review", "model", "none"))

#: The normaliser's mask characters: a word it unmasked is read against the mild tiers with the same.
_MASK_CHARS = frozenset(MASK_CHARS)
#: Opening quotation marks and the closing mark each takes.
_QUOTES = {"'": "'", '"': '"', "\u2018": "\u2019", "\u201c": "\u201d", "`": "`", "\u00ab": "\u00bb", "\u2019": "\u2019"}
#: A comment with none of these has no strong word to soften.
_QUOTE_CHARS = frozenset(_QUOTES)
_SOFT_CHARS = _MASK_CHARS | _QUOTE_CHARS

#: Three or more masking symbols at the start of a word, one of them * # % & or ^ (so "!!!", "$$$"
#: and "@@@" are not): a word written as symbols. Starts only where a run begins: linear.
MASKED = re.compile(r"(?<![\w/*#@$%&^!])(?=[@$!]*[*#%&^])[*#@$%&^!]{3,}")


@dataclass(frozen=True)
class FoulLanguageSettings:
    #: Words or phrases that reject a comment whatever the model says.
    banned_words: tuple[str, ...] = field(default=(), metadata={"kind": "words"})
    #: Words or phrases that send a comment to review.
    suspect_words: tuple[str, ...] = field(default=(), metadata={"kind": "words"})
    #: The tiered lexicon (a path, relative to the rulebook's folder); empty: the packaged one.
    lexicon: str = field(default="", metadata={"kind": "path"})
    #: A word masked whole by symbols ("****", "#$%&") sends the comment to review.
    review_masked: bool = True
    #: A mask that fits a mild word as well as a strong one ("d***": damn or dbag) sends the
    #: comment to review rather than rejecting it.
    review_ambiguous_masks: bool = True
    #: A strong word standing alone in quotation marks (the word 'slutty') sends the comment to
    #: review rather than rejecting it: a mention, which a moderator reads.
    review_quoted: bool = True


class FoulLanguageDetector(LearnedDetector):
    Settings = FoulLanguageSettings

    def __init__(self, rule, thresholds, context):
        super().__init__(rule, thresholds, context)
        self.banned = WordList(self.settings.banned_words)
        self.suspect = WordList(self.settings.suspect_words)
        self.lexicon = context.lexicon or Lexicon.load(self.settings.lexicon or packaged_lexicon_path())
        features = self.model.features_
        own = getattr(features, "lexicon", None)
        # The model's own per-token classes serve when it was trained with this very lexicon;
        # otherwise the vocabulary is classified once here.
        self._same = own is not None and own.fingerprint == self.lexicon.fingerprint
        self._table_action = None if self._same else self._actions(features.terms_)
        #: masked word as written -> whether a mild word fits it too (``_soften``)
        self._readings: dict[str, bool] = {}

    def _actions(self, terms) -> np.ndarray:
        tiers = self.lexicon.tiers_of(terms)
        return np.where(tiers >= 0, self.lexicon.actions()[np.maximum(tiers, 0)], -1)

    def token_actions(self, a) -> np.ndarray:
        """The rulebook lexicon's action for every token of an analysed batch (-1: no hit)."""
        if self._same:
            return a.action
        from ..features.vocabulary import _oov_terms

        return np.concatenate([self._table_action, self._actions(_oov_terms(a))]).astype(np.int64)[a.ext]

    def _soften(self, batch: Batch, a, action: np.ndarray, strong: np.ndarray) -> list[int]:
        """Turn into review hits (in ``action``) the ``strong`` hits of the comments all of whose
        strong hits may not be strong words (an ambiguous mask, a word mentioned in quotation
        marks), and return those comments. A comment's first hit that is a strong word settles it
        (it rejects), so its other hits are not read; a comment with neither a mask character nor
        a quotation mark is not read at all; a mask is read once however often it is written."""
        originals, normalised, softened = batch.originals, batch.normalised, []
        quoted_on, masks_on, readings = self.settings.review_quoted, self.settings.review_ambiguous_masks, self._readings
        if not len(strong):
            return softened
        doc = a.scan.doc[strong]
        firsts = [0, *(np.flatnonzero(np.diff(doc)) + 1).tolist()]
        docs, starts, ends = doc.tolist(), a.scan.start[strong], a.scan.end[strong]
        for i, j in zip(firsts, [*firsts[1:], len(docs)]):
            d = docs[i]
            text = originals[d]
            if _SOFT_CHARS.isdisjoint(text):
                continue
            found = normalised.get(d)
            offsets = None if found is None else found.offsets
            if offsets is None:
                spans = zip(starts[i:j].tolist(), ends[i:j].tolist())
            else:   # the spans as written
                offsets = np.asarray(offsets)
                spans = zip(offsets[starts[i:j]].tolist(), (offsets[ends[i:j] - 1] + 1).tolist())
            for start, end in spans:
                if quoted_on and start and text[start - 1] in _QUOTES and _quoted(text, start, end):
                    continue
                word = text[start:end]
                if not masks_on or _MASK_CHARS.isdisjoint(word):
                    break
                soft = readings.get(word)
                if soft is None:
                    soft = self.lexicon.mild_reading("".join("*" if c in _MASK_CHARS else c for c in word)) is not None
                    if len(readings) < 10_000:
                        readings[word] = soft
                if not soft:
                    break
            else:
                action[strong[i:j]] = _REVIEW
                softened.append(d)
        return softened

    def score_batch(self, batch: Batch) -> RuleScores:
        learned = super().score_batch(batch)
        if self.column is None:
            return learned
        _, scored = learned_scores(batch, self.model, self.context.ignore_link_domains)
        a = scored.analysis
        n = len(batch)
        action = np.where(a.keep, self.token_actions(a), -1)
        hits = np.flatnonzero(action >= 0)
        softened = np.zeros(n, dtype=bool)
        if self.settings.review_ambiguous_masks or self.settings.review_quoted:
            softened[self._soften(batch, a, action, hits[action[hits] == _REJECT])] = True
        doc = a.scan.doc[hits].astype(np.int64)
        has = np.zeros((n, len(ACTIONS)), dtype=bool)
        has[doc, action[hits]] = True
        scores = learned.scores.copy()
        review = self.thresholds.review
        raise_to = review if review is not None else 1.0
        reject = has[:, _REJECT] & (self.rule.action == "reject")
        # Raised to review by a word (a "review" tier, a suspect word): reviewed, not rejected on that.
        raised = has[:, _REVIEW] & ~has[:, _REJECT] & (scores < raise_to)
        scores[has[:, _REJECT]] = 1.0
        scores[raised] = raise_to
        # A softened word's comment is not rejected on the model's score either: the model read the
        # same word as a strong one (its hits are features).
        no_reject = raised | (softened & ~has[:, _REJECT]) | \
            (has[:, _NONE] & ~has[:, _REJECT] & ~has[:, _REVIEW] & ~has[:, _MODEL])
        listed: dict[int, tuple] = {}
        # A lexicon tier that rejects or reviews decided these comments' flags.
        matched = dict.fromkeys(np.flatnonzero(has[:, _REJECT] | raised | softened).tolist(), "lexicon")
        if self.settings.review_masked:
            # The scanner marks the few comments that hold a run of masking symbols a masked word
            # could be (a pattern search of every comment cost a third as much as scoring it).
            for d in np.flatnonzero(a.scan.may_mask & ~has[:, _REJECT]).tolist():
                found = MASKED.search(batch.texts[d])
                if found is not None:
                    listed[d] = (batch.evidence(d, found.start(), found.end()),)
                    if scores[d] < raise_to:
                        scores[d], no_reject[d] = raise_to, True
                        matched[d] = "masked"
        if self.banned or self.suspect:
            for d, text in enumerate(batch.texts):
                banned, suspect = self.banned.find(text), self.suspect.find(text)
                if banned:
                    scores[d], reject[d], no_reject[d] = 1.0, True, False
                    matched[d] = "banned_words"
                elif suspect and scores[d] < raise_to:
                    scores[d], no_reject[d] = raise_to, True
                    matched[d] = "suspect_words"
                if banned or suspect:
                    listed[d] = batch.spans(d, (*banned, *suspect))
        # The words shown: each flagged comment's first hits, as many as a flag shows (a comment of
        # thousands of hits would otherwise list them all); made only for the comments asked of.
        first_hit = np.searchsorted(doc, np.arange(n + 1)) if len(doc) else np.zeros(n + 1, dtype=np.int64)
        shown = self.context.evidence_per_flag

        def words(d: int) -> list:
            lo, hi = int(first_hit[d]), min(int(first_hit[d + 1]), int(first_hit[d]) + shown)
            return [batch.evidence(d, int(s), int(e)) for s, e in zip(a.scan.start[hits[lo:hi]], a.scan.end[hits[lo:hi]])]

        def evidence_of(docs):
            found = learned.evidence(docs)
            return [evidence.merge(evidence.merge(listed.get(d, ()), words(d)), f) for d, f in zip(docs, found)]

        return RuleScores(scores, evidence_of, reject=reject, no_reject=no_reject, matched=matched)


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands alone in quotation marks ("the word 'slutty'", not
    "'slutty behaviour'" nor the apostrophe of "bitch's")."""
    if start < 1 or end >= len(text):
        return False
    close = _QUOTES.get(text[start - 1])
    return (close is not None and text[end] == close
            and (start < 2 or not text[start - 2].isalnum()) and (end + 1 >= len(text) or not text[end + 1].isalnum()))
