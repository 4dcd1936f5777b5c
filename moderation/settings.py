"""Where things are and how the service runs: one place for every default and environment variable.

``Settings.from_env()`` reads the ``MODERATION_*`` variables over the defaults; the app factory and
``moderation serve`` both start from it (the command line's options then replace what they give),
so a default or a variable name is written once. A bad value is one line naming the variable, the
allowed values and what was given.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .errors import ModerationError

#: Settings field -> environment variable.
ENV = {
    "host": "MODERATION_HOST",
    "port": "MODERATION_PORT",
    "workers": "MODERATION_WORKERS",
    "threads": "MODERATION_THREADS",
    "body_timeout": "MODERATION_BODY_TIMEOUT",
    "model": "MODERATION_MODEL",
    "rules": "MODERATION_RULES",
    "db": "MODERATION_DB",
    "max_body": "MODERATION_MAX_BODY",
    "token": "MODERATION_TOKEN",
    "log_text": "MODERATION_LOG_TEXT",
    "log_format": "MODERATION_LOG_FORMAT",
    "coral_secrets": "MODERATION_CORAL_SECRETS",
}
#: A file holding the token: a secret on a command line is visible to every local user in ``ps``.
TOKEN_FILE_ENV = "MODERATION_TOKEN_FILE"
CORAL_SECRETS_ENV, CORAL_SECRETS_FILE_ENV = "MODERATION_CORAL_SECRETS", "MODERATION_CORAL_SECRETS_FILE"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingsError(ModerationError):
    """A setting (an environment variable or an option) has a value it cannot take."""


def read_token_file(path: str | Path, where: str = "--token-file") -> str:
    """The bearer token in the file at ``path`` (its first line, white space stripped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SettingsError(f"{where}: cannot read the token file {str(path)!r} ({reason}); give a readable file "
                            "whose first line is the token") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        raise SettingsError(f"{where}: the token file {str(path)!r} holds no token on its first line (or one with "
                            "spaces or control characters); write the token alone on the first line")
    return token


def data_home(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/news-moderation`` (``~/.local/share/news-moderation``): the default model
    and history live here."""
    base = environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "news-moderation"


def default_model_path(environ: Mapping[str, str] = os.environ) -> Path:
    """$MODERATION_MODEL, else the data folder's ``model.joblib``."""
    return Path(environ.get(ENV["model"]) or data_home(environ) / "model.joblib")


def default_db(environ: Mapping[str, str] = os.environ) -> str:
    """$MODERATION_DB, else the data folder's ``history.sqlite3``."""
    return environ.get(ENV["db"]) or str(data_home(environ) / "history.sqlite3")


def packaged_rules_path() -> Path:
    return Path(str(resources.files("moderation") / "rules.toml"))


def default_rules_path(environ: Mapping[str, str] = os.environ) -> Path:
    """$MODERATION_RULES, else the packaged ``rules.toml``."""
    env = environ.get(ENV["rules"])
    return Path(env) if env else packaged_rules_path()


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    #: Threads per worker: each connection is read by a thread (gunicorn's gthread worker), so a
    #: client that trickles its body holds one thread, not a whole worker.
    threads: int = 4
    #: Seconds a client may take to send its body; past it the request gets a 408.
    body_timeout: int = 30
    #: Model file; None: the default location (built from the starter corpus when missing).
    model: str | None = None
    #: Rulebook; None: the packaged one.
    rules: str | None = None
    #: History store (a file path or a store URL); None: the data folder's SQLite file.
    db: str | None = None
    #: Largest request body, in bytes.
    max_body: int = 1_000_000
    #: When set, ``Authorization: Bearer <token>`` is required on every route but the health checks.
    token: str | None = None
    #: Put comment texts in the access log (off: they are personal data). Text lines only.
    log_text: bool = False
    #: Coral Talk's signing secrets for its external moderation phase (several while rotating);
    #: when set, /v1/coral scores only requests signed with one of them.
    coral_secrets: tuple[str, ...] = ()
    #: The access log's lines: "text" (method, path, status, ms) or "json" (also the request id and
    #: each comment's id, verdict and flagged rules; never its text).
    log_format: str = "text"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        given = {name: environ[var] for name, var in ENV.items() if environ.get(var) not in (None, "")}
        if environ.get(TOKEN_FILE_ENV) and "token" not in given:
            given["token"] = read_token_file(environ[TOKEN_FILE_ENV], TOKEN_FILE_ENV)
        secrets = environ.get(CORAL_SECRETS_ENV, "")
        if environ.get(CORAL_SECRETS_FILE_ENV):
            try:
                secrets += "," + Path(environ[CORAL_SECRETS_FILE_ENV]).read_text(encoding="utf-8").replace("\n", ",")
            except OSError as exc:
                raise SettingsError(f"{CORAL_SECRETS_FILE_ENV}: cannot read {environ[CORAL_SECRETS_FILE_ENV]!r} "
                                    f"({exc.strerror}); give a readable file of secrets, one a line") from None
        found = tuple(s.strip() for s in secrets.split(",") if s.strip())
        if found:
            given["coral_secrets"] = found
        return cls().replace(_where=lambda name: ENV[name], **given)

    def replace(self, _where=None, **changes: Any) -> "Settings":
        """These settings with ``changes`` (None values ignored), each checked; strings are parsed."""
        where = _where or (lambda name: name)
        known = {f.name for f in fields(self)}
        clean = {}
        for name, value in changes.items():
            if name not in known:
                raise SettingsError(f"unknown setting {name!r}; settings are {', '.join(sorted(known))}")
            if value is not None:
                clean[name] = _check(name, value, where(name))
        return replace(self, **clean)

    @property
    def model_path(self) -> Path | None:
        return Path(self.model) if self.model else None

    @property
    def rules_path(self) -> Path | None:
        return Path(self.rules) if self.rules else None


_RANGES = {"port": (1, 65535), "workers": (1, 64), "threads": (1, 64), "body_timeout": (1, 3600),
           "max_body": (1024, None)}


def _check(name: str, value: Any, where: str) -> Any:
    if name in _RANGES:
        low, high = _RANGES[name]
        number = value
        if isinstance(value, str):
            number = int(value) if value.strip().isdigit() else None
        if isinstance(number, bool) or not isinstance(number, int) or number < low or (high and number > high):
            span = f"from {low} to {high}" if high else f">= {low}"
            raise SettingsError(f"{where} must be a whole number {span}, got {value!r}")
        return number
    if name == "log_text":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise SettingsError(f"{where} must be one of {', '.join(_TRUE + _FALSE)}, got {value!r}")
    if name == "coral_secrets":
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) and v for v in value):
            raise SettingsError(f"{where} must be signing secrets separated by commas, got {value!r}")
        return tuple(value)
    if name == "log_format":
        if isinstance(value, str) and value.strip().lower() in ("text", "json"):
            return value.strip().lower()
        raise SettingsError(f"{where} must be text or json, got {value!r}")
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise SettingsError(f"{where} must be a non-empty string, got {value!r}")
    return os.fspath(value)
