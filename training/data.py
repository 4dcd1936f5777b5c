"""Labelled data: CSV or JSON Lines with a ``text`` column and one column per rule id.

A rule column holds 1 (breaks the rule), 0 (does not) or blank (not judged: the row says nothing
about that rule and is left out of its training). These columns may also appear and are not rules:
``id``, ``thread``, ``author``, ``source``, ``group`` (rows sharing a group are never split between
training and held-out data), ``topic``, ``created``, ``note``. Any other column is an error, so a
misspelt rule id is caught instead of silently ignored.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from moderation.errors import DataError
from moderation.detectors import RULE_IDS

#: Real comments posted on news sites: what the service is judged on. Figures on these come first,
#: and thresholds are chosen on them. An outlet's own labelled file is news; the starter corpus
#: (written for the project) is not.
NEWS = "news"
STARTER_DOMAIN = "starter (written for the project)"

META_COLUMNS = ("text", "id", "thread", "author", "source", "group", "topic", "created", "note")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def starter_path() -> Path:
    """The starter corpus shipped with the project (written for it; see docs/labelling.md)."""
    return Path(str(resources.files("training") / "data" / "starter.jsonl"))


@dataclass
class LabelledData:
    texts: list[str]
    labels: dict[str, np.ndarray]          # rule id -> 1.0 / 0.0 / NaN per row
    groups: list[str]
    sources: list[dict] = field(default_factory=list)
    #: Rows that must be held out (a YouTube video never trained on, say); None means none.
    forced_test: np.ndarray | None = None
    #: Where each row came from, "corpus:row id" (or file name and line), for joins and reports.
    origins: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def source_names(self) -> list[str]:
        """The source (corpus or file name) of each row."""
        return [o.split(":", 1)[0] for o in self.origins] if self.origins else ["data"] * len(self)

    def domains(self) -> list[str]:
        """Where each row's comment was posted (its source's ``domain``: NEWS, or another kind of site)."""
        of = {s["name"]: s.get("domain", NEWS) for s in self.sources}
        return [of.get(name, NEWS) for name in self.source_names()]

    def news_rows(self) -> np.ndarray:
        """Which rows are real comments from news sites."""
        return np.array([d == NEWS for d in self.domains()], dtype=bool)

    def subset(self, mask: np.ndarray) -> "LabelledData":
        index = np.flatnonzero(mask)
        return LabelledData(texts=[self.texts[i] for i in index],
                            labels={r: v[index] for r, v in self.labels.items()},
                            groups=[self.groups[i] for i in index], sources=self.sources,
                            forced_test=None if self.forced_test is None else self.forced_test[index],
                            origins=None if self.origins is None else [self.origins[i] for i in index])


def _label(value, rule: str, where: str) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return float(value)
    if isinstance(value, str) and value.strip() in ("", "0", "1"):
        return np.nan if not value.strip() else float(value.strip())
    raise DataError(f"{where}: label {value!r} for rule {rule!r} must be 1, 0 or blank")


def _text_key(text: str) -> str:
    # Rows whose text differs only in case, spacing or punctuation share a group.
    return hashlib.sha1(re.sub(r"\W+", " ", text.casefold()).strip().encode("utf-8")).hexdigest()[:16]


def _rows(path: Path, raw: str, kind: str):
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(raw, newline=""))
        if reader.fieldnames is None:
            return
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise DataError(f"{path} line {number}: more values than columns; quote text that contains commas")
            yield number, row, list(reader.fieldnames)
        return
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {number}: not valid JSON ({exc.msg}); write one JSON object per line") from None
        if not isinstance(row, dict):
            raise DataError(f"{path} line {number}: expected a JSON object with a \"text\" field, got {type(row).__name__}")
        yield number, row, list(row)


def read_labelled(path: str | Path) -> LabelledData:
    """Read and check one labelled file; every problem is a one-line DataError naming the value."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unknown file type {path.suffix or '(none)'!r}; use .csv or .jsonl (JSON Lines)")
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}; give the path of a labelled .csv or .jsonl file") from None
    try:
        raw = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte 0x{blob[exc.start]:02x} at offset {exc.start}); "
                        "save it as UTF-8") from None
    texts, groups = [], []
    columns: dict[str, list[float]] = {}
    for number, row, fields in _rows(path, raw, kind):
        where = f"{path} line {number}"
        unknown = [f for f in fields if f not in META_COLUMNS and f not in RULE_IDS]
        if unknown:
            raise DataError(f"{path}: unknown rule id {unknown[0]!r} (a column); rule ids are "
                            f"{', '.join(RULE_IDS)} and other allowed columns are {', '.join(META_COLUMNS)}")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: \"text\" is missing or empty; every row needs the comment's text")
        for rule in RULE_IDS:
            if rule in row or rule in columns:
                columns.setdefault(rule, [np.nan] * len(texts)).append(_label(row.get(rule), rule, where))
        texts.append(text)
        group = row.get("group")
        groups.append(f"{path.name}:{group}" if isinstance(group, (str, int)) and str(group).strip() else _text_key(text))
    if not texts:
        raise DataError(f"{path} holds no labelled rows; add rows with a \"text\" column and rule columns")
    labels = {rule: np.asarray(values, dtype=np.float64) for rule, values in columns.items()}
    source = {"name": path.name, "path": str(path), "rows": len(texts),
              "sha256": hashlib.sha256(blob).hexdigest(),
              "domain": STARTER_DOMAIN if path.resolve() == starter_path().resolve() else NEWS}
    return LabelledData(texts=texts, labels=labels, groups=groups, sources=[source],
                        origins=[f"{path.name}:{i + 1}" for i in range(len(texts))])


