#!/usr/bin/env python3
"""Speed against the single-rule peer, in one run, on the same 10,000 real comments.

    .venv/bin/python benchmarks/speed.py --model models/full.joblib [--corpora ../shared/data] [--train]

Prints, for the full verdict (every rule, evidence included) against alt-profanity-check's
predict_prob (one rule):
- in-process batch throughput (comments/s) and the ratio: of the best runs, of the median runs,
  and the median of the ratios taken within each round (the two back to back);
- single-comment latency p50 / p99, one comment at a time, and the ratios;
- model load time, model file size, and the peak memory (RSS) of a process that loads the model
  and scores the 10,000 comments;
- with --train, the training time of the full model (about 4 minutes);
- the whole process: ``moderation check --jsonl`` on the comments as a JSON Lines file (a fresh,
  empty history: every comment is compared with it, as the command does by default; and with
  ``--no-history``, scoring only), against a 6-line script calling alt-profanity-check's
  predict_prob on the same file; the time to the first verdict (one comment written to the
  command and answered); the throughput past it on the file (the whole run less that time) and
  fed through a pipe after the first verdict (the rest written at once), against the in-process
  batch with the same work (with a history, and without), each ratio taken within a round of runs
  back to back and the median of the rounds printed;
- HTTP (needs wrk: apt-get install wrk): ``moderation serve`` with 2 workers, batches of 100 of the
  same comments (checked against the history, not remembered) and single comments, on 8 connections.
Comments: 10,000 drawn with a fixed seed from the Civil Comments, Wikipedia talk and YouTube
corpora (news-site, discussion and video comments). Compare the ratios; absolute times vary by machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCORER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from moderation.artifact import load
from moderation.moderator import Moderator
from moderation.rulebook import load_rulebook
t1 = time.perf_counter()
artifact = load(sys.argv[1])
t2 = time.perf_counter()
texts = json.load(open(sys.argv[2]))
Moderator(artifact, load_rulebook()).check_batch(texts)
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def comments(corpora: Path, n: int, seed: int = 1) -> list[str]:
    from training.corpora import ADAPTERS, load_corpus

    pool = []
    for name in ("civil-comments-toxic-spans", "wiki-context-toxicity", "youtube-spam"):
        if (corpora / name).is_dir():
            pool += load_corpus(ADAPTERS[name], corpora / name, {}).texts
    if len(pool) < n:
        raise SystemExit(f"speed.py: found {len(pool)} comments under {corpora}; need {n} (give --corpora)")
    return random.Random(seed).sample(pool, n)


#: The peer's whole process, as a user would write it: read the file, score, write one line each.
PEER_SCRIPT = r"""
import sys, json
from profanity_check import predict_prob
texts = [json.loads(line)["text"] for line in sys.stdin]
for text, p in zip(texts, predict_prob(texts)):
    sys.stdout.write(json.dumps({"profane": float(p)}) + "\n")
"""


def timed(command: list[str], stdin: Path) -> float:
    """The wall-clock time of one run of ``command`` reading ``stdin``, output discarded."""
    with open(stdin, "rb") as handle:
        t0 = time.perf_counter()
        subprocess.run(command, stdin=handle, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t0


def streamed(command: list[str], first: bytes, rest: bytes) -> tuple[float, float]:
    """One process of ``command``: the time to its first verdict (one comment written, its input
    kept open: the command answers at a pause), then the time from there to its last verdict, the
    rest written at once and the input closed. Past start-up is thus measured in one process, not
    as the difference of two."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdin.write(first)
    proc.stdin.flush()
    proc.stdout.readline()
    t1 = time.perf_counter()

    def write():
        proc.stdin.write(rest)
        proc.stdin.close()
    writer = threading.Thread(target=write)
    writer.start()
    proc.stdout.read()
    writer.join()
    if proc.wait() != 0:
        raise SystemExit(f"speed.py: {' '.join(command)} failed")
    return t1 - t0, time.perf_counter() - t1


def in_process_runs(moderator, texts: list[str]):
    """Two functions timing one in-process run of ``texts`` in the command line's batches (seconds):
    without a history, and compared with one (empty, in a temporary folder; not remembered), as the
    command does by default. The link cache is emptied first: no run is helped by the one before."""
    from moderation.cli import BATCH_SIZE
    from moderation.comment import Comment
    from moderation.moderator import Moderator
    from moderation.signals import detect_links
    from moderation.store import SqliteStore

    folder = tempfile.TemporaryDirectory()
    checker = Moderator(moderator.artifact, moderator.rulebook, history=SqliteStore(Path(folder.name) / "h.sqlite3"))
    comments = [Comment(t, store=False) for t in texts]

    def run(who) -> float:
        detect_links.cache_clear()
        t0 = time.perf_counter()
        for i in range(0, len(comments), BATCH_SIZE):
            who.check_batch(comments[i:i + BATCH_SIZE])
        return time.perf_counter() - t0

    return (lambda: run(moderator)), (lambda: run(checker)), folder


