"""Run the Flask app under gunicorn: pre-forked worker processes sharing one loaded model.

The app is created (and the model loaded, or the default one built) once in the master process
before the workers fork, so start-up costs one model load and the workers share its memory.
"""
from __future__ import annotations

import logging
import sys

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn >= 25 opens a control socket in a fixed per-user place; two services (or a test
        # next to a running service) would fight over it, and nothing here uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        return self.application


def configure_logging() -> None:
    """Log lines on stderr, before the app is created (building a default model reports progress)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")


def serve(app, settings) -> None:
    """Serve ``app`` (created, with its model loaded, in this master process) on the settings' host,
    port and number of workers."""
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "accesslog": None,          # the app logs one line per request itself (no comment text)
        "errorlog": "-",
        "timeout": 60,
        "graceful_timeout": 10,
        "proc_name": "moderation",
    }
    _Gunicorn(app, options).run()
