"""Before and after every request: the bearer token, and one access-log line (method, path,
status, milliseconds; never the comment text unless the settings say so)."""
from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from .errors import ApiError
from .metrics import count_request
from .state import state

#: Health checks never need the token (load balancers and orchestrators call them), nor the API's
#: description.
OPEN_PATHS = {"/healthz", "/readyz", "/openapi.json"}

access_log = logging.getLogger("moderation.access")


#: Characters that would break or forge a log line: controls (C0, DEL, C1: a newline, NUL, NEL), line
#: and paragraph separators, bidirectional and other format characters.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\\]")


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def printable(text: str) -> str:
    """``text`` with every character that could break or forge a log line escaped (``\\n``,
    ``\\x00``, ``\\u2028``; a backslash doubled, so an escape in the request stays readable)."""
    return _UNSAFE.sub(lambda m: "\\\\" if m.group() == "\\" else m.group().encode("unicode_escape").decode("ascii"), text)


def register(app: Flask) -> None:
    @app.before_request
    def start_and_authenticate():
        g.started = time.perf_counter()
        # A caller's request id is kept when it is a plain token (it goes into logs), else one is made.
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        settings = state().settings
        token = settings.token
        # Coral cannot send a bearer token: its phase is authenticated by its signature instead.
        coral = request.path == "/v1/coral" and bool(settings.coral_secrets)
        if token and request.path not in OPEN_PATHS and not coral:
            scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
            # RFC 9110: the scheme is case-insensitive ("bearer" is "Bearer").
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
                raise ApiError(401, "unauthorized", "send the header 'Authorization: Bearer <token>' with the "
                                                    "service's token")

    @app.after_request
    def log_request(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        elapsed = seconds * 1000
        # The route's pattern, not the path: a scanner's thousands of paths are one label.
        count_request(request.url_rule.rule if request.url_rule else "unmatched", request.method,
                      response.status_code, seconds)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        settings = state().settings
        if settings.log_format == "json":
            # ASCII JSON: every control or separator character is escaped; never the comment text.
            verdicts = g.get("verdicts") or []
            line = json.dumps({"request_id": g.get("request_id"), "method": request.method, "path": request.path,
                               "status": response.status_code, "ms": round(elapsed, 1),
                               "comments": [{"id": v.id, "verdict": v.verdict, "flags": [f.rule for f in v.flags]}
                                            for v in verdicts]}, ensure_ascii=True)
        else:
            line = f"{printable(request.method)} {printable(request.path)} {response.status_code} {elapsed:.1f}ms"
            if settings.log_text and g.get("texts"):
                line += " text=" + printable(json.dumps(g.texts, ensure_ascii=False))
        access_log.info(line)
        return response