def whole_process(model: Path, texts: list[str], moderator, repeat: int) -> list[tuple]:
    """The command's whole process against the peer's script; its start-up to the first verdict
    (``streamed``); and its throughput past start-up, on the file and piped, against the in-process
    batch doing the same work. Each of the ``repeat`` rounds runs every command once and the in-process batches once,
    back to back, and its ratios are taken within the round; the medians are printed (the
    machine's speed drifts between rounds)."""
    binary = str(Path(sys.executable).parent / "moderation")
    bare_in, history_in, folder = in_process_runs(moderator, texts)
    n = len(texts)
    encoded = [json.dumps({"id": f"c{i}", "text": t}).encode() + b"\n" for i, t in enumerate(texts)]
    rounds = []
    with folder, tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "comments.jsonl"
        lines.write_bytes(b"".join(encoded))
        peer = Path(tmp) / "peer.py"
        peer.write_text(PEER_SCRIPT)

        def command(*flags):
            db = Path(tmp) / f"history-{time.monotonic_ns()}.sqlite3"   # a fresh, empty history each run
            return [binary, "check", "--jsonl", *flags, "--model", str(model), "--db", str(db)]
        for _ in range(repeat):
            r = {"all": timed(command(), lines), "bare": timed(command("--no-history"), lines),
                 "peer": timed([sys.executable, str(peer)], lines)}
            r["first"], rest = streamed(command(), encoded[0], b"".join(encoded[1:]))
            r["bare_first"], bare_rest = streamed(command("--no-history"), encoded[0], b"".join(encoded[1:]))
            # Past start-up on the file (the command): the whole run less the time to the
            # first verdict; and fed through a pipe after the first verdict (a comment feed).
            r["past"], r["bare_past"] = (n - 1) / (r["all"] - r["first"]), (n - 1) / (r["bare"] - r["bare_first"])
            r["piped"], r["bare_piped"] = (n - 1) / rest, (n - 1) / bare_rest
            r["in_history"], r["in_bare"] = history_in(), bare_in()
            rounds.append(r)
    med = lambda f: statistics.median(f(r) for r in rounds)  # noqa: E731
    return [("in-process batch with a history, c/s", f"{med(lambda r: n / r['in_history']):,.0f}", "", ""),
            (f"whole process, check --jsonl, s (median of {repeat})", f"{med(lambda r: r['all']):.2f}",
             f"{med(lambda r: r['peer']):.2f}", f"{med(lambda r: r['peer'] / r['all']):.2f}x"),
            ("  start-up to the first verdict, s", f"{med(lambda r: r['first']):.2f}", "", ""),
            ("  past start-up, comments/s", f"{med(lambda r: r['past']):,.0f}", "",
             f"{med(lambda r: r['past'] * r['in_history'] / n):.2f}x"),
            ("    (against in-process with a history)", "", "", ""),
            ("  past start-up, piped as it goes, c/s", f"{med(lambda r: r['piped']):,.0f}", "",
             f"{med(lambda r: r['piped'] * r['in_history'] / n):.2f}x"),
            ("whole process, --no-history, s", f"{med(lambda r: r['bare']):.2f}", f"{med(lambda r: r['peer']):.2f}",
             f"{med(lambda r: r['peer'] / r['bare']):.2f}x"),
            ("  start-up to the first verdict, s", f"{med(lambda r: r['bare_first']):.2f}", "", ""),
            ("  past start-up, comments/s", f"{med(lambda r: r['bare_past']):,.0f}", "",
             f"{med(lambda r: r['bare_past'] * r['in_bare'] / n):.2f}x"),
            ("    (against in-process, no history)", "", "", ""),
            ("  past start-up, piped as it goes, c/s", f"{med(lambda r: r['bare_piped']):,.0f}", "",
             f"{med(lambda r: r['bare_piped'] * r['in_bare'] / n):.2f}x")]


def http(model: Path, texts: list[str], seconds: int) -> list[tuple]:
    import shutil
    import signal

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from service_load import free_port, lua_script, run_wrk, wait_ready

    if shutil.which("wrk") is None:
        return [("HTTP: wrk is not installed (apt-get install wrk)", "", "", "")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port),
                                   "--workers", "2", "--model", str(model), "--db", str(Path(tmp) / "h.sqlite3")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_ready(server, base):
                return [("HTTP: the service did not start", "", "", "")]
            batches = [json.dumps({"comments": [{"text": t, "store": False} for t in texts[i:i + 100]]})
                       for i in range(0, min(len(texts), 5000), 100)]
            singles = [json.dumps({"text": t, "store": False}) for t in texts[:500]]
            for name, bodies, per in (("HTTP batches of 100, comments/s", batches, 100),
                                      ("HTTP single comments, requests/s", singles, 1)):
                script = Path(tmp) / "post.lua"
                script.write_text(lua_script(bodies))
                r = run_wrk(base, script, seconds, 8, 2)
                errors = r["non_2xx"] + r["socket_errors"]
                rows.append((name, f"{r['rps'] * per:,.0f}", "", f"{errors} errors"))
                rows.append(("  p50 / p99, ms", f"{r['p50']:.1f} / {r['p99']:.1f}", "", ""))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return rows


