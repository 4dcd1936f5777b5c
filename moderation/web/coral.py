"""``POST /v1/coral``: a Coral Talk external moderation phase.

Coral's built-in toxicity phase calls Google's Perspective API, which is not in service after 2026;
Coral's external moderation phases are the hook for a replacement. The contract is Coral's own
(``coralproject/talk``: ``server/src/core/server/services/comments/pipeline/phases/external.ts``,
``services/fetch/fetch.ts``, ``models/settings/signingSecret/helpers.ts``):

- Coral POSTs ``JSON.stringify(request, null, 2)`` with ``X-Coral-Signature: sha256=<hex>[,...]``,
  one HMAC-SHA256 of the raw body per active signing secret (several while a secret is rotated).
  With secrets configured (``$MODERATION_CORAL_SECRETS``, comma-separated, or a file) a request
  without a signature matching one of them is refused (401) before anything is scored.
- The request carries no comment id: the thread is ``story.id``, the author ``author.id``. A NEW
  comment is remembered for repeats (and queued when held); an EDIT is checked against the history
  without storing a second copy.
- The answer: publish -> 204 (Coral moves on); review -> 200 ``SYSTEM_WITHHELD`` with FLAG actions;
  reject -> 200 ``REJECTED`` with FLAG actions and a ``moderationAction`` whose rejection reason's
  code comes from Coral's list (per rule, ``DEFAULT_CODES`` or the rulebook's ``[coral]`` table) and
  whose explanation is the rule's text and the evidence. FLAG reasons are Coral's two:
  ``COMMENT_DETECTED_TOXIC`` and ``COMMENT_DETECTED_SPAM``.
"""
from __future__ import annotations

import hashlib
import hmac
from html.parser import HTMLParser

from flask import Blueprint, Response, g, jsonify, request
from pydantic import ValidationError

from ..comment import Comment
from ..verdict import PUBLISH, REJECT
from .errors import ApiError
from .metrics import count_verdicts
from .moderate import json_body
from .schema import CoralRequest, _first, _where
from .state import state

blueprint = Blueprint("coral", __name__)

SPAM_RULES = {"links", "promotional", "repeated"}
TOXIC, SPAM = "COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"
DEFAULT_CODES = {"respect": "ABUSIVE", "accusations": "MISINFORMATION", "foul_language": "OFFENSIVE",
                 "links": "SPAM", "volume": "OTHER", "promotional": "AD", "repeated": "SPAM"}


class _Text(HTMLParser):
    """A comment body's HTML as the words a reader sees: entities decoded, block elements as line
    breaks, a link's address kept beside its words (so it counts as a link), quotes kept."""

    BLOCKS = {"p", "div", "br", "blockquote", "li", "ul", "ol"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            self._links.append(dict(attrs).get("href"))
            self._anchor_start = len(self.parts)

    def handle_endtag(self, tag):
        if tag == "a" and self._links:
            href = self._links.pop()
            words = "".join(self.parts[getattr(self, "_anchor_start", len(self.parts)):])
            if href and href.strip() not in words:
                self.parts.append(f" ({href.strip()})")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(body: str) -> str:
    """``body`` (Coral's HTML, or plain text, which passes through) as plain text."""
    if "<" not in body and "&" not in body:
        return body
    parser = _Text()
    parser.feed(body)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)


def _secrets() -> list[str]:
    return list(state().settings.coral_secrets or ())


def _check_signature(raw: bytes) -> None:
    secrets = _secrets()
    if not secrets:
        return
    header = request.headers.get("X-Coral-Signature", "")
    given = [part.strip()[len("sha256="):] for part in header.split(",") if part.strip().startswith("sha256=")]
    wanted = [hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest() for secret in secrets]
    if not any(hmac.compare_digest(g_, w) for g_ in given for w in wanted):
        raise ApiError(401, "bad_signature", "the X-Coral-Signature header is missing or matches none of the "
                                             "configured Coral signing secrets; copy the phase's secret from "
                                             "Coral's admin into MODERATION_CORAL_SECRETS")


def _parse(body) -> CoralRequest:
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the body must be Coral's external moderation request (a JSON object)")
    try:
        return CoralRequest.model_validate(body)
    except ValidationError as exc:
        error = _first(exc.errors(include_url=False))
        where = _where(tuple(error["loc"]))
        if error["type"] == "missing":
            raise ApiError(422, "missing_field", f"field '{where}' is required in a Coral request") from None
        raise ApiError(422, "invalid_field", f"field '{where}' is not valid ({error['msg']})") from None


def answer(verdict, rulebook) -> tuple[dict | None, int]:
    """Coral's answer to a verdict: (body, status); no body for publish (204)."""
    if verdict.verdict == PUBLISH:
        return None, 204
    reasons = sorted({SPAM if f.rule in SPAM_RULES else TOXIC for f in verdict.flags})
    actions = [{"actionType": "FLAG", "reason": reason} for reason in reasons]
    if verdict.verdict != REJECT:
        return {"status": "SYSTEM_WITHHELD", "actions": actions}, 200
    rejecting = next((f for f in verdict.flags if f.action == "reject"), verdict.flags[0] if verdict.flags else None)
    codes = {**DEFAULT_CODES, **getattr(rulebook, "coral_codes", {})}
    code = "OTHER" if rejecting is None else ("BANNED_WORD" if rejecting.matched == "banned_words"
                                              else codes.get(rejecting.rule, "OTHER"))
    explanation = "" if rejecting is None else (
        f"{rejecting.rule_text} ({rejecting.rule}, score {rejecting.score:.2f})"
        + (": " + ", ".join(f'"{e.text}"' for e in rejecting.evidence[:5]) if rejecting.evidence else ""))
    return {"status": "REJECTED", "actions": actions,
            "moderationAction": {"status": "REJECTED",
                                 "rejectionReason": {"code": code, "detailedExplanation": explanation}}}, 200


@blueprint.post("/v1/coral")
def coral_phase():
    raw_holder: dict = {}
    body = json_body(keep_raw=raw_holder)
    _check_signature(raw_holder.get("raw", b""))
    parsed = _parse(body)
    text = html_to_text(parsed.comment.body)
    if not text.strip():
        return Response(status=204)   # nothing to read: Coral's other phases decide
    comment = Comment(text=text[:20_000], thread=parsed.story.id, author=parsed.author.id,
                      store=parsed.action == "NEW")
    g.texts = [comment.text]
    moderator = state().moderator
    with state().lock:
        verdict = moderator.check(comment)
    count_verdicts([verdict])
    g.verdicts = [verdict]
    result, status = answer(verdict, moderator.rulebook)
    return Response(status=204) if result is None else (jsonify(result), status)
