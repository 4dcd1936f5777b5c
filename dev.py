#!/usr/bin/env python3
"""Set-up and run commands for a fresh machine that has only Python 3.11+.

    python3 dev.py start    # the main job: start the service on 127.0.0.1:8000 (extra arguments go to `serve`)
    python3 dev.py test     # the whole test suite; extra arguments go to pytest

Each command creates the project's virtual environment in .venv on first use (or reuses it), and
reinstalls the project into it only when pyproject.toml (or the C scanner, moderation/_scan.c) has
changed since the last install.
Standard library only: this file runs before anything is installed.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("MODERATION_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".moderation-installed"


def _fail(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def ensure_venv() -> Path:
    """Create or reuse .venv and make sure the project (with test extras) is installed in it."""
    if sys.version_info < (3, 11):
        _fail(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}; run it with python3.11+")
    python = BIN / "python"
    if not python.exists():
        print(f"dev.py: creating the virtual environment in {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    # The stamp holds the hash of what was installed, so editing pyproject.toml, or the C scanner the
    # install compiles, triggers a reinstall.
    want = hashlib.sha256(b"".join((ROOT / name).read_bytes()
                                   for name in ("pyproject.toml", "moderation/_scan.c"))).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != want:
        print("dev.py: installing the project and its dependencies into the virtual environment", file=sys.stderr)
        cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", f"{ROOT}[test,eval]"]
        if subprocess.call(cmd) != 0:
            _fail("installing the project failed (see pip's message above); check the network to PyPI and retry")
        STAMP.write_text(want + "\n")
    return python


#: Debian packages the tests start real components from, and what shows each is there.
SYSTEM_PACKAGES = {
    "chromium": "chromium", "chromium-driver": "chromedriver",          # the moderators' page, in a browser
    "wordpress": "/usr/share/wordpress/wp-load.php", "php-cli": "php",  # the WordPress plugin, end to end
    "mariadb-server": "mariadbd",   # php-mysql: PHP's mysqli extension (below)
    "postgresql": "/usr/lib/postgresql",                                  # the shared history store
}


def ensure_system_packages() -> None:
    """Install the Debian packages the tests need when one is missing and this runs as root with
    apt-get (CI); elsewhere the tests that need them say what to install and are skipped."""
    import shutil

    def present(probe: str) -> bool:
        return Path(probe).exists() if probe.startswith("/") else shutil.which(probe) is not None

    missing = [name for name, probe in SYSTEM_PACKAGES.items() if not present(probe)]
    if name_php_mysql_missing():
        missing.append("php-mysql")
    missing = sorted(set(missing))
    if not missing:
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"dev.py: missing {', '.join(missing)}; the tests that need them will be skipped "
              f"(install with: apt-get install {' '.join(missing)})", file=sys.stderr)
        return
    print(f"dev.py: installing {', '.join(missing)} for the tests that start them", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if subprocess.call(command, env=env, stdout=subprocess.DEVNULL) != 0:
        subprocess.call(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        if subprocess.call(command, env=env, stdout=subprocess.DEVNULL) != 0:
            _fail(f"installing {', '.join(missing)} failed (see apt-get's message above)")


def name_php_mysql_missing() -> bool:
    """php-mysql shows as PHP's mysqli extension."""
    import shutil

    if not shutil.which("php"):
        return True
    found = subprocess.run(["php", "-m"], capture_output=True, text=True)
    return "mysqli" not in found.stdout


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "test"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_venv()
    os.chdir(ROOT)
    if command == "test":
        ensure_system_packages()
        return subprocess.call([str(python), "-m", "pytest", *rest])
    # The server takes this process's place: SIGTERM and SIGINT (Ctrl-C) sent to `dev.py start`
    # reach gunicorn's master itself, which stops its workers; a child would be left running.
    server = str(BIN / "moderation")
    os.execv(server, [server, "serve", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
