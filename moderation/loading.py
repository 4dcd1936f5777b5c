"""Opening a moderator: the rulebook, a verified model, and the default model built when missing."""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from training import train
from training.data import starter_path

from .artifact import ModelArtifact, default_model_path, load, metadata_path, read_card, save, sha256_file
from .errors import ModelError
from .moderator import Moderator
from .repeats import RepeatDetector
from .rulebook import load_rulebook
from .store import SqliteStore, default_db_path

Say = Callable[[str], None]
ORIGIN_DEFAULT = "default"


@contextmanager
def _lock(path: Path):
    """One process at a time builds a model at ``path`` (service workers start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stale_default(path: Path) -> str | None:
    """Why a model at the default location should be rebuilt, or None if it is fine.

    Only a model this code built itself from the starter corpus is ever replaced; a model someone
    trained is refused with its own message instead.
    """
    if not path.exists():
        return f"no model at {path}"
    try:
        card = read_card(path)
    except ModelError as exc:
        try:
            origin = json.loads(metadata_path(path).read_text(encoding="utf-8")).get("origin")
        except (OSError, ValueError):
            origin = None
        return f"the default model is out of date ({exc})" if origin == ORIGIN_DEFAULT else None
    if card.get("origin") != ORIGIN_DEFAULT:
        return None
    sources = card.get("data", {}).get("sources", [])
    if [s.get("sha256") for s in sources] != [sha256_file(starter_path())]:
        return "the starter corpus has changed since the default model was built"
    return None


def build_default_model(path: Path, say: Say) -> None:
    artifact = train(progress=lambda m: say(f"  {m}"))
    artifact.card["origin"] = ORIGIN_DEFAULT
    save(artifact, path)


def load_model(model_path: str | os.PathLike | None, say: Say) -> ModelArtifact:
    """Load ``model_path``; with no path, the default model, built from the starter corpus first if
    it does not exist there yet (or is an out-of-date default build)."""
    if model_path is not None:
        return load(model_path)
    path = default_model_path()
    with _lock(path):
        reason = _stale_default(path)
        if reason:
            say(f"{reason}: building the default model from the starter corpus (about a minute)")
            build_default_model(path, say)
            say(f"default model written to {path}")
        return load(path)


def open_moderator(model_path=None, rules_path=None, say: Say = lambda m: None, db_path=None,
                   history: bool = True) -> Moderator:
    """A moderator with the rulebook, a verified model and (unless ``history`` is False) the
    SQLite history at ``db_path`` (default: $MODERATION_DB or the data folder)."""
    rulebook = load_rulebook(rules_path)
    detector = None
    if history:
        detector = RepeatDetector.from_rulebook(SqliteStore(db_path or default_db_path()), rulebook)
    return Moderator(load_model(model_path, say), rulebook, history=detector)
