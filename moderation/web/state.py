"""What the routes share: the moderator and the settings the app was created with, kept in
``app.extensions`` by the app factory and read back here (never imported as a global)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from ..settings import Settings

KEY = "moderation"


@dataclass
class ServiceState:
    moderator: Any          # a Moderator (tests may pass a stand-in with the same methods)
    settings: Settings


def state() -> ServiceState:
    return current_app.extensions[KEY]
