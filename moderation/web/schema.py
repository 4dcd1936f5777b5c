"""The HTTP API's definitions: pydantic models that validate every request body and describe every
answer, and the OpenAPI 3.1 document built from them (``GET /openapi.json``).

Why pydantic: the models are the validation (``parse_body``), so the document cannot drift from what
the service accepts; its JSON Schema output is the dialect OpenAPI 3.1 uses; and it is a maintained
library most Python web code already knows. Its errors are turned into the service's one error
shape, naming the field and the fix (``_api_error``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..detectors import RULE_IDS
from ..text import is_valid_unicode
from .errors import ApiError

MAX_TEXT_CHARS = 20_000
MAX_BATCH = 1_000
COMMENT_FIELDS = ("text", "id", "thread", "author", "store")
#: A character that is not white space (as Python's ``str.strip`` counts it): a comment's text
#: must hold one. Written out, as the document's pattern and the validation are this one regex.
NOT_BLANK = "[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _valid_unicode(value: str | None) -> str | None:
    if value is not None and not is_valid_unicode(value):
        raise ValueError("surrogate")
    return value


class CommentIn(BaseModel):
    """One comment to check."""

    model_config = ConfigDict(extra="forbid", strict=True, title="Comment")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=NOT_BLANK,
                               description="The comment as the reader wrote it (not only white space).")]
    id: Annotated[str | None, Field(description="The outlet's id of the comment, echoed in the verdict.")] = None
    thread: Annotated[str | None, Field(description="The story or thread it was posted under.")] = None
    author: Annotated[str | None, Field(description="Who posted it (for repeats across authors).")] = None
    store: Annotated[bool, Field(description="Remember it in the history (false: only compare with it).")] = True

    @field_validator("text", "id", "thread", "author")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        return _valid_unicode(value)


class BatchIn(BaseModel):
    """Several comments, checked in order (a later one sees the earlier ones in the history)."""

    model_config = ConfigDict(extra="forbid", strict=True, title="Batch")

    comments: Annotated[list[CommentIn], Field(min_length=1, max_length=MAX_BATCH)]


class DecisionIn(BaseModel):
    """A moderator's decision on a comment."""

    model_config = ConfigDict(extra="forbid", strict=True, title="DecisionRequest")

    id: Annotated[str, Field(min_length=1, max_length=200, description="The queued item's id (or the comment's).")]
    decision: Literal["approve", "reject"]
    rules: Annotated[list[str], Field(default_factory=list, max_length=20,
                                      description="The rules the comment broke (with reject).")]
    moderator: Annotated[str | None, Field(max_length=200)] = None
    text: Annotated[str | None, Field(max_length=MAX_TEXT_CHARS, description="Required when the id is not queued.")] = None

    @field_validator("id", "moderator", "text")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        return _valid_unicode(value)


class Evidence(BaseModel):
    """Where in the comment (offsets into the text as sent) and why; a rule may add fields (the
    earlier comment a repeat matches, the spans of a disguised word)."""

    model_config = ConfigDict(extra="allow")

    text: str
    start: int
    end: int


class Flag(BaseModel):
    rule: str = Field(description="The broken rule's id (see /v1/rules).")
    rule_text: str = Field(description="The rule as the outlet publishes it.")
    score: float = Field(ge=0, le=1)
    threshold: float = Field(description="The score at which the rule flags (review).")
    action: Literal["review", "reject"] = Field(description="What this flag does to this comment.")
    reject_threshold: float | None = Field(default=None, description="The score at which the rule rejects; "
                                                                      "absent when it never does.")
    matched: Literal["banned_words", "suspect_words", "lexicon", "masked"] | None = Field(
        default=None, description="The word list that decided the flag, when one did (\"masked\": a word "
                                  "written as symbols, \"****\").")
    evidence: list[Evidence]


class ModelRef(BaseModel):
    version: str


class Verdict(BaseModel):
    """One comment's verdict: one flag per broken rule, every rule's score."""

    id: str | None
    verdict: Literal["publish", "review", "reject"]
    flags: list[Flag]
    scores: dict[str, float]
    model: ModelRef
    unavailable: list[str] | None = Field(default=None, description="Rules that could not be checked this "
                                                                     "time (the history store was down).")


