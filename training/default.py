"""The default model: built from the starter corpus at the default location when it is missing.

Only a model this code built itself from the starter corpus is ever replaced (when the corpus or
the libraries changed since); a model someone trained is refused with its own message instead.
"""
from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from moderation.artifact import metadata_path, read_card, save, sha256_file
from moderation.errors import ModelError

from .data import starter_path

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


def stale_reason(path: Path) -> str | None:
    """Why a model at the default location should be rebuilt, or None if it is fine (or not ours)."""
    if not path.exists():
        return f"no model at {path}"
    try:
        card = read_card(path)
    except ModelError as exc:
        try:
            origin = json.loads(metadata_path(path).read_text(encoding="utf-8")).get("origin")
        except (OSError, ValueError):
            origin = None
        # The error's fix (retrain it) is what is about to happen: only its cause is said.
        return f"the default model is out of date ({exc.cause})" if origin == ORIGIN_DEFAULT else None
    if card.get("origin") != ORIGIN_DEFAULT:
        return None
    sources = card.get("data", {}).get("sources", [])
    if [s.get("sha256") for s in sources] != [sha256_file(starter_path())]:
        return "the starter corpus has changed since the default model was built"
    return None


def build_default_model(path: Path, say: Say) -> None:
    from .train import train   # scikit-learn only when a model is built

    artifact = train(progress=lambda m: say(f"  {m}"))
    artifact.card["origin"] = ORIGIN_DEFAULT
    save(artifact, path)


def ensure_default_model(path: Path, say: Say = lambda m: None) -> None:
    """Build the default model at ``path`` unless a current one is there."""
    with _lock(path):
        reason = stale_reason(path)
        if reason:
            say(f"{reason}: building the default model from the starter corpus (about a minute)")
            build_default_model(path, say)
            say(f"default model written to {path}")
