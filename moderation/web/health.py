"""``GET /healthz`` (the process answers), ``GET /readyz`` (it can check comments now) and
``GET /openapi.json`` (what the service accepts and answers)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..store import StoreUnavailable
from .errors import error_response
from .schema import openapi
from .state import state

blueprint = Blueprint("health", __name__)


@blueprint.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of every route, built from the models that validate requests."""
    return jsonify(openapi(version=_version(), token=bool(state().settings.token)))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("news-moderation")
    except PackageNotFoundError:
        return "0.0.0"


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    """Ready when the model scores a comment and the history store can be read and written; a 503
    says which of the two failed (the reason, with file names, goes to the service log only)."""
    moderator = state().moderator
    try:
        moderator.ready()
    except StoreUnavailable as exc:
        current_app.logger.warning("not ready: %s", exc)
        return error_response(503, "store_unavailable", "the history store cannot be read or written (missing, "
                                                        "read-only, replaced or corrupt); see the service log")
    except Exception as exc:  # any other failure to score a comment: the model
        current_app.logger.warning("not ready: %s", exc)
        return error_response(503, "model_unavailable", "the model cannot score a comment; see the service log")
    return jsonify({"status": "ready", "model": moderator.version})