def combine(parts: list[LabelledData]) -> LabelledData:
    if not parts:
        raise DataError("no training data given; pass --data FILE or keep the starter corpus")
    texts, groups, sources, forced, origins = [], [], [], [], []
    rules = sorted({r for p in parts for r in p.labels}, key=RULE_IDS.index)
    labels = {r: [] for r in rules}
    for part in parts:
        texts += part.texts
        groups += part.groups
        sources += part.sources
        forced.append(part.forced_test if part.forced_test is not None else np.zeros(len(part), dtype=bool))
        origins += part.origins or [f"{part.sources[0]['name'] if part.sources else 'data'}:{i}" for i in range(len(part))]
        for rule in rules:
            labels[rule].append(part.labels.get(rule, np.full(len(part), np.nan)))
    return LabelledData(texts=texts, labels={r: np.concatenate(v) for r, v in labels.items()},
                        groups=groups, sources=sources, forced_test=np.concatenate(forced), origins=origins)


_NEAR = re.compile(r"(?:https?://|www\.)\S+|@\w+|\brt\b|[\W\d_]+")


def near_key(text: str) -> str:
    """Identical for texts that differ only in case, punctuation, digits, @mentions, URLs or
    retweet markers: the near-exact copies that must not straddle a split."""
    return " ".join(_NEAR.sub(" ", text.casefold()).split())


def deduplicate(data: LabelledData) -> tuple[LabelledData, int]:
    """Merge exact and near-exact duplicates within and across sources into one row each.

    A rule's labels are kept where the copies agree and left blank where they conflict. A merged
    row keeps the first copy's text and group and is held out if any copy had to be.
    """
    first: dict[str, int] = {}
    members: list[list[int]] = []
    for i, text in enumerate(data.texts):
        key = near_key(text) or f"#{i}"
        if key in first:
            members[first[key]].append(i)
        else:
            first[key] = len(members)
            members.append([i])
    if len(members) == len(data):
        return data, 0
    keep = [m[0] for m in members]
    labels = {}
    for rule, values in data.labels.items():
        merged = np.full(len(members), np.nan)
        for k, rows in enumerate(members):
            seen = {float(values[i]) for i in rows if not np.isnan(values[i])}
            if len(seen) == 1:
                merged[k] = seen.pop()
        labels[rule] = merged
    forced = None
    if data.forced_test is not None:
        forced = np.array([bool(data.forced_test[rows].any()) for rows in members])
    return LabelledData(texts=[data.texts[i] for i in keep], labels=labels, groups=[data.groups[i] for i in keep],
                        sources=data.sources, forced_test=forced,
                        origins=None if data.origins is None else [data.origins[i] for i in keep]), len(data) - len(members)


def group_split(groups: list[str], test_size: float, seed: int, forced: np.ndarray | None = None,
                sources: list[str] | None = None) -> np.ndarray:
    """A boolean mask of held-out rows: whole groups, seeded, about ``test_size`` of each source's rows.

    Groups are held out whole, so near-copies never straddle the split. The share is taken per
    source (a corpus, a file) so that a source with a few large groups (a corpus of four videos)
    still keeps most of its rows for training. ``forced`` rows are always held out, and count
    towards their source's share: a text merged from copies in several groups is forced out if any
    copy had to be, without dragging the rest of its first copy's group along.
    """
    sources = list(sources) if sources is not None else ["all"] * len(groups)
    size: dict[str, int] = {}
    source_of: dict[str, str] = {}
    for g, s in zip(groups, sources):
        size[g] = size.get(g, 0) + 1
        source_of.setdefault(g, s)
    forced = np.zeros(len(groups), dtype=bool) if forced is None else np.asarray(forced, dtype=bool)
    forced_rows: dict[str, int] = {}
    for g, f in zip(groups, forced):
        if f:
            forced_rows[g] = forced_rows.get(g, 0) + 1
    held: set[str] = set()
    for source in sorted(set(source_of.values())):
        unique = sorted(g for g, s in source_of.items() if s == source)
        target = test_size * sum(size[g] for g in unique)
        taken = sum(forced_rows.get(g, 0) for g in unique)
        # Seeded per source, so a source's held-out rows do not depend on which others are present
        # (evaluation rebuilds the split from the corpora alone).
        np.random.default_rng([seed, zlib.crc32(source.encode("utf-8"))]).shuffle(unique)
        for g in unique:
            if taken >= target:
                break
            if size[g] == forced_rows.get(g, 0) or size[g] > 2 * max(target - taken, 1):
                continue  # wholly forced already, or over twice what is still needed
            held.add(g)
            taken += size[g] - forced_rows.get(g, 0)
    return np.array([g in held for g in groups], dtype=bool) | forced