class Results(BaseModel):
    results: list[Verdict]


class ErrorBody(BaseModel):
    code: str = Field(description="A stable, machine-readable name of the error.")
    message: str = Field(description="What is wrong and how to fix it.")


class Error(BaseModel):
    """The one error shape of every route."""

    error: ErrorBody


class QueueEntry(BaseModel):
    id: str
    thread: str | None
    author: str | None
    text: str
    verdict: Verdict
    received: str = Field(description="When the service checked it (ISO 8601, UTC).")


class Queue(BaseModel):
    items: list[QueueEntry]
    next: str | None = Field(description="Pass as `before` for the next, older page; null at the end.")


class DecisionOut(BaseModel):
    id: str
    decision: Literal["approve", "reject"]
    rules: list[str]
    flagged: list[str] = Field(description="The rules the service had flagged.")
    moderator: str | None
    decided: str


class RuleStats(BaseModel):
    flagged: int
    decided: int
    upheld: int
    overturned: int
    missed: int
    precision: float | None


class Stats(BaseModel):
    days: int
    rules: dict[str, RuleStats]


class Erased(BaseModel):
    author: str
    history: int
    queue: int
    decisions: int


class Status(BaseModel):
    status: Literal["ok", "ready"]
    model: str | None = None


# --- Coral Talk's external moderation phase (moderation/web/coral.py) ---------------------------

