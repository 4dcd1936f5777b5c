"""The moderators' routes: the queue, their decisions, the figures, and an author's erasure.

``GET /v1/queue`` lists what the service sent to review or rejected and nobody has decided yet;
``POST /v1/decisions`` records a decision (the comment leaves the queue); ``GET /v1/stats`` counts,
per rule, how often moderators upheld or overturned its flags and what it missed;
``DELETE /v1/authors/<author>`` erases one reader. All need the history store; without one, or
when it fails, they answer 503 (``state.history`` and the ``StoreUnavailable`` error handler).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from flask import Blueprint, jsonify, request

from .. import decisions
from ..detectors import RULE_IDS
from .errors import ApiError
from .moderate import json_body
from .schema import parse_decision
from .state import history, state

blueprint = Blueprint("review", __name__)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(422, "invalid_field", f"parameter '{name}' must be a whole number from {low} to {high}, "
                                             f"got {raw!r}")
    return int(raw)


#: A page cursor: the last item's time and id ("1764590000.5:c-17"), as the document's pattern says.
CURSOR = re.compile(r"[0-9]+(?:\.[0-9]+)?:.+", re.S)


def _cursor(raw: str | None) -> tuple[float, str] | None:
    if raw is None:
        return None
    if not CURSOR.fullmatch(raw):
        raise ApiError(422, "invalid_field", "parameter 'before' is not a cursor (time:id); pass the 'next' of "
                                             "the previous page")
    received, _, item_id = raw.partition(":")
    return float(received), item_id


@blueprint.get("/v1/queue")
def queue():
    rule = request.args.get("rule")
    if rule is not None and rule not in RULE_IDS:
        raise ApiError(422, "invalid_field", f"parameter 'rule' must be a rule id ({', '.join(RULE_IDS)}), got {rule!r}")
    limit = _int_arg("limit", 50, 1, 500)
    before = _cursor(request.args.get("before"))
    now = time.time()
    since = now - state().moderator.rulebook.queue_days * 86400
    items = history().queue_pending(since, rule, limit + 1, before)
    page, more = items[:limit], len(items) > limit
    following = None
    if more:
        last = page[-1]
        following = f"{last.received!r}:{last.item_id}"
    return jsonify({"items": [{"id": i.item_id, "thread": i.thread, "author": i.author, "text": i.text,
                               "verdict": i.verdict, "received": _iso(i.received)} for i in page],
                    "next": following})


@blueprint.post("/v1/decisions")
def decide():
    body = parse_decision(json_body())
    try:
        found = decisions.record(history(), body.id, body.decision, body.rules, time.time(), body.moderator, body.text)
    except decisions.DecisionError as exc:
        raise ApiError(422, "invalid_field", f"field '{exc.field}': {exc}") from None
    return jsonify({"id": found.item_id, "decision": found.decision, "rules": list(found.rules),
                    "flagged": list(found.flagged), "moderator": found.moderator,
                    "decided": _iso(found.decided)}), 201


@blueprint.get("/v1/stats")
def stats():
    days = _int_arg("days", 30, 1, 3650)
    found = decisions.figures(history(), time.time() - days * 86400)
    return jsonify({"days": days, "rules": {rule: f.to_dict() for rule, f in found.items()}})


@blueprint.delete("/v1/authors/<path:author>")
def erase_author(author: str):
    counts = history().erase_author(author)
    return jsonify({"author": author, **counts})