def huge_pages_mb() -> float | None:
    """This process's memory on transparent huge pages (Linux), or None."""
    try:
        for line in open("/proc/self/smaps_rollup"):
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def latency(fn, texts) -> list[float]:
    out = []
    for text in texts:
        t0 = time.perf_counter()
        fn(text)
        out.append(time.perf_counter() - t0)
    return out


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model file (trained with --train if missing)")
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=2_000, help="comments timed one at a time")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the whole-process runs")
    parser.add_argument("--batch-rounds", type=int, default=15, help="in-process batch runs of each, taking turns")
    parser.add_argument("--train", action="store_true", help="(re)train the full model first and time it")
    parser.add_argument("--http-seconds", type=int, default=10, help="seconds of wrk per HTTP scenario (0: none)")
    args = parser.parse_args()
    corpora, model = Path(args.corpora), Path(args.model)
    rows = []

    if args.train or not model.exists():
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "moderation"), "train", "--corpora", str(corpora),
                        "--out", str(model)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows.append(("training time of the full model", f"{time.perf_counter() - t0:.0f} s", ""))

    from profanity_check import predict_prob

    from moderation.artifact import load
    from moderation.moderator import Moderator
    from moderation.rulebook import load_rulebook
    from moderation.signals import detect_links

    texts = comments(corpora, args.comments)
    moderator = Moderator(load(model), load_rulebook())
    moderator.check_batch(texts[:200])
    predict_prob(texts[:200])

    # The two take turns, --batch-rounds times, each round's first alternating (so neither always
    # follows the other). Each one's best run counts (timeit's convention: the other runs measure
    # the machine, not the code); and, steadier on a shared machine whose speed drifts between
    # rounds, the ratio within each round, back to back, and the median of those. Link detection
    # keeps a small cache of texts; it is emptied before every run so no run is helped by the one before.
    ours_s, peer_s = [], []

    def ours_run():
        detect_links.cache_clear()
        t0 = time.perf_counter()
        moderator.check_batch(texts)
        ours_s.append(time.perf_counter() - t0)

    def peer_run():
        t0 = time.perf_counter()
        predict_prob(texts)
        peer_s.append(time.perf_counter() - t0)
    for i in range(args.batch_rounds):
        for run in ((ours_run, peer_run) if i % 2 == 0 else (peer_run, ours_run)):
            run()
    huge = huge_pages_mb()
    rounds = args.batch_rounds
    ours, peer = len(texts) / min(ours_s), len(texts) / min(peer_s)
    rows.append((f"batch throughput, comments/s (best of {rounds})", f"{ours:,.0f}", f"{peer:,.0f}", f"{ours / peer:.2f}x"))
    ours_m, peer_m = len(texts) / statistics.median(ours_s), len(texts) / statistics.median(peer_s)
    rows.append((f"  (median of {rounds} runs)", f"{ours_m:,.0f}", f"{peer_m:,.0f}", f"{ours_m / peer_m:.2f}x"))
    paired = statistics.median(p / o for o, p in zip(ours_s, peer_s))
    rows.append((f"  (median of the {rounds} rounds' ratios)", "", "", f"{paired:.2f}x"))

    if huge is not None:
        # The model's lookup tables are copied onto huge pages at load when the kernel allows
        # (moderation/memory.py); where it has none to give, batches run 5-10% slower.
        rows.append(("  process memory on huge pages, MB", f"{huge:,.0f}", "", ""))
    single = texts[: args.single]
    mine = latency(moderator.check, single)
    theirs = latency(lambda t: predict_prob([t]), single)
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        a, b = pct(mine, q) * 1000, pct(theirs, q) * 1000
        rows.append((f"single comment {name}, ms", f"{a:.3f}", f"{b:.3f}", f"{a / b:.2f}x"))

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "texts.json"
        data.write_text(json.dumps(texts))
        out = subprocess.run([sys.executable, "-c", SCORER, str(model), str(data)], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout
        measured = json.loads(out)
    rows.append(("model load time (verify + unpickle)", f"{measured['load_s']:.2f} s", ""))
    rows.append(("model file size", f"{model.stat().st_size / 1e6:.1f} MB", ""))
    rows.append(("peak RSS, load + score 10,000", f"{measured['peak_rss_mb']:.0f} MB", ""))
    rows += whole_process(model, texts, moderator, args.repeat)
    if args.http_seconds:
        rows += http(model, texts, args.http_seconds)

    print(f"{len(texts):,} comments; {args.single:,} timed one at a time; {os.cpu_count()} cores")
    print(f"{'measure':<38} {'this project':>14} {'alt-profanity-check':>20} {'ratio':>7}")
    for row in rows:
        name, ours_, *rest = row
        peer_ = rest[0] if rest else ""
        ratio = rest[1] if len(rest) > 1 else ""
        print(f"{name:<38} {ours_:>14} {peer_:>20} {ratio:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