class _CoralComment(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    body: str
    parentID: str | None = None


class _CoralAuthor(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    id: str
    role: str | None = None


class _CoralStory(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    id: str
    url: str | None = None


class CoralRequest(BaseModel):
    """What Coral sends (extra fields a later Coral adds are ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True, title="CoralRequest")
    action: Literal["NEW", "EDIT"]
    comment: _CoralComment
    author: _CoralAuthor
    story: _CoralStory
    tenantID: str | None = None
    tenantDomain: str | None = None


class _CoralFlag(BaseModel):
    actionType: Literal["FLAG"]
    reason: Literal["COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"]


class _CoralReason(BaseModel):
    code: str
    detailedExplanation: str | None = None


class _CoralAction(BaseModel):
    status: Literal["REJECTED"]
    rejectionReason: _CoralReason


class CoralAnswer(BaseModel):
    """What this phase answers Coral (its ExternalModerationResponse)."""

    model_config = ConfigDict(title="CoralAnswer")
    status: Literal["SYSTEM_WITHHELD", "REJECTED"]
    actions: list[_CoralFlag]
    moderationAction: _CoralAction | None = None



# --- requests ----------------------------------------------------------------------------------

def parse_decision(body: Any) -> DecisionIn:
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object: {\"id\": ..., \"decision\": "
                                            "\"approve\" or \"reject\", \"rules\": [...]}")
    try:
        return DecisionIn.model_validate(body)
    except ValidationError as exc:
        error = _first(exc.errors(include_url=False))
        where, kind = _where(tuple(error["loc"])), error["type"]
        if kind == "missing":
            return _raise(422, "missing_field", f"field '{where}' is required")
        if kind == "extra_forbidden":
            return _raise(422, "unknown_field", f"field '{where}' is not allowed; a decision has id, decision, rules, "
                                                "moderator, text")
        if where == "decision":
            return _raise(422, "invalid_field", f"field 'decision' must be approve or reject, got {error.get('input')!r}")
        return _raise(422, "invalid_field", f"field '{where}' is not valid ({error['msg']}); see /openapi.json")


def _raise(status: int, code: str, message: str):
    raise ApiError(status, code, message) from None


def parse_body(body: Any) -> CommentIn | BatchIn:
    """The request body as a comment or a batch, or an ``ApiError`` naming the field and the fix."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object: {\"text\": \"...\"} for one "
                                            "comment or {\"comments\": [...]} for a batch")
    model = BatchIn if "comments" in body else CommentIn
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _api_error(exc.errors(include_url=False), model, body) from None


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    return "null" if value is None else {bool: "a boolean", int: "a number", float: "a number", str: "a string",
                                         list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _first(errors: list[dict]) -> dict:
    """The error to report: the first comment's, and of it an unknown field before a missing one
    before a wrong one (what a caller fixes first)."""
    def key(error):
        loc = tuple(error["loc"])
        item = loc[1] if len(loc) > 1 and loc[0] == "comments" and isinstance(loc[1], int) else -1
        return item, {"extra_forbidden": 0, "missing": 1}.get(error["type"], 2)
    return min(errors, key=key)


def _api_error(errors: list[dict], model: type, body: dict) -> ApiError:
    error = _first(errors)
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    where = _where(loc)
    if kind == "missing":
        return ApiError(422, "missing_field", f"field '{where}' is required: the comment's text")
    if kind == "extra_forbidden":
        if model is BatchIn and len(loc) == 1:
            return ApiError(422, "unknown_field", f"field '{where}' is not allowed beside 'comments'; put each "
                                                  "comment's fields inside its object")
        return ApiError(422, "unknown_field", f"field '{where}' is not allowed; a comment has "
                                              f"{', '.join(COMMENT_FIELDS)}")
    if loc == ("comments",):
        size = len(value) if isinstance(value, list) else type(value).__name__
        return ApiError(422, "invalid_field", f"field 'comments' must be a list of 1 to {MAX_BATCH} comment "
                                              f"objects, got {size}; split larger batches")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return ApiError(422, "invalid_field", f"'{where or 'body'}' must be an object with a 'text' field, "
                                              f"got {type(value).__name__}")
    if kind in ("string_type", "bool_type"):
        need = "true or false" if kind == "bool_type" else "a string"
        return ApiError(422, "invalid_field", f"field '{where}' must be {need}, got {_kind(value)}")
    if kind == "string_too_long":
        return ApiError(422, "invalid_field", f"field '{where}' has {len(value)} characters, more than the limit of "
                                              f"{MAX_TEXT_CHARS}; shorten it")
    if kind in ("string_too_short", "string_pattern_mismatch"):
        return ApiError(422, "invalid_field", f"field '{where}' is empty; send the comment's text")
    if kind == "string_unicode" or (kind == "value_error" and "surrogate" in error["msg"]):
        return ApiError(422, "invalid_field", f"field '{where}' is not valid Unicode: it holds a lone surrogate "
                                              "(a \\ud800-\\udfff escape without its pair); send UTF-8 text")
    return ApiError(422, "invalid_field", f"field '{where}' is not valid ({error['msg']}); see /openapi.json")


# --- the document ------------------------------------------------------------------------------

def _errors(*pairs: tuple[int, str]) -> dict:
    return {str(status): {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for status, text in pairs}


def _ok(ref: str, text: str) -> dict:
    return {"200": {"description": text, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}}


def openapi(title: str = "news-moderation", version: str = "0.1.0", token: bool = False) -> dict:
    """The OpenAPI 3.1 document of every route, its answers and errors, from the models above."""
    components: dict[str, Any] = {}
    for model in (CommentIn, BatchIn, Verdict, Results, Error, Status, DecisionIn, DecisionOut, Queue, Stats, Erased,
                  CoralRequest, CoralAnswer):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[schema.get("title", model.__name__)] = schema
    common = _errors((401, "No or a wrong bearer token (when the service has one)."),
                     (405, "Method not allowed on this route.")) if token else _errors((405, "Method not allowed."))
    body_errors = _errors((400, "Not JSON, not UTF-8, nested too deep, or a number too long."),
                          (408, "The body took longer than the body timeout to arrive."),
                          (413, "The body is larger than the limit (chunked or not)."),
                          (415, "Not Content-Type: application/json."),
                          (422, "A field is missing, of the wrong type, empty, too long, or unknown."),
                          (500, "The server failed (logged); no client input causes it."))
    moderate = {
        "post": {
            "summary": "Check one comment, or a batch",
            "operationId": "moderate",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Comment"}, {"$ref": "#/components/schemas/Batch"}]}}}},
            "responses": {"200": {"description": "The verdict (one comment) or the verdicts in order (a batch).",
                                  "content": {"application/json": {"schema": {"oneOf": [
                                      {"$ref": "#/components/schemas/Verdict"},
                                      {"$ref": "#/components/schemas/Results"}]}}}},
                          **body_errors, **common},
        }
    }
    free_object = {"type": "object", "additionalProperties": True}
    paths = {
        "/v1/moderate": moderate,
        "/v1/model": {"get": {"summary": "The model card: version, rules, thresholds, held-out metrics",
                              "operationId": "model", "responses": {"200": {"description": "The model card.",
                                                                            "content": {"application/json": {"schema": free_object}}},
                                                                    **common}}},
        "/v1/rules": {"get": {"summary": "The rulebook: each rule's wording, action and settings", "operationId": "rules",
                              "responses": {"200": {"description": "The rulebook.",
                                                    "content": {"application/json": {"schema": free_object}}}, **common}}},
        "/v1/coral": {"post": {
            "summary": "Coral Talk's external moderation phase (signed by Coral: X-Coral-Signature)",
            "operationId": "coral",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/CoralRequest"}}}},
            "responses": {"204": {"description": "Publish: Coral goes on."},
                          "200": {"description": "Withheld for review (SYSTEM_WITHHELD) or REJECTED, as Coral reads it.",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CoralAnswer"}}}},
                          **body_errors, **_errors((401, "No signature, or none matching a configured secret.")),
                          **common},
            "security": []}},
        "/v1/queue": {"get": {
            "summary": "Comments waiting for a moderator, newest first", "operationId": "queue",
            "parameters": [
                {"name": "rule", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": list(RULE_IDS)}, "description": "Only comments this rule flagged."},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                {"name": "before", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?:[\\s\\S]+$"},
                 "description": "The `next` of the previous page (the last item's time and id)."}],
            "responses": {**_ok("Queue", "A page of the queue."),
                          **_errors((422, "A bad rule, limit or cursor."), (503, "The store is unavailable.")),
                          **common}}},
        "/v1/decisions": {"post": {
            "summary": "Record a moderator's decision (a second one on an id replaces the first)",
            "operationId": "decide",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/DecisionRequest"}}}},
            "responses": {"201": {"description": "Recorded.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/DecisionOut"}}}},
                **body_errors, **_errors((503, "The store is unavailable.")), **common}}},
        "/v1/stats": {"get": {
            "summary": "Per rule: flagged, decided, upheld, overturned, missed, precision", "operationId": "stats",
            "parameters": [{"name": "days", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 30}}],
            "responses": {**_ok("Stats", "The figures."),
                          **_errors((422, "A bad number of days."), (503, "The store is unavailable.")), **common}}},
        "/v1/authors/{author}": {"delete": {
            "summary": "Erase an author: history fingerprints, queued texts, decisions' texts",
            "operationId": "erase_author",
            "parameters": [{"name": "author", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**_ok("Erased", "What was erased."),
                          **_errors((404, "An author name a path cannot carry (a line break)."),
                                    (503, "The store is unavailable.")), **common}}},
        "/review": {"get": {"summary": "The moderators' page: the queue with each flag's evidence marked, and "
                                       "approve / reject buttons", "operationId": "review_page",
                            "responses": {"200": {"description": "An HTML page.",
                                                  "content": {"text/html": {"schema": {"type": "string"}}}},
                                          **_errors((503, "The store is unavailable.")), **common}}},
        "/healthz": {"get": {"summary": "The process answers", "operationId": "healthz",
                             "responses": {**_ok("Status", "Alive."), **_errors((405, "Method not allowed."))}}},
        "/readyz": {"get": {"summary": "It can check comments: the model scores and the history store reads and writes",
                            "operationId": "readyz",
                            "responses": {**_ok("Status", "Ready."),
                                          **_errors((503, "model_unavailable or store_unavailable."),
                                                    (405, "Method not allowed."))}}},
        "/metrics": {"get": {"summary": "Counters in Prometheus's text format", "operationId": "metrics",
                             "responses": {"200": {"description": "Prometheus text exposition.",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}},
                                           **common}}},
        "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3.1.",
                                                        "content": {"application/json": {"schema": free_object}}},
                                                **_errors((405, "Method not allowed."))}}},
    }
    document: dict[str, Any] = {"openapi": "3.1.0",
                                "info": {"title": title, "version": version,
                                         "description": "Reader-comment moderation: one verdict per comment, one flag "
                                                        "per broken rule, with the evidence."},
                                "paths": paths, "components": {"schemas": components}}
    if token:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
        for route in ("/healthz", "/readyz", "/openapi.json"):
            paths[route]["get"]["security"] = []
    return document


Body = Union[CommentIn, BatchIn]
