"""Model files: written atomically with their metadata beside them, verified before loading.

A model file is a joblib pickle, and unpickling runs code, so a file is loaded only if its
metadata sidecar (``<model>.json``) says the project wrote it, its SHA-256 matches the one recorded
at training time, and it was built with the library versions installed now. Anything else is
refused with a one-line message that says to retrain. A card can be forged along with its file, so
the unpickler itself admits only the classes a model holds (``ALLOWED_GLOBALS``): a file naming
any other callable is refused before anything in it runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importlib.metadata import version as _installed

from . import memory
from .errors import ModelError

# 2: token-table feature space; 3: dense signals (lexicon hits, accusation cues, promotable links);
# 4: the kinds of wrongdoing among the cues.
# Models of an older format must be retrained.
FORMAT = "news-moderation-model/4"


def library_versions() -> dict[str, str]:
    """The versions a pickled model depends on; a model is loaded only under the same ones."""
    return {
        "python": ".".join(platform.python_version_tuple()[:2]),
        # From the installed packages' metadata: importing scikit-learn to read its version would
        # cost a served model most of its start-up (``moderation.estimator``).
        "scikit-learn": _installed("scikit-learn"),
        "numpy": _installed("numpy"),
        "scipy": _installed("scipy"),
        "joblib": _installed("joblib"),
    }


def metadata_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelArtifact:
    """What a model file holds: the learned model, every rule's data-chosen thresholds, and the
    model card (metadata) that is also written beside it."""

    model: Any
    thresholds: dict[str, dict]
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        return self.card.get("version", "unversioned")


def _umask_mode() -> int:
    # mkstemp creates files 0600; a model is read by the service, maybe as another user.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(artifact: ModelArtifact, path: str | os.PathLike) -> Path:
    """Write the model and its metadata. A crash mid-way never leaves a half-written file in place."""
    path = Path(path)
    payload = {"format": FORMAT, "version": artifact.version, "model": artifact.model,
               "thresholds": artifact.thresholds}
    # Dump to a temporary file first so the metadata can record the hash of the exact bytes.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        import joblib

        with os.fdopen(fd, "wb") as handle:
            # Uncompressed: twice the size on disk (32 MB for the full model), and it loads in half
            # the time (0.08 s against 0.18 s: no inflating), which is start-up to the first verdict.
            joblib.dump(payload, handle, compress=0)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _umask_mode())
        card = dict(artifact.card, format=FORMAT, versions=library_versions(), sha256=sha256_file(tmp),
                    size_bytes=os.path.getsize(tmp))
        text = json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
        _atomic_write(metadata_path(path), lambda handle: handle.write(text))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    artifact.card, artifact.path = card, path
    return path


def read_card(path: str | os.PathLike, check_sha: bool = True) -> dict[str, Any]:
    """The metadata beside a model file, checked for format, library versions and (unless
    ``check_sha`` is False) the file's SHA-256. Nothing is unpickled."""
    path = Path(path)
    retrain = f"retrain it with `moderation train --out {path}`"

    def refused(cause: str) -> ModelError:
        return ModelError(f"{cause}; {retrain}", cause=cause)

    if not path.exists():
        raise ModelError(f"no model file at {path}; train one with `moderation train --out {path}`")
    meta = metadata_path(path)
    try:
        card = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise refused(f"model {path} has no metadata file {meta.name} beside it, so it was not written by "
                      "this project and will not be loaded") from None
    except (OSError, ValueError) as exc:
        raise refused(f"metadata {meta} is unreadable ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise refused(f"{meta} is not metadata of a {FORMAT} model")
    built, installed = card.get("versions", {}), library_versions()
    for name, version in installed.items():
        if built.get(name) != version:
            raise refused(f"model {path} was built with {name} {built.get(name)} but {version} is installed")
    if check_sha and sha256_file(path) != card.get("sha256"):
        raise refused(f"model {path} does not match the SHA-256 in its metadata: it was changed after "
                      "training and will not be loaded")
    return card


#: Everything a model file of this project refers to by name: its own classes, numpy's arrays and
#: scalars, joblib's array wrapper. Unpickling calls what a file names, so a file naming anything
#: else (``os.system``, ``builtins.exec``, a function of any module) is refused before it runs,
#: even with a matching card. Training that stores a new kind of object adds it here, with a test.
ALLOWED_GLOBALS = frozenset({
    ("moderation.model", "CommentModel"),
    ("moderation.features.vocabulary", "TextFeatures"),
    ("moderation.features.compiled", "Compiled"),
    ("moderation.lexicon", "Lexicon"),
    ("moderation.lexicon", "Tier"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
})


def _restricted_load(path: Path):
    """``joblib.load`` with an unpickler that admits only ``ALLOWED_GLOBALS`` (joblib routes the
    pickles nested in object arrays through the same check)."""
    from joblib import numpy_pickle

    class Restricted(numpy_pickle.NumpyUnpickler):
        def find_class(self, module: str, name: str):
            if (module, name) not in ALLOWED_GLOBALS:
                raise ModelError(f"model {path} names {module}.{name}, which no model of this project holds: "
                                 "refused before anything in it ran; retrain it (and find who wrote this file)")
            return super().find_class(module, name)

    with open(path, "rb") as handle:
        with numpy_pickle._validate_fileobject_and_memmap(handle, str(path), None) as (stream, _):
            if isinstance(stream, str):   # joblib < 0.10's format: never written by this project
                raise ModelError(f"model {path} is in a format this project never wrote; retrain it")
            return Restricted(str(path), stream, True).load()


def load(path: str | os.PathLike) -> ModelArtifact:
    """Load a model file after checking its metadata, library versions and SHA-256."""
    path = Path(path)
    card = read_card(path)
    try:
        payload = _restricted_load(path)
    except ModelError:
        raise
    except Exception as exc:  # a verified file that fails to unpickle is still reported in one line
        raise ModelError(f"model {path} could not be loaded ({type(exc).__name__}: {exc}); retrain it") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("version") != card.get("version"):
        raise ModelError(f"model {path} is not the model its metadata describes; retrain it")
    check = getattr(payload["model"], "check_feature_space", None)
    if check is not None and not check():
        raise ModelError(f"model {path} was trained on another feature space than this code's; retrain it with "
                         f"`moderation train --out {path}`")
    tables = getattr(payload["model"], "lookup_tables", None)
    if tables is not None:
        memory.relocate(tables())
    return ModelArtifact(model=payload["model"], thresholds=payload["thresholds"], card=card, path=path)
