#!/usr/bin/env python3
"""Drive the running service with wrk and print requests/s, p50/p99 latency, errors and memory.

    .venv/bin/python benchmarks/service_load.py [--model PATH] [--workers 2] [--seconds 10] [--rounds 3]

Starts `moderation serve` on a free loopback port (with a history in a temporary folder), waits
until it is ready, then runs wrk (Debian package `wrk`: apt-get install wrk) from another process:
single comments and batches of 100 on 8 connections, single comments on 16 connections, Coral's
signed external-phase requests on 8 connections (p99 against Coral's 200 ms timeout), then
``--rounds`` rounds of ``--round-seconds`` (default three of 20 s) of single comments that are
remembered in the history, printing each round's errors (non-2xx answers and socket errors: must
be 0), p50/p99 and the gunicorn workers' resident memory after it (must not grow round to round).
Comment texts come from the project's own starter corpus. Nothing leaves this machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.data import read_labelled, starter_path  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: subprocess.Popen, base: str, seconds: float = 120) -> bool:
    """Whether the service started as ``server`` answers ``/readyz`` with 200 within ``seconds``
    (False at once if it exits first)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.3)


def lua_script(bodies: list[str]) -> str:
    quoted = ",\n".join("[==[" + b + "]==]" for b in bodies)
    return f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{
{quoted}
}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/v1/moderate", nil, bodies[i])
end
"""


def coral_script(bodies: list[tuple[str, str]]) -> str:
    """Coral's requests, each with its signature header (signed once here, as Coral signs)."""
    quoted = ",\n".join("{[==[" + b + "]==], [==[" + sig + "]==]}" for b, sig in bodies)
    return f"""wrk.method = "POST"
local bodies = {{
{quoted}
}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/v1/coral", {{["Content-Type"] = "application/json",
                                        ["X-Coral-Signature"] = bodies[i][2]}}, bodies[i][1])
end
"""


CORAL_SECRET = "signing_load_test_secret"


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, seconds: int, connections: int, threads: int) -> dict:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, sockets.groups())) if sockets else 0}


def workers_rss_mb(master: int) -> list[float]:
    """Resident memory of each process whose parent is ``master`` (gunicorn's workers), in MB."""
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == master:
            out.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the default model)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the memory run (default 3)")
    parser.add_argument("--round-seconds", type=int, default=20, help="seconds per round (default 20)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("service_load.py: wrk is not installed; install it with `apt-get install wrk`", file=sys.stderr)
        return 2

    texts = read_labelled(starter_path()).texts
    rng = random.Random(1)
    singles = [json.dumps({"text": t, "store": False}) for t in rng.sample(texts, 200)]
    batches = [json.dumps({"comments": [{"text": t, "store": False} for t in rng.sample(texts, 100)]}) for _ in range(10)]
    # Remembered ones, each its own id, so the history grows as a site's would.
    stored = [json.dumps({"text": t, "id": f"load-{i}", "author": f"a{i % 50}", "store": True})
              for i, t in enumerate(rng.sample(texts, 500))]

    import hashlib
    import hmac

    coral = []
    for i, t in enumerate(rng.sample(texts, 200)):
        raw = json.dumps({"action": "NEW", "comment": {"body": f"<p>{t}</p>", "parentID": None},
                          "author": {"id": f"u{i % 50}", "role": "COMMENTER"},
                          "story": {"id": "s1", "url": "https://news.example.com/s1"}, "site": {"id": "x"},
                          "tenantID": "t", "tenantDomain": "comments.example.com"}, indent=2)
        coral.append((raw, "sha256=" + hmac.new(CORAL_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()))

    port = free_port()
    binary = Path(sys.executable).parent / "moderation"
    history = tempfile.mkdtemp(prefix="moderation-load-")
    command = [str(binary), "serve", "--port", str(port), "--workers", str(args.workers),
               "--db", str(Path(history) / "history.sqlite3")]
    if args.model:
        command += ["--model", args.model]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, MODERATION_CORAL_SECRETS=CORAL_SECRET))
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_ready(server, base):
            print("service_load.py: the service did not start; run `moderation serve` by hand to see why",
                  file=sys.stderr)
            return 1
        rows, rounds = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for name, bodies, per_request, connections in (
                    ("single comment", singles, 1, args.connections), ("batch of 100", batches, 100, args.connections),
                    ("single, 16 conn.", singles, 1, 16)):
                script = Path(tmp) / "post.lua"
                script.write_text(lua_script(bodies))
                result = run_wrk(base, script, args.seconds, connections, args.threads)
                rows.append((name, result, per_request, connections))
            script = Path(tmp) / "coral.lua"
            script.write_text(coral_script(coral))
            rows.append(("Coral phase", run_wrk(base, script, args.seconds, 8, args.threads), 1, 8))
            script = Path(tmp) / "stored.lua"
            script.write_text(lua_script(stored))
            before = workers_rss_mb(server.pid)
            for _ in range(args.rounds):
                result = run_wrk(base, script, args.round_seconds, 16, args.threads)
                rounds.append((result, workers_rss_mb(server.pid)))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(history, ignore_errors=True)

    print(f"service: {args.workers} gunicorn workers; wrk: {args.threads} threads, {args.connections} connections, "
          f"{args.seconds}s per scenario; machine: {os.cpu_count()} cores")
    print(f"{'scenario':<18} {'conn.':>5} {'requests/s':>11} {'comments/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r, per, connections in rows:
        print(f"{name:<18} {connections:>5} {r['rps']:>11.1f} {r['rps'] * per:>11.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
              f"{r['non_2xx'] + r['socket_errors']:>7}")
    coral_p99 = next(r["p99"] for name, r, _, _ in rows if name == "Coral phase")
    print(f"Coral phase p99 {coral_p99:.1f} ms with 8 connections (target: under 200 ms, Coral's default timeout)")
    print(f"memory run: {args.rounds} rounds of {args.round_seconds}s, 16 connections, single comments remembered "
          f"in the history; workers' RSS before: {', '.join(f'{m:.0f}' for m in before)} MB")
    print(f"{'round':<6} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  workers' RSS after, MB")
    failed = False
    for i, (r, rss) in enumerate(rounds, start=1):
        errors = r["non_2xx"] + r["socket_errors"]
        failed |= errors > 0
        print(f"{i:<6} {r['rps']:>11.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} {errors:>7}  {', '.join(f'{m:.0f}' for m in rss)}")
    if len(rounds) > 1:
        growth = max(b - a for a, b in zip(rounds[1][1], rounds[-1][1])) if rounds[1][1] and rounds[-1][1] else 0
        print(f"largest worker growth from round 2 to round {len(rounds)}: {growth:+.1f} MB (target: none)")
    failed |= any(r["non_2xx"] + r["socket_errors"] for _, r, _, _ in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
