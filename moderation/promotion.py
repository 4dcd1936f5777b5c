"""Replacing the served model with a retrained one only when it is not worse.

``compare`` scores a candidate and the served model on the same labelled rows (rows neither was
trained on: the caller's evaluation file) and lists what got worse: a learned rule whose PR AUC
(average precision) drops by more than ``MAX_AP_DROP``, or a share of clean comments sent to
review or rejected that rises by more than ``MAX_CLEAN_RISE``. ``promote`` refuses, in one line
naming the rule and both figures, when anything got worse; otherwise it replaces the served file
and its card atomically (each by a rename in the same folder), keeping the previous pair beside
them for ``rollback``. A running service loads the new model on SIGHUP (``moderation serve`` writes
its pid file for that; ``promote --reload`` sends it): gunicorn starts new workers on the new model
and lets the old ones finish what they are answering, so no request fails.
"""
from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.metrics import average_precision_score

from .artifact import load, metadata_path
from .detectors import LEARNED_RULES
from .errors import ModelError
from .moderator import Moderator
from .rulebook import Rulebook
from .verdict import PUBLISH

MAX_AP_DROP = 0.01
MAX_CLEAN_RISE = 0.01


@dataclass(frozen=True)
class Figures:
    average_precision: dict[str, float]   # per learned rule with both classes in the rows
    clean_flagged: float | None           # share of rows clean for every labelled rule not published


def measure(moderator: Moderator, texts: Sequence[str], labels: dict[str, np.ndarray]) -> Figures:
    verdicts = moderator.check_batch(list(texts))
    ap = {}
    for rule in LEARNED_RULES:
        y = labels.get(rule)
        if y is None:
            continue
        known = ~np.isnan(y)
        if known.sum() and 0 < y[known].sum() < known.sum():
            scores = np.asarray([v.scores[rule] for v in verdicts])[known]
            ap[rule] = round(float(average_precision_score(y[known], scores)), 4)
    stacked = np.column_stack([labels[r] for r in labels]) if labels else np.zeros((len(texts), 0))
    clean = np.all(stacked == 0, axis=1) if stacked.size else np.zeros(len(texts), dtype=bool)
    flagged = np.asarray([v.verdict != PUBLISH for v in verdicts])
    return Figures(ap, round(float(flagged[clean].mean()), 4) if clean.any() else None)


def compare(candidate: Figures, served: Figures) -> list[str]:
    """What got worse from ``served`` to ``candidate``, one line each (empty: nothing)."""
    worse = []
    for rule, before in served.average_precision.items():
        after = candidate.average_precision.get(rule)
        if after is not None and before - after > MAX_AP_DROP:
            worse.append(f"{rule}: PR AUC {after:.4f} against the served model's {before:.4f} "
                         f"(a drop of more than {MAX_AP_DROP})")
    if candidate.clean_flagged is not None and served.clean_flagged is not None \
            and candidate.clean_flagged - served.clean_flagged > MAX_CLEAN_RISE:
        worse.append(f"clean comments sent to review: {candidate.clean_flagged:.1%} against the served model's "
                     f"{served.clean_flagged:.1%} (a rise of more than one point)")
    return worse


def _pair(path: Path) -> tuple[Path, Path]:
    return path, metadata_path(path)


def previous_of(served: Path) -> Path:
    return served.with_name(served.name + ".previous")


def _replace(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source``: copied beside it, then renamed over it (atomic)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def promote(candidate: str | os.PathLike, served: str | os.PathLike, texts: Sequence[str],
            labels: dict[str, np.ndarray], rulebook: Rulebook) -> tuple[str, str, Figures, Figures]:
    """Replace ``served`` with ``candidate`` unless it measures worse on the rows; returns the two
    versions and both figures. Raises ``ModelError`` (naming what got worse) to refuse."""
    candidate, served = Path(candidate), Path(served)
    new, old = load(candidate), load(served)   # both verified; nothing in either runs
    new_figures = measure(Moderator(new, rulebook), texts, labels)
    old_figures = measure(Moderator(old, rulebook), texts, labels)
    worse = compare(new_figures, old_figures)
    if worse:
        raise ModelError(f"not promoted: {worse[0]}" + (f" (and {len(worse) - 1} more)" if len(worse) > 1 else "")
                         + f"; {served} still serves model {old.version}")
    previous = previous_of(served)
    for source, target in zip(_pair(served), _pair(previous)):
        _replace(source, target)
    # The card first, then the model: a reader between the two sees a card whose SHA-256 does not
    # match and refuses (and retries), never a model described by another's card.
    for source, target in zip(reversed(_pair(candidate)), reversed(_pair(served))):
        _replace(source, target)
    return new.version, old.version, new_figures, old_figures


def rollback(served: str | os.PathLike) -> str:
    """Put the model that ``promote`` replaced back; returns its version."""
    served = Path(served)
    previous = previous_of(served)
    if not previous.exists() or not metadata_path(previous).exists():
        raise ModelError(f"no previous model beside {served} ({previous} is missing): nothing to roll back to")
    version = load(previous).version
    for source, target in zip(reversed(_pair(previous)), reversed(_pair(served))):
        _replace(source, target)
    return version


def reload_service(pid_file: str | os.PathLike) -> int:
    """Ask a running ``moderation serve`` to load its model again (SIGHUP to the pid in the file)."""
    try:
        pid = int(Path(pid_file).read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot signal the service through {pid_file} ({exc}); give the --pid-file of a "
                         "running `moderation serve`") from None
    return pid
