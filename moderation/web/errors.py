"""The service's one error shape: ``{"error": {"code": "...", "message": "..."}}``, with the field
named and the fix in the message, whatever raised it (a route, Flask's routing, a bug)."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..store import StoreUnavailable


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="moderation"'
    return response


def _routes() -> str:
    rules = sorted((r.rule, sorted(r.methods - {"HEAD", "OPTIONS"})) for r in current_app.url_map.iter_rules()
                   if r.endpoint != "static")
    return ", ".join(f"{'/'.join(methods)} {path}" for path, methods in rules)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):
        # A route that needs the store (the queue, decisions, the page) cannot answer without it;
        # the reason, with file names, goes to the log only.
        app.logger.warning("store unavailable on %s %s: %s", request.method, request.path, exc)
        return error_response(503, "store_unavailable", "the history store cannot be read or written; see the "
                                                        "service log")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 400:
            return error_response(400, "bad_request", "the request could not be read; send a JSON body")
        if exc.code == 404:
            return error_response(404, "not_found", f"no such route; the routes are {_routes()}")
        if exc.code == 405:
            allowed = ", ".join(sorted(m for m in (exc.valid_methods or []) if m not in ("HEAD", "OPTIONS")))
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}; "
                                                             f"use {allowed}")
        if exc.code == 413:
            return error_response(413, "body_too_large", f"the body is larger than the limit of "
                                                         f"{current_app.config['MAX_CONTENT_LENGTH']} bytes; send "
                                                         "fewer or shorter comments per request")
        return error_response(exc.code, exc.name.lower().replace(" ", "_"), exc.description)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the server failed to handle this request; it has been logged")
