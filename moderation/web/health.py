"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can check comments now)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .errors import error_response
from .state import state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    moderator = state().moderator
    try:
        moderator.ready()
    except Exception as exc:  # any failure to score or reach the store means not ready
        current_app.logger.warning("not ready: %s", exc)
        return error_response(503, "not_ready", "the model or the history store is not usable; see the service log")
    return jsonify({"status": "ready", "model": moderator.version})
