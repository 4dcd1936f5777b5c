"""The HTTP service: POST a comment (or a batch), get a verdict.

    create_app(config=None, *, moderator=None)

Tests pass their own moderator; otherwise the app opens the configured model (building the default
one if none exists). Every error, whatever raised it, is JSON of one shape:
``{"error": {"code": "...", "message": "..."}}`` with the field named and the fix in the message.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from moderation.moderator import Comment, Moderator

MAX_TEXT_CHARS = 20_000
MAX_BATCH = 1_000
COMMENT_FIELDS = {"text": str, "id": str, "thread": str, "author": str, "store": bool}
OPEN_PATHS = {"/healthz", "/readyz"}  # health checks never need the token

access_log = logging.getLogger("moderation.access")

#: Defaults, then MODERATION_* environment variables, then the ``config`` mapping given.
DEFAULTS: dict[str, Any] = {
    "MODEL_PATH": None,        # None: the default model location (see moderation.artifact)
    "RULES_PATH": None,        # None: the packaged rulebook
    "DB_PATH": None,           # None: the default history store (see moderation.store)
    "MAX_BODY_BYTES": 1_000_000,
    "API_TOKEN": None,         # when set, "Authorization: Bearer <token>" is required
    "LOG_TEXT": False,         # put the comment text in the access log (off: it is personal data)
}
ENVIRONMENT = {
    "MODEL_PATH": "MODERATION_MODEL",
    "RULES_PATH": "MODERATION_RULES",
    "DB_PATH": "MODERATION_DB",
    "MAX_BODY_BYTES": "MODERATION_MAX_BODY",
    "API_TOKEN": "MODERATION_TOKEN",
    "LOG_TEXT": "MODERATION_LOG_TEXT",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def settings_from_env(environ=os.environ) -> dict[str, Any]:
    settings = dict(DEFAULTS)
    for key, name in ENVIRONMENT.items():
        value = environ.get(name)
        if value in (None, ""):
            continue
        if key == "MAX_BODY_BYTES":
            if not value.isdigit() or int(value) < 1024:
                raise ValueError(f"{name} must be a whole number of bytes >= 1024, got {value!r}")
            settings[key] = int(value)
        elif key == "LOG_TEXT":
            settings[key] = value.lower() in ("1", "true", "yes", "on")
        else:
            settings[key] = value
    return settings


def create_app(config: dict | None = None, *, moderator: Moderator | None = None) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # keep the verdict's documented key order
    app.config.update(settings_from_env())
    app.config.update(config or {})
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    if moderator is None:
        from moderation.loading import open_moderator

        say = logging.getLogger("moderation").info
        moderator = open_moderator(app.config["MODEL_PATH"], app.config["RULES_PATH"], say,
                                   db_path=app.config["DB_PATH"])
    app.extensions["moderator"] = moderator

    def error(status: int, code: str, message: str) -> Response:
        response = jsonify({"error": {"code": code, "message": message}})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="moderation"'
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error(exc.status, exc.code, exc.message)

    http_codes = {
        400: ("bad_request", "the request could not be read; send a JSON body"),
        404: ("not_found", "no such route; the routes are POST /v1/moderate, GET /v1/model, GET /v1/rules, "
                           "GET /healthz, GET /readyz"),
        405: ("method_not_allowed", None),
        413: ("body_too_large", None),
    }

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code, message = http_codes.get(exc.code, (exc.name.lower().replace(" ", "_"), exc.description))
        if exc.code == 405:
            allowed = ", ".join(sorted(m for m in (exc.valid_methods or []) if m not in ("HEAD", "OPTIONS")))
            message = f"{request.method} is not allowed on {request.path}; use {allowed}"
        elif exc.code == 413:
            message = (f"the body is larger than the limit of {app.config['MAX_BODY_BYTES']} bytes; "
                       "send fewer or shorter comments per request")
        return error(exc.code, code, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return error(500, "internal_error", "the server failed to handle this request; it has been logged")

    @app.before_request
    def start_and_authenticate():
        g.started = time.perf_counter()
        token = app.config.get("API_TOKEN")
        if token and request.path not in OPEN_PATHS:
            given = request.headers.get("Authorization", "")
            if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
                raise ApiError(401, "unauthorized", "send the header 'Authorization: Bearer <token>' with the "
                                                    "service's token")

    @app.after_request
    def log_request(response: Response) -> Response:
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        line = f"{request.method} {request.path} {response.status_code} {elapsed:.1f}ms"
        if app.config.get("LOG_TEXT") and g.get("texts"):
            line += " text=" + json.dumps(g.texts, ensure_ascii=False)
        access_log.info(line)
        return response

    @app.post("/v1/moderate")
    def moderate():
        body = _json_body()
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
            comments = [_comment(item, f"comments[{i}]") for i, item in enumerate(items)]
            g.texts = [c.text for c in comments]
            verdicts = moderator.check_batch(comments)
            return jsonify({"results": [v.to_dict() for v in verdicts]})
        comment = _comment(body, "")
        g.texts = [comment.text]
        return jsonify(moderator.check(comment).to_dict())

    @app.get("/v1/model")
    def model_card():
        card = moderator.artifact.card
        keys = ("version", "created", "origin", "rules", "thresholds", "metrics", "data", "versions")
        return jsonify({k: card[k] for k in keys if k in card})

    @app.get("/v1/rules")
    def rules():
        return jsonify(moderator.rulebook.to_dict())

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        try:
            moderator.ready()
        except Exception as exc:  # any failure to score or reach the store means not ready
            app.logger.warning("not ready: %s", exc)
            return error(503, "not_ready", "the model or the history store is not usable; see the service log")
        return jsonify({"status": "ready", "model": moderator.version})

    return app


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"the body must be JSON with 'Content-Type: application/json', got {request.mimetype or 'none'!r}")
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8; send JSON encoded as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON ({exc.msg} at line {exc.lineno} "
                                              f"column {exc.colno}); fix the JSON") from None


def _comment(item: Any, where: str) -> Comment:
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
    text = item["text"]
    if not text.strip():
        raise ApiError(422, "invalid_field", f"field '{prefix}text' is empty; send the comment's text")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(422, "invalid_field", f"field '{prefix}text' has {len(text)} characters, more than the "
                                             f"limit of {MAX_TEXT_CHARS}; shorten it")
    return Comment(text=text, id=item.get("id"), thread=item.get("thread"), author=item.get("author"),
                   store=item.get("store", True))


def _kind(value: Any) -> str:
    return "null" if value is None else {bool: "a boolean", int: "a number", float: "a number", str: "a string",
                                         list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
