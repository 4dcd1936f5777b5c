"""Turns comments into verdicts: the rulebook, the learned model and the measured signals together."""
from __future__ import annotations

import gc
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from .artifact import ModelArtifact
from .errors import InputError
from .repeats import NO_REPEAT, RepeatDetector, RepeatResult
from .rulebook import RULE_IDS, Rulebook
from .features import Scored
from .scan import VolumeMeter
from .signals import Volume, WordList, allowed_links, link_score
from .store import StoreUnavailable
from .verdict import DECIMALS, PUBLISH, REJECT, REVIEW, Evidence, Flag, Verdict, rounded


CHUNK = 10_000


# Not frozen: a frozen dataclass's __init__ costs several microseconds, a tenth of a whole check.
@dataclass(slots=True)
class Comment:
    text: str
    id: str | None = None
    thread: str | None = None
    author: str | None = None
    #: Remember this comment for repeat detection (False: check against history only).
    store: bool = True


@dataclass(frozen=True)
class RuleThresholds:
    review: float | None
    reject: float | None


class Moderator:
    """Checks comments against a rulebook with a trained model.

    ``check_batch`` scores the learned rules of all comments in one matrix product, so it is much
    faster per comment than calling ``check`` in a loop, and gives the same verdicts.
    """

    def __init__(self, artifact: ModelArtifact, rulebook: Rulebook, history: RepeatDetector | None = None,
                 evidence_per_flag: int = 5):
        self.artifact = artifact
        self.history = history
        self.rulebook = rulebook
        self.evidence_per_flag = evidence_per_flag
        self.model = artifact.model
        self.learned = tuple(self.model.rules_)
        self.thresholds = {rule: self._thresholds(rule) for rule in RULE_IDS}
        foul = rulebook["foul_language"].settings
        self.banned = WordList(foul.get("banned_words", []))
        self.suspect = WordList(foul.get("suspect_words", []))
        self.allow_domains = tuple(rulebook["links"].settings.get("allow_domains", []))
        self.link_limit = rulebook["links"].settings.get("limit", 1)
        self.acronyms = tuple(rulebook["volume"].settings.get("acronyms", []))
        self.volume = VolumeMeter(self.acronyms)
        self._column = {rule: j for j, rule in enumerate(RULE_IDS)}
        self._learned_columns = [self._column[rule] for rule in self.learned]
        self._rule_text = [rulebook[rule].text for rule in RULE_IDS]
        self._listed = bool(self.banned or self.suspect)
        # A rule with no review threshold never flags: +inf is never reached.
        self._review = np.asarray([np.inf if self.thresholds[r].review is None else self.thresholds[r].review
                                   for r in RULE_IDS])

    def _thresholds(self, rule_id: str) -> RuleThresholds:
        rule = self.rulebook[rule_id]
        if rule_id == "links":
            # The outlet's limit is the policy; the score reaches 1.0 exactly when it is passed.
            chosen = {"review": 1.0, "reject": 1.0}
        else:
            chosen = self.artifact.thresholds.get(rule_id, {})
        review = rule.threshold if rule.threshold is not None else chosen.get("review")
        reject = rule.reject_threshold if rule.reject_threshold is not None else chosen.get("reject")
        if rule.action != "reject":
            reject = None
        elif reject is not None and review is not None:
            reject = max(reject, review)
        return RuleThresholds(review=None if review is None else rounded(review),
                              reject=None if reject is None else rounded(reject))

    @property
    def version(self) -> str:
        return self.artifact.version

    def check(self, text: str | Comment, id: str | None = None) -> Verdict:
        comment = text if isinstance(text, Comment) else Comment(text=text, id=id)
        return self.check_batch([comment])[0]

    def check_batch(self, comments: Iterable[Comment | str | Mapping]) -> list[Verdict]:
        with _gc_paused():
            return self._check_batch(comments)

    def _check_batch(self, comments: Iterable[Comment | str | Mapping]) -> list[Verdict]:
        raw = comments if isinstance(comments, list) else list(comments)
        if not raw:
            return []
        if self.history is None and all(type(c) is str for c in raw):
            # Plain texts with no history to check: nothing to read from a Comment but the text.
            texts, ids = raw, [None] * len(raw)
            repeats, unavailable = [NO_REPEAT] * len(raw), ()
        else:
            items = [_as_comment(c, i) for i, c in enumerate(raw)]
            texts, ids = [c.text for c in items], [c.id for c in items]
            repeats, unavailable = self._repeats(items)
        verdicts = []
        # Scored in chunks so a very large batch does not set the process's peak memory; the
        # verdicts are the same either way.
        for start in range(0, len(texts), CHUNK):
            end = start + CHUNK
            probabilities, scored = self.model.score(texts[start:end])
            verdicts += self._verdicts(ids[start:end], probabilities, scored, repeats[start:end], unavailable)
        return verdicts

    def _repeats(self, items: list[Comment]) -> tuple[list[RepeatResult], tuple[str, ...]]:
        if self.history is None:
            return [NO_REPEAT] * len(items), ()
        try:
            return self.history.check_batch(items), ()
        except StoreUnavailable as exc:
            # The verdict still comes back; the moderator is told repeats were not checked.
            logging.getLogger("moderation").warning("repeat check skipped: %s", exc)
            return [NO_REPEAT] * len(items), ("repeated",)

    def ready(self) -> None:
        """Raise if a comment cannot be fully checked (model or history store)."""
        self.model.score(["readiness probe"])
        if self.history is not None:
            self.history.store.ping()

    def _verdicts(self, ids: list[str | None], probabilities: np.ndarray, scored: Scored,
                  repeats: list[RepeatResult], unavailable: tuple[str, ...]) -> list[Verdict]:
        """Verdicts of a chunk. Scores are gathered for the whole chunk at once; only comments with
        a flag (or a listed word) go through the per-comment path that builds evidence. The scan
        marks which comments can hold a link or shouting at all, and only those are measured."""
        a = scored.analysis
        n = len(ids)
        S = np.zeros((n, len(RULE_IDS)))
        S[:, self._learned_columns] = probabilities
        links: dict[int, list] = {}
        for d, found in a.links.items():
            links[d] = allowed_links(found, self.allow_domains)
            S[d, self._column["links"]] = link_score(len(links[d]), self.link_limit)
        volumes = {int(d): self.volume(a.texts[d]) for d in np.flatnonzero(a.scan.may_shout)}
        for d, volume in volumes.items():
            S[d, self._column["volume"]] = volume.score
        S[:, self._column["repeated"]] = [r.score for r in repeats]
        R = _rounded(S)
        rows = R.tolist()
        over = R >= self._review
        listed = self._listed
        flagged_docs, flagged_columns = np.nonzero(over)
        candidates: dict[int, list[int]] = {}
        for d, j in zip(flagged_docs.tolist(), flagged_columns.tolist()):
            candidates.setdefault(d, []).append(j)
        # The evidence of every learned-rule flag of the chunk, chosen at once.
        learned = set(self._learned_columns)
        wanted = [(d, RULE_IDS[j]) for d, j in zip(flagged_docs.tolist(), flagged_columns.tolist()) if j in learned]
        evidence = dict(zip(wanted, self.model.evidence_batch(scored, wanted, self.evidence_per_flag)))
        out = []
        version = self.version
        texts = a.texts
        no_words: tuple[list, list] = ([], [])
        for i, id_ in enumerate(ids):
            words = (self.banned.find(texts[i]), self.suspect.find(texts[i])) if listed else no_words
            if i in candidates or words[0] or words[1]:
                out.append(self._verdict(id_, texts[i], i, rows[i], candidates.get(i, []), words, scored, evidence,
                                         repeats[i], volumes.get(i), links.get(i, []), unavailable))
            else:
                out.append(Verdict(id_, PUBLISH, (), dict(zip(RULE_IDS, rows[i])), version, unavailable))
        return out

    def _verdict(self, id_: str | None, text: str, i: int, row: list[float], columns: list[int], words: tuple,
                 scored: Scored, learned_evidence: dict[tuple[int, str], list], repeat: RepeatResult,
                 volume: Volume | None, links: list, unavailable: tuple[str, ...]) -> Verdict:
        """The verdict of a comment with flags: ``columns`` are the rules whose score reached its
        review threshold (recomputed here when a listed word changes the foul-language score);
        ``words`` are the banned and the suspect words found in it."""
        scores = dict(zip(RULE_IDS, row))
        forced_reject = False
        word_hits: list[Evidence] = []
        if self._listed:
            banned, suspect = words
            if banned:
                scores["foul_language"], forced_reject = 1.0, True
            elif suspect:
                review = self.thresholds["foul_language"].review
                scores["foul_language"] = max(scores["foul_language"], review if review is not None else 1.0)
            word_hits = [Evidence(s.text, s.start, s.end) for s in (*banned, *suspect)]
            columns = [j for j, rule in enumerate(RULE_IDS) if scores[rule] >= self._review[j]]

        flags: list[Flag] = []
        verdict = PUBLISH
        for j in columns:
            rule_id = RULE_IDS[j]
            limits = self.thresholds[rule_id]
            score = scores[rule_id]
            if rule_id in self.learned:
                spans = learned_evidence.get((i, rule_id))
                if spans is None:   # raised to its threshold by a listed word
                    spans = self.model.evidence(scored, i, rule_id, self.evidence_per_flag)
                found = [Evidence(text[s:e], s, e) for s, e, _ in spans]
                if rule_id == "foul_language":
                    seen = {(e.start, e.end) for e in word_hits}
                    found = word_hits + [e for e in found if (e.start, e.end) not in seen]
            elif rule_id == "links":
                found = [Evidence(l.text, l.start, l.end) for l in links]
            elif rule_id == "volume":
                found = [Evidence(s.text, s.start, s.end) for s in volume.spans] if volume else []
            else:
                found = list(repeat.evidence)
            flags.append(Flag(rule_id, self._rule_text[j], score, limits.review, tuple(found)))
            if verdict == PUBLISH:
                verdict = REVIEW
            if limits.reject is not None and score >= limits.reject:
                verdict = REJECT
        if forced_reject:
            verdict = REJECT
        flags.sort(key=lambda f: (-f.score, self._column[f.rule]))
        return Verdict(id_, verdict, tuple(flags), scores, self.version, unavailable)


