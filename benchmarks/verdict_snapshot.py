"""Record every verdict a model gives on a set of comments, and compare two such records.

A refactoring must not change what moderators see. This script writes the whole verdict (flags,
scores, thresholds, evidence spans) of every comment of the starter corpus and, with --corpora, of
every comment of the shared corpora, so a record made before a change can be compared with one
made after it, on the same model file:

    .venv/bin/python benchmarks/verdict_snapshot.py record --model M --corpora ../shared/data --out /tmp/before.jsonl.gz
    ... change the code ...
    .venv/bin/python benchmarks/verdict_snapshot.py record --model M --corpora ../shared/data --out /tmp/after.jsonl.gz
    .venv/bin/python benchmarks/verdict_snapshot.py compare /tmp/before.jsonl.gz /tmp/after.jsonl.gz

A model trained again by the changed code (same data, same seed) must give the same verdicts too:
record it and compare with ``--ignore-version``.

Records hold pieces of corpus text (evidence spans): keep them outside the repository.
It uses only the library's stable entry points (artifact.load, load_rulebook, Moderator.check_batch),
so the same script runs on the code before and after a change.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moderation.artifact import load  # noqa: E402
from moderation.moderator import Moderator  # noqa: E402
from moderation.rulebook import load_rulebook  # noqa: E402


def comments(corpora: Path | None) -> list[tuple[str, str]]:
    from training.data import read_labelled, starter_path

    starter = read_labelled(starter_path())
    out = [(o, t) for o, t in zip(starter.origins, starter.texts)]
    if corpora is not None:
        from training.corpora import load_corpora

        for part in load_corpora(corpora, training_only=False):
            out += list(zip(part.origins, part.texts))
    return out


def record(args) -> int:
    moderator = Moderator(load(args.model), load_rulebook(args.rules))
    rows = comments(args.corpora)
    with gzip.open(args.out, "wt", encoding="utf-8") as handle:
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            for (origin, _), verdict in zip(chunk, moderator.check_batch([t for _, t in chunk])):
                handle.write(json.dumps({"origin": origin, **verdict.to_dict()}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} verdicts of model {moderator.version} written to {args.out}")
    return 0


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def compare(args) -> int:
    a, b = _read(args.before), _read(args.after)
    if args.ignore_version:  # two trainings of the same data and seed: same verdicts, other version strings
        for record in a + b:
            record.pop("model", None)
    if len(a) != len(b):
        print(f"different numbers of verdicts: {len(a)} and {len(b)}")
        return 1
    differ = [(x, y) for x, y in zip(a, b) if x != y]
    outcomes = {}
    for x in a:
        outcomes[x["verdict"]] = outcomes.get(x["verdict"], 0) + 1
    print(f"{len(a)} verdicts compared ({', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))}): "
          f"{len(differ)} differ")
    for x, y in differ[:5]:
        print(json.dumps(x, ensure_ascii=False)[:400])
        print(json.dumps(y, ensure_ascii=False)[:400])
    return 1 if differ else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="write every verdict of a model")
    rec.add_argument("--model", type=Path, required=True)
    rec.add_argument("--rules", type=Path, default=None)
    rec.add_argument("--corpora", type=Path, default=None, help="also every comment of these corpora")
    rec.add_argument("--out", type=Path, required=True)
    rec.set_defaults(run=record)
    cmp_ = sub.add_parser("compare", help="compare two records; exit 1 if any verdict differs")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--ignore-version", action="store_true",
                      help="compare models trained apart (same data and seed) whose version strings differ")
    cmp_.set_defaults(run=compare)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
