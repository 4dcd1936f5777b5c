"""Before and after every request: the bearer token, and one access-log line (method, path,
status, milliseconds; never the comment text unless the settings say so)."""
from __future__ import annotations

import hmac
import json
import logging
import time

from flask import Flask, Response, g, request

from .errors import ApiError
from .state import state

#: Health checks never need the token (load balancers and orchestrators call them).
OPEN_PATHS = {"/healthz", "/readyz"}

access_log = logging.getLogger("moderation.access")


def register(app: Flask) -> None:
    @app.before_request
    def start_and_authenticate():
        g.started = time.perf_counter()
        token = state().settings.token
        if token and request.path not in OPEN_PATHS:
            given = request.headers.get("Authorization", "")
            if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
                raise ApiError(401, "unauthorized", "send the header 'Authorization: Bearer <token>' with the "
                                                    "service's token")

    @app.after_request
    def log_request(response: Response) -> Response:
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        line = f"{request.method} {request.path} {response.status_code} {elapsed:.1f}ms"
        if state().settings.log_text and g.get("texts"):
            line += " text=" + json.dumps(g.texts, ensure_ascii=False)
        access_log.info(line)
        return response
