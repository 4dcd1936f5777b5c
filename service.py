"""The HTTP service: POST a comment (or a batch), get a verdict.

    create_app(settings=None, *, moderator=None)

``settings`` is a ``moderation.settings.Settings`` or a mapping of its fields (``{"max_body": 64000}``)
applied over ``Settings.from_env()``. Tests pass their own moderator; otherwise the app opens the
configured model, building the default one if none exists. The routes, the error shape and the
hooks live in ``moderation.web``; this factory only assembles them.
"""
from __future__ import annotations

import logging
from typing import Mapping

from flask import Flask

from moderation import web
from moderation.settings import Settings
from moderation.web.schema import MAX_BATCH, MAX_TEXT_CHARS

__all__ = ["MAX_BATCH", "MAX_TEXT_CHARS", "create_app"]


def create_app(settings: Settings | Mapping | None = None, *, moderator=None) -> Flask:
    if not isinstance(settings, Settings):
        settings = Settings.from_env().replace(**dict(settings or {}))
    if moderator is None:
        from moderation.loading import open_moderator
        from training.default import ensure_default_model

        say = logging.getLogger("moderation").info
        moderator = open_moderator(settings.model_path, settings.rules_path, say, db=settings.db,
                                   ensure_default=ensure_default_model)
        moderator.warm_up()   # a worker's first request is then as quick as the next
    app = Flask(__name__)
    web.init_app(app, moderator, settings)
    return app
