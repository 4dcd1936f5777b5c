"""Opening a moderator: the rulebook, a verified model, and the history store.

The library does not train. When no model path is given the default location is used, and a caller
that can build the default model there (the command line and the service, through
``training.default.ensure_default_model``) passes that function as ``ensure_default``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .artifact import ModelArtifact, load
from .moderator import Moderator
from .rulebook import load_rulebook
from .settings import default_db, default_model_path
from .store import open_store

Say = Callable[[str], None]
EnsureDefault = Callable[[Path, Say], None]


def load_model(model_path: str | os.PathLike | None, say: Say = lambda m: None,
               ensure_default: EnsureDefault | None = None) -> ModelArtifact:
    """Load ``model_path``; with no path, the default model, after ``ensure_default`` (when given)
    has made sure it is there and current."""
    if model_path is not None:
        return load(model_path)
    path = default_model_path()
    if ensure_default is not None:
        ensure_default(path, say)
    return load(path)


def open_moderator(model_path=None, rules_path=None, say: Say = lambda m: None, db=None, history: bool = True,
                   ensure_default: EnsureDefault | None = None) -> Moderator:
    """A moderator with the rulebook, a verified model and (unless ``history`` is False) the
    history store ``db`` (a path or a store URL; default: $MODERATION_DB or the data folder)."""
    rulebook = load_rulebook(rules_path)
    store = open_store(db or default_db()) if history else None
    return Moderator(load_model(model_path, say, ensure_default), rulebook, history=store)
