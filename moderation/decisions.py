"""The moderators' decisions: recorded against the queue, counted per rule, and turned into
training rows.

A decision is the outlet's own label of a comment: ``reject`` with the rules it broke, or
``approve`` (it broke none). Against what the service flagged, each rule's figures follow:

- upheld: the rule flagged the comment, and the moderator rejected it for that rule;
- overturned: the rule flagged it, and the moderator approved it;
- missed: the moderator rejected it for the rule, which had not flagged it;
- precision: upheld / (upheld + overturned), over the decided flags.

As training rows (``training_rows``): an approved comment is 0 for every learned rule; a rejected
one is 1 for the rules named and blank for the others (a moderator who names one broken rule has
not said the comment keeps the others).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .detectors import LEARNED_RULES, RULE_IDS
from .errors import InputError
from .store import Decision, HistoryStore

DECISIONS = ("approve", "reject")


class DecisionError(InputError):
    """A decision that cannot be recorded; ``field`` names what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RuleFigures:
    flagged: int
    decided: int
    upheld: int
    overturned: int
    missed: int

    @property
    def precision(self) -> float | None:
        judged = self.upheld + self.overturned
        return round(self.upheld / judged, 4) if judged else None

    def to_dict(self) -> dict:
        return {"flagged": self.flagged, "decided": self.decided, "upheld": self.upheld,
                "overturned": self.overturned, "missed": self.missed, "precision": self.precision}


def record(store: HistoryStore, item_id: str, decision: str, rules: Sequence[str], now: float,
           moderator: str | None = None, text: str | None = None) -> Decision:
    """Record a moderator's decision on ``item_id`` (queued, or with its ``text`` when not)."""
    if decision not in DECISIONS:
        raise DecisionError("decision", f"decision must be approve or reject, got {decision!r}")
    unknown = [r for r in rules if r not in RULE_IDS]
    if unknown:
        raise DecisionError("rules", f"rule {unknown[0]!r} is not a rule id; the rules are {', '.join(RULE_IDS)}")
    if decision == "approve" and rules:
        raise DecisionError("rules", "an approved comment breaks no rule: send \"rules\": [] with approve")
    queued = store.queue_get(item_id)
    if queued is None and not text:
        raise DecisionError("text", f"comment {item_id!r} is not in the queue: send its text with the decision")
    found = Decision(item_id=item_id, decision=decision, rules=tuple(dict.fromkeys(rules)),
                     flagged=queued.rules if queued else (), moderator=moderator,
                     thread=queued.thread if queued else None, author=queued.author if queued else None,
                     text=text if text else queued.text, decided=now)
    store.decide(found)
    return found


def figures(store: HistoryStore, since: float) -> dict[str, RuleFigures]:
    """Each rule's figures over the comments queued and the decisions made since ``since``."""
    queued = store.queued_since(since)
    decided = store.decisions(since)
    out = {}
    for rule in RULE_IDS:
        flagged_here = [d for d in decided if rule in d.flagged]
        out[rule] = RuleFigures(
            flagged=sum(rule in item.rules for item in queued),
            decided=len(flagged_here),
            upheld=sum(d.decision == "reject" and rule in d.rules for d in flagged_here),
            overturned=sum(d.decision == "approve" for d in flagged_here),
            missed=sum(d.decision == "reject" and rule in d.rules and rule not in d.flagged for d in decided))
    return out


def training_rows(decisions: Iterable[Decision]) -> list[dict]:
    """The decisions with a text as labelled rows: ``text``, ``id``, ``thread``, ``author`` and one
    column per learned rule (1, 0, or None for blank)."""
    rows = []
    for d in decisions:
        if not d.text:
            continue   # erased at the author's request
        labels = {rule: (0 if d.decision == "approve" else (1 if rule in d.rules else None)) for rule in LEARNED_RULES}
        rows.append({"text": d.text, "id": d.item_id, "thread": d.thread, "author": d.author, **labels})
    return rows
