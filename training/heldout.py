"""The held-out rows of a trained model, rebuilt: the rows neither of two models trained on.

A model card records what its training read (``data.inputs``: the labelled files, whether the
starter corpus was in, the corpora folder), each source's SHA-256, and the config with its seed;
``build_dataset`` gives the rows in a fixed order and ``group_split`` the same held-out part for
the same seed. So the held-out rows can be rebuilt while the files are there and unchanged, and
two models can be compared on the rows held out from both (``shared_held_out``): what
``moderation promote`` scores by default.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from moderation.errors import DataError

from .config import TrainingConfig
from .data import LabelledData, group_split
from .train import build_dataset


def held_out(card: dict) -> tuple[LabelledData, list[str]]:
    """The rows ``card``'s model held out, rebuilt from the inputs it records, and the sources it
    could not rebuild (a file gone or changed since, such as the decisions a training read from the
    store): those are left out."""
    inputs = card.get("data", {}).get("inputs")
    if not inputs:
        raise DataError(f"model {card.get('version')} records no training inputs (trained before they were "
                        "recorded); give --data")
    present = [p for p in inputs.get("data", []) if Path(p).is_file()]
    corpora = inputs.get("corpora")
    config = TrainingConfig.from_dict(card["config"], where=f"model {card.get('version')} config")
    corpus = build_dataset(present, with_starter=inputs.get("with_starter", True),
                           corpora=corpora if corpora and Path(corpora).is_dir() else None, config=config)
    recorded = {s["name"]: s["sha256"] for s in card["data"]["sources"]}
    now = {s["name"]: s["sha256"] for s in corpus.sources}
    changed = sorted(name for name in recorded if now.get(name) != recorded[name])
    if any(now.get(name) != recorded.get(name) for name in now):
        extra = sorted(name for name in now if recorded.get(name) != now[name])
        changed = sorted(set(changed) | set(extra))
    mask = group_split(corpus.groups, config.test_size, config.seed, corpus.forced_test, corpus.source_names())
    keep = mask & ~np.isin(np.asarray(corpus.source_names()), changed)
    return corpus.subset(keep), changed


def shared_held_out(candidate: dict, served: dict) -> tuple[LabelledData, list[str]]:
    """The rows held out from both models (by origin), with the candidate's labels; and the sources
    left out because they could not be rebuilt."""
    new, left_new = held_out(candidate)
    old, left_old = held_out(served)
    both = set(old.origins or ()) & set(new.origins or ())
    keep = np.asarray([o in both for o in (new.origins or ())], dtype=bool)
    if not keep.any():
        raise DataError("the two models share no held-out rows that can be rebuilt (other data, or files moved or "
                        "changed since); give --data: labelled rows neither was trained on")
    return new.subset(keep), sorted(set(left_new) | set(left_old))
