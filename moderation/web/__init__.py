"""The HTTP service's parts, one module per concern: blueprints (moderation, model, health), the
JSON error shape, and the request hooks (token, access log). ``service.create_app`` assembles them.
"""
from __future__ import annotations

from flask import Flask

from ..settings import Settings
from . import access, coral, errors, health, metrics, model, moderate, page, review
from .state import KEY, ServiceState

BLUEPRINTS = (moderate.blueprint, coral.blueprint, model.blueprint, review.blueprint, page.blueprint,
              health.blueprint, metrics.blueprint)


def init_app(app: Flask, moderator, settings: Settings) -> None:
    """Register every blueprint, the error shape and the hooks on ``app``, serving ``moderator``."""
    app.json.sort_keys = False  # keep the verdict's documented key order
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.extensions[KEY] = ServiceState(moderator=moderator, settings=settings)
    errors.register(app)
    access.register(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    version = getattr(moderator, "version", None)
    if version:
        metrics.MODEL.labels(version).set(1)
