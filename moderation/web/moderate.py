"""``POST /v1/moderate``: one comment, or a batch, in; verdicts out."""
from __future__ import annotations

import json
import socket
import sys
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from .. import jsonio
from ..comment import Comment
from ..verdict import batch_bytes
from .errors import ApiError
from .schema import BatchIn, CommentIn, parse_body
from .metrics import count_verdicts
from .state import state

blueprint = Blueprint("moderation", __name__)


def _comment(item: CommentIn) -> Comment:
    return Comment(text=item.text, id=item.id, thread=item.thread, author=item.author, store=item.store)


@blueprint.post("/v1/moderate")
def moderate():
    moderator = state().moderator
    body = parse_body(json_body())   # the models of moderation/web/schema.py: what /openapi.json describes
    if isinstance(body, BatchIn):
        comments = [_comment(item) for item in body.comments]
        g.texts = [c.text for c in comments]
        with state().lock:
            verdicts = moderator.check_batch(comments)
        count_verdicts(verdicts)
        g.verdicts = verdicts
        return Response(batch_bytes(verdicts), mimetype="application/json")
    comment = _comment(body)
    g.texts = [comment.text]
    with state().lock:
        verdict = moderator.check(comment)
    count_verdicts([verdict])
    g.verdicts = [verdict]
    return Response(verdict.to_bytes(), mimetype="application/json")


def json_body(keep_raw: dict | None = None) -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"the body must be JSON with 'Content-Type: application/json', got {request.mimetype or 'none'!r}")
    raw = _body(current_app.config["MAX_CONTENT_LENGTH"])
    if keep_raw is not None:
        keep_raw["raw"] = raw   # the bytes as sent (a signature is over them)
    try:
        return jsonio.loads(raw)
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
