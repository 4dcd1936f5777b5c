"""``POST /v1/moderate``: one comment, or a batch, in; verdicts out."""
from __future__ import annotations

import json
import socket
import sys
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from ..comment import Comment
from .errors import ApiError
from .metrics import count_verdicts
from .state import state

MAX_TEXT_CHARS = 20_000
MAX_BATCH = 1_000
COMMENT_FIELDS = {"text": str, "id": str, "thread": str, "author": str, "store": bool}

blueprint = Blueprint("moderation", __name__)


@blueprint.post("/v1/moderate")
def moderate():
    moderator = state().moderator
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object: {\"text\": \"...\"} for one "
                                            "comment or {\"comments\": [...]} for a batch")
    if "comments" in body:
        extra = sorted(set(body) - {"comments"})
        if extra:
            raise ApiError(422, "unknown_field", f"field '{extra[0]}' is not allowed beside 'comments'; "
                                                 "put each comment's fields inside its object")
        items = body["comments"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            size = len(items) if isinstance(items, list) else type(items).__name__
            raise ApiError(422, "invalid_field", f"field 'comments' must be a list of 1 to {MAX_BATCH} comment "
                                                 f"objects, got {size}; split larger batches")
        comments = [parse_comment(item, f"comments[{i}]") for i, item in enumerate(items)]
        g.texts = [c.text for c in comments]
        with state().lock:
            verdicts = moderator.check_batch(comments)
        count_verdicts(verdicts)
        g.verdicts = verdicts
        return jsonify({"results": [v.to_dict() for v in verdicts]})
    comment = parse_comment(body, "")
    g.texts = [comment.text]
    with state().lock:
        verdict = moderator.check(comment)
    count_verdicts([verdict])
    g.verdicts = [verdict]
    return jsonify(verdict.to_dict())


def json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"the body must be JSON with 'Content-Type: application/json', got {request.mimetype or 'none'!r}")
    raw = _body(current_app.config["MAX_CONTENT_LENGTH"])
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ApiError(400, "malformed_json", "the body is JSON nested more than the parser's depth; a comment "
                                              "is a flat object") from None
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8; send JSON encoded as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON ({exc.msg} at line {exc.lineno} "
                                              f"column {exc.colno}); fix the JSON") from None
    except ValueError:   # an integer past Python's digit limit
        raise ApiError(400, "malformed_json", f"the body holds a number of more than {sys.get_int_max_str_digits()} "
                                              "digits; send numbers (or the comment) as they are") from None


def _body(limit: int | None) -> bytes:
    """The request body, refused (413) past ``limit`` bytes, chunked or not, and (408) when the
    client takes longer than the settings' ``body_timeout`` to send it. A body without a
    Content-Length is read from the server's stream up to one byte past the limit: Werkzeug's own
    limit would cut it there and the cut prefix could parse as a comment."""
    connection = request.environ.get("gunicorn.socket")   # the client's socket, under gunicorn
    if connection is not None:
        connection.settimeout(state().settings.body_timeout)
    try:
        if request.content_length is not None or limit is None:
            return request.get_data(cache=False)   # Flask refuses a declared length past the limit
        stream = request.environ.get("wsgi.input")
        data = stream.read(limit + 1) if stream is not None else b""
    except (TimeoutError, ClientDisconnected) as exc:
        # Werkzeug reports a read that failed (a timeout among them) as the client gone.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            # The rest of the body may still come: nothing more is read from this connection, so the
            # server closes it after the answer (it ignores an application's "Connection: close").
            if connection is not None:
                try:
                    connection.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
            raise ApiError(408, "body_timeout", f"the body did not arrive within {state().settings.body_timeout} "
                                                "seconds; send it at once") from None
        raise
    finally:
        if connection is not None:
            connection.settimeout(None)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def parse_comment(item: Any, where: str) -> Comment:
    prefix = f"{where}." if where else ""
    if not isinstance(item, dict):
        raise ApiError(422, "invalid_field", f"'{where or 'body'}' must be an object with a 'text' field, "
                                             f"got {type(item).__name__}")
    unknown = sorted(set(item) - set(COMMENT_FIELDS))
    if unknown:
        raise ApiError(422, "unknown_field", f"field '{prefix}{unknown[0]}' is not allowed; a comment has "
                                             f"{', '.join(COMMENT_FIELDS)}")
    if "text" not in item:
        raise ApiError(422, "missing_field", f"field '{prefix}text' is required: the comment's text")
    for name, kind in COMMENT_FIELDS.items():
        value = item.get(name)
        if value is None and name != "text":
            continue
        if not isinstance(value, kind):
            need = "true or false" if kind is bool else "a string"
            raise ApiError(422, "invalid_field", f"field '{prefix}{name}' must be {need}, got {_kind(value)}")
        if kind is str and not _encodable(value):
            raise ApiError(422, "invalid_field", f"field '{prefix}{name}' is not valid Unicode: it holds a lone "
                                                 "surrogate (\\ud800-\\udfff escape without its pair); send UTF-8 text")
    text = item["text"]
    if not text.strip():
        raise ApiError(422, "invalid_field", f"field '{prefix}text' is empty; send the comment's text")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(422, "invalid_field", f"field '{prefix}text' has {len(text)} characters, more than the "
                                             f"limit of {MAX_TEXT_CHARS}; shorten it")
    return Comment(text=text, id=item.get("id"), thread=item.get("thread"), author=item.get("author"),
                   store=item.get("store", True))


def _encodable(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8 (JSON's "\\ud800" escapes give lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    return "null" if value is None else {bool: "a boolean", int: "a number", float: "a number", str: "a string",
                                         list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