@contextmanager
def _gc_paused():
    """Run without the cyclic garbage collector. A batch allocates tens of thousands of objects
    (verdicts, flags, score dicts), none of them in reference cycles, and each allocation burst
    set off full collections that walk every object in the process (the model's vocabularies
    among them): a third of a 10,000-comment batch (benchmarks/speed.py). Reference counting still
    frees everything; the collector resumes afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _rounded(scores: np.ndarray) -> np.ndarray:
    """``round(x, DECIMALS)`` of every score, as Python's ``round`` gives it (what a moderator reads
    is what was compared). NumPy's rint(x * 10^4) / 10^4 is the same number except within a hair of
    a half-way point, where the product may round the other way; those few go through ``round``."""
    scale = 10.0 ** DECIMALS
    scaled = scores * scale
    out = np.rint(scaled) / scale
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    for i, j in zip(*np.nonzero(near_half)):
        out[i, j] = round(float(scores[i, j]), DECIMALS)
    return out


def _as_comment(item: Comment | str | Mapping, index: int) -> Comment:
    if isinstance(item, Comment):
        comment = item
    elif isinstance(item, str):
        comment = Comment(text=item)
    elif isinstance(item, Mapping):
        comment = Comment(text=item.get("text"), id=item.get("id"), thread=item.get("thread"),
                          author=item.get("author"), store=item.get("store", True))
    else:
        raise InputError(f"comment #{index + 1} must be text or an object with a 'text' field, got {type(item).__name__}")
    if not isinstance(comment.text, str):
        raise InputError(f"comment #{index + 1}: 'text' must be a string, got {type(comment.text).__name__}")
    return comment
