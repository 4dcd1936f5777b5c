"""``GET /metrics``: the service's counters in Prometheus's text format (``prometheus_client``).

Under gunicorn every worker is its own process, so each keeps its numbers in a file of the folder
``$PROMETHEUS_MULTIPROC_DIR`` (``moderation serve`` makes a fresh one before anything imports
prometheus_client, and gunicorn's ``child_exit`` hook marks a worker's files dead), and a scrape
adds up every worker's: a counter counts every request whichever worker answered it. Without the
variable (tests, one process) the numbers live in the process.

What is counted: requests by route (the route's pattern, not the path a client sent: a scanner's
thousands of paths are one ``unmatched``), method and status; request latency by route; verdicts
by outcome; flags by rule; checks the history store could not take part in; the model version
(a gauge of 1 labelled with it).
"""
from __future__ import annotations

import os

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("moderation_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("moderation_request_seconds", "Time to answer a request", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
VERDICTS = Counter("moderation_verdicts_total", "Verdicts given", ["verdict"])
FLAGS = Counter("moderation_flags_total", "Flags raised, by rule", ["rule"])
STORE_UNAVAILABLE = Counter("moderation_store_unavailable_total",
                            "Comments checked without the history store (it was unavailable)")
MODEL = Gauge("moderation_model_info", "The model being served (1, labelled with its version)", ["version"],
              multiprocess_mode="livemax")   # a worker gone (after a reload) no longer counts

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics():
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def count_verdicts(verdicts) -> None:
    """Count ``verdicts`` (``Verdict`` objects) by outcome and flag."""
    for verdict in verdicts:
        VERDICTS.labels(verdict.verdict).inc()
        for flag in verdict.flags:
            FLAGS.labels(flag.rule).inc()
        if "repeated" in (getattr(verdict, "unavailable", None) or ()):
            STORE_UNAVAILABLE.inc()


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def worker_exited(server, worker) -> None:
    """gunicorn's ``child_exit`` hook: a dead worker's live gauges leave the sums."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)
