"""What the routes share: the moderator and the settings the app was created with, kept in
``app.extensions`` by the app factory and read back here (never imported as a global)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from ..settings import Settings
from .errors import ApiError

KEY = "moderation"


@dataclass
class ServiceState:
    moderator: Any          # a Moderator (tests may pass a stand-in with the same methods)
    settings: Settings
    #: Held while the moderator runs: a worker's threads read bodies side by side, and check one
    #: request at a time (CPU-bound work gains nothing from threads under the GIL, and nothing in
    #: the moderator then needs to be thread-safe).
    lock: threading.Lock = field(default_factory=threading.Lock)


def state() -> ServiceState:
    return current_app.extensions[KEY]


def history():
    """The moderator's history store (the queue and decisions live in it), or a 503 without one."""
    store = getattr(state().moderator, "history", None)
    if store is None:
        raise ApiError(503, "store_unavailable", "this service has no history store; the queue lives in it")
    return store
