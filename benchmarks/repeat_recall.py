#!/usr/bin/env python3
"""How many reposts the repeat detector finds, and how many fresh comments it flags by mistake.

    .venv/bin/python benchmarks/repeat_recall.py [--corpora ../shared/data] [--history 15000] [--probes 500]

Stores ``--history`` real news comments (civil-comments-sample and civil-comments-toxic-spans
under ``--corpora``; synthetic ones where they are absent) as the history, then checks, for each
kind of repost below, ``--probes`` comments of 8 words or more drawn from that history, and as many
comments that were never stored (the false alarms). The storage of the history can change how much
of a repost is seen (what is kept of each comment), so this is measured before and after any such
change; the figures are shares of probes at or over the rule's threshold.

Kinds: the same text again by its author (``exact``); by its author with a new first line
(``new first line``); every eighth word changed, same author (``words changed``); case,
punctuation and line breaks changed, same author (``restyled``); pasted whole inside another
author's comment in another thread, for comments of at least 25 words (``campaign``); the first
eight words only, by the same author (``8 words``).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.comment import Comment  # noqa: E402
from moderation.fingerprints import words  # noqa: E402
from moderation.repeats import RepeatChecker  # noqa: E402
from moderation.store import SqliteStore, open_store  # noqa: E402

csv.field_size_limit(10_000_000)


def news_comments(corpora: Path) -> list[str]:
    texts = []
    sample = corpora / "civil-comments-sample"
    if (sample / "care-civilcomments.csv").exists():
        with open(sample / "care-civilcomments.csv", encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    if (sample / "sociosim-civilcomments.jsonl").exists():
        with open(sample / "sociosim-civilcomments.jsonl", encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle if line.strip()]
    for path in sorted((corpora / "civil-comments-toxic-spans").rglob("comments.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            texts += [row["comment_text"] for row in csv.DictReader(handle)]
    seen, out = set(), []
    for text in texts:
        key = " ".join(w for w, _, _ in words(text))
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def synthetic(rng: random.Random, n: int) -> list[str]:
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(20000)]
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 80))) for _ in range(n)]


def change_words(text: str, rng: random.Random) -> str:
    parts = text.split()
    for i in range(rng.randrange(8), len(parts), 8):
        parts[i] = "quux" + str(rng.randrange(1000))
    return " ".join(parts)


def restyle(text: str) -> str:
    return "\n".join(line.upper() + "!!" for line in text.replace(",", " ;").split(". "))


KINDS = {
    "exact": lambda t, rng: t,
    "new first line": lambda t, rng: "Posting this again because nobody listened. " + t,
    "words changed": change_words,
    "restyled": lambda t, rng: restyle(t),
    "8 words": lambda t, rng: " ".join(t.split()[:8]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=Path("../shared/data"))
    parser.add_argument("--history", type=int, default=15000)
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--db", default=None, help="an empty PostgreSQL database URL (default: SQLite in a temp folder)")
    args = parser.parse_args()
    rng = random.Random(20261201)
    texts = news_comments(args.corpora)
    source = "news comments" if len(texts) >= args.history + args.probes else "synthetic comments"
    if source == "synthetic comments":
        texts = synthetic(rng, args.history + args.probes)
    rng.shuffle(texts)
    history, fresh = texts[:args.history], texts[args.history:args.history + args.probes]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.db) if args.db else SqliteStore(Path(tmp) / "history.sqlite3")
        checker = RepeatChecker(store, clock=time.time)
        authors = [f"u{i}" for i in range(len(history))]
        for start in range(0, len(history), 1000):
            checker.check_batch([Comment(t, id=f"h{start + i}", thread=f"t{(start + i) % 300}", author=authors[start + i])
                                 for i, t in enumerate(history[start:start + 1000])])
        long_enough = [i for i, t in enumerate(history) if len(words(t)) >= checker.min_words]
        campaign = [i for i, t in enumerate(history) if len(words(t)) >= checker.campaign_min_words]
        picked = rng.sample(long_enough, min(args.probes, len(long_enough)))
        rows = []
        for kind, make in KINDS.items():
            probes = [Comment(make(history[i], rng), id=f"{kind}-{i}", thread="t-new", author=authors[i], store=False)
                      for i in picked]
            if kind == "8 words":
                probes = [p for p in probes if len(words(p.text)) >= checker.min_words]
            found = sum(r.score >= checker.threshold for r in checker.check_batch(probes))
            rows.append((kind, found, len(probes)))
        chosen = rng.sample(campaign, min(args.probes, len(campaign)))
        probes = [Comment("Everyone should read this before the vote. " + history[i] + " Share it widely.",
                          id=f"campaign-{i}", thread="t-other", author="someone-else", store=False) for i in chosen]
        rows.append(("campaign", sum(r.score >= checker.threshold for r in checker.check_batch(probes)), len(probes)))
        probes = [Comment(t, id=f"fresh-{i}", thread=f"t{i % 300}", author=f"u{i}", store=False)
                  for i, t in enumerate(fresh) if len(words(t)) >= checker.min_words]
        alarms = sum(r.score >= checker.threshold for r in checker.check_batch(probes))
        if not args.db:   # the write-ahead log checkpointed first, as history_store.py does
            store._run("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        on_disk = sum(p.stat().st_size for p in Path(tmp).iterdir()) if not args.db else None
        stored = store.count()
    print(f"history: {len(history):,} {source} ({stored:,} stored)"
          + (f", {on_disk / stored:,.0f} bytes a comment on disk" if on_disk else ""))
    print(f"{'kind':<16} {'found':>8} {'of':>6} {'recall':>8}")
    for kind, found, n in rows:
        print(f"{kind:<16} {found:>8} {n:>6} {found / max(n, 1):>8.3f}")
    print(f"{'never stored':<16} {alarms:>8} {len(probes):>6} {alarms / max(len(probes), 1):>8.3f}  (false alarms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
