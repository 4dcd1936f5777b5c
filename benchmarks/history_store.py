#!/usr/bin/env python3
"""Repeat-detection cost as the history grows: lookup and insert time at 10k, 100k and 1M comments.

    .venv/bin/python benchmarks/history_store.py [--sizes 10000,100000,1000000] [--samples 300] [--db URL]

Fills a fresh history — SQLite in a temporary folder, or the (empty) PostgreSQL database ``--db``
names — with synthetic comments of 20-60 words drawn
from a 20,000-word vocabulary, then at each size times, per comment, a lookup (check with
store=False) and a check-and-insert (store=True), each in its own transaction as the service does.
A tenth of the probes repeat a stored comment, so the coverage path is timed too. Flat figures
across sizes mean the cost does not grow with the history. Prints the bytes on disk per stored
comment too (SQLite: the files, after a checkpoint of the write-ahead log; PostgreSQL: the
database's size).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.moderator import Comment  # noqa: E402
from moderation.fingerprints import codes_and_keys, kgram_hashes, words  # noqa: E402
from moderation.repeats import RepeatChecker  # noqa: E402
from moderation.store import SqliteStore, open_store  # noqa: E402


def synthetic(rng, vocab, n):
    lengths = rng.integers(20, 61, size=n)
    return [" ".join(vocab[rng.integers(0, len(vocab), size=k)]) for k in lengths]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--db", default=None, help="an empty PostgreSQL database URL (default: SQLite in a temp folder)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(7)
    vocab = np.array(["".join(chr(97 + c) for c in rng.integers(0, 26, size=rng.integers(3, 10))) for _ in range(20000)])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.db) if args.db else SqliteStore(Path(tmp) / "history.sqlite3")
        detector = RepeatChecker(store, clock=time.time)

        def size_on_disk() -> float:
            if args.db:
                return float(store._rows("SELECT pg_database_size(current_database())")[0][0])
            # The write-ahead log checkpointed first: it holds pages on their way into the file.
            store._run("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return float(sum(p.stat().st_size for p in Path(tmp).iterdir()))
        stored, kept = 0, []
        for size in sizes:
            started = time.perf_counter()
            now = time.time()
            while stored < size:
                chunk = synthetic(rng, vocab, min(20000, size - stored))
                with store.transaction():
                    for i, text in enumerate(chunk):
                        codes, keys = codes_and_keys(kgram_hashes(words(text)))
                        store.add(f"c{stored + i}", f"t{(stored + i) % 5000}", f"u{(stored + i) % 50000}", now,
                                  codes, keys)
                kept.extend((text, f"u{(stored + i) % 50000}") for i, text in enumerate(chunk[:50]))
                stored += len(chunk)
            fill = time.perf_counter() - started
            probes = synthetic(rng, vocab, args.samples)
            authors = ["u-new"] * args.samples
            for j in range(0, args.samples, 10):   # every tenth probe: its author reposts a stored comment
                text, authors[j] = kept[rng.integers(0, len(kept))]
                probes[j] = "new first line here " + text
            lookup, insert, flagged = [], [], 0
            for j, text in enumerate(probes):
                t0 = time.perf_counter()
                probe = Comment(text, id=f"p{size}-{j}", thread="t-new", author=authors[j], store=False)
                result = detector.check_batch([probe])[0]
                lookup.append(time.perf_counter() - t0)
                flagged += result.score >= detector.threshold
                t0 = time.perf_counter()
                detector.check_batch([Comment(text + " extra", id=f"q{size}-{j}", thread="t2", author="u2", store=True)])
                insert.append(time.perf_counter() - t0)
            on_disk = size_on_disk()
            rows.append((size, statistics.median(lookup) * 1000, np.percentile(lookup, 99) * 1000,
                         statistics.median(insert) * 1000, np.percentile(insert, 99) * 1000, flagged,
                         on_disk / 1e6, on_disk / store.count()))
            print(f"filled to {size:,} in {fill:.0f}s", file=sys.stderr)
    print(f"store: {'PostgreSQL' if args.db else 'SQLite'}")
    print(f"{'stored':>10} {'lookup p50 ms':>14} {'lookup p99 ms':>14} {'insert p50 ms':>14} {'insert p99 ms':>14} "
          f"{'repeats found':>14} {'db MB':>8} {'bytes/comment':>14}")
    for size, lp50, lp99, ip50, ip99, flagged, mb, per in rows:
        print(f"{size:>10,} {lp50:>14.2f} {lp99:>14.2f} {ip50:>14.2f} {ip99:>14.2f} "
              f"{flagged:>7}/{args.samples // 10:<6} {mb:>8.0f} {per:>14.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
