"""Run the Flask app under gunicorn: pre-forked worker processes sharing one loaded model.

The app is created (and the model loaded, or the default one built) once in the master process
before the workers fork, so start-up costs one model load and the workers share its memory.
"""
from __future__ import annotations

import atexit
import errno
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication

from .settings import SettingsError


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict, factory=None):
        self.application, self.options, self.factory = app, options, factory
        super().__init__()

    def reload(self):
        """On SIGHUP: the app (and its model) made again in the master, for the new workers
        gunicorn then starts; the old ones finish what they are answering. A model that fails to
        load leaves the running one serving."""
        super().reload()
        if self.factory is None:
            return
        try:
            self.application = self.factory()
        except Exception as exc:   # a bad file must not take the service down
            logging.getLogger("moderation").error("reload failed, still serving the loaded model: %s", exc)
            return
        self.callable = None

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn >= 25 opens a control socket in a fixed per-user place; two services (or a test
        # next to a running service) would fight over it, and nothing here uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        return self.application


def _worker_exited(server, worker) -> None:
    from .web.metrics import worker_exited

    worker_exited(server, worker)


def configure_logging() -> None:
    """Log lines on stderr, before the app is created (building a default model reports progress)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")


def check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on, in one line, before the model is loaded (gunicorn
    would retry for seconds, printing a dozen lines)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SettingsError(f"cannot listen on {host!r}: {exc.strerror}; give --host an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as gunicorn does: TIME_WAIT is free
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SettingsError(f"port {port} on {host} is in use (another server?); stop it or give "
                                    "another --port") from None
            raise SettingsError(f"cannot listen on {host}:{port} ({exc.strerror}); give another --host or --port") from None


#: Where each gunicorn worker keeps its metrics (see moderation/web/metrics.py).
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics() -> None:
    """Give the workers a folder for their metrics before prometheus_client is imported (it reads
    the variable once): the operator's ``$PROMETHEUS_MULTIPROC_DIR``, emptied of an earlier run's
    files, or a fresh one removed at exit."""
    folder = os.environ.get(METRICS_ENV)
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return
    folder = tempfile.mkdtemp(prefix="moderation-metrics-")
    os.environ[METRICS_ENV] = folder
    master = os.getpid()

    def remove() -> None:   # workers run atexit handlers too when they exit (a reload): only the master
        if os.getpid() == master:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)


def serve(app, settings, factory=None, pid_file: str | None = None) -> None:
    """Serve ``app`` (created, with its model loaded, in this master process) on the settings' host,
    port and number of workers; on SIGHUP ``factory`` makes the app again (a promoted model)."""
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        # gthread: a connection is read by one of a worker's threads, so clients that send their
        # bodies slowly hold threads while the others (and /healthz) go on; the model itself runs
        # one request at a time per worker (web/moderate.py), as it would under the GIL anyway. It
        # is gunicorn's own worker: no event loop or monkey-patching under numpy and SQLite.
        "worker_class": "gthread",
        "threads": settings.threads,
        # No keep-alive: a kept connection stays with the worker that accepted it, so 16 clients
        # could all sit on one worker while the other idles (measured: 1,230 or 540 requests/s
        # from run to run with it; 960-1,050 without). Each request is accepted afresh instead.
        "keepalive": 0,
        "accesslog": None,          # the app logs one line per request itself (no comment text)
        "errorlog": "-",
        "timeout": 60,
        "graceful_timeout": 10,
        "proc_name": "moderation",
        "child_exit": _worker_exited,
    }
    if pid_file:
        options["pidfile"] = pid_file
    _Gunicorn(app, options, factory).run()
