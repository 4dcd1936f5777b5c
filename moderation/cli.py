"""The ``moderation`` command line: check comments, train a model, show the model card.

Every library error becomes a one-line message with the fix and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import click

from . import jsonio
from .artifact import read_card
from .errors import InputError, ModerationError
from .lines import Lines
from .comment import Comment
from .detectors import RULE_IDS
from .settings import Settings, default_model_path, read_token_file
from .text import is_valid_unicode

#: Comments scored together by check --jsonl: a batch has fixed costs (15,000 news comments: 0.99 s
#: in batches of 256, 0.84 s in batches of 1,024), so batches are large, and a batch is also cut
#: at ``BATCH_CHARS`` characters of text, so that thousands of 20 KB comments do not make one batch
#: of 80 MB of text (scoring holds several times its text in memory).
BATCH_SIZE = 4096
BATCH_CHARS = 1_000_000


def _say(message: str) -> None:
    click.echo(message, err=True)


def friendly(command):
    """Turn library errors into one-line CLI errors (exit 1)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ModerationError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to report
            raise SystemExit(0)
    return wrapper


model_option = click.option(
    "--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Model file. Default: $MODERATION_MODEL, else ~/.local/share/news-moderation/model.joblib, "
         "built from the starter corpus on first use.")
db_option = click.option(
    "--db", "db_path", default=None, metavar="PATH|URL",
    help="History store for repeat detection: a SQLite file path or a store URL (sqlite:///path). "
         "Default: $MODERATION_DB, else ~/.local/share/news-moderation/history.sqlite3.")
rules_option = click.option(
    "--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Rulebook (rules.toml). Default: $MODERATION_RULES, else the packaged rulebook.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-moderation")
def main():
    """Moderate reader comments against a news site's published rules.

    A verdict (publish / review / reject) comes with one flag per broken rule: the rule, its score,
    its threshold and the evidence.
    """


def _decode(blob: bytes, what: str) -> str:
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 (byte 0x{blob[exc.start]:02x} at offset {exc.start}); "
                         "convert it to UTF-8, e.g. with iconv -t UTF-8") from None


def _argument_text(text: str) -> str:
    # Bytes that are not UTF-8 arrive in argv as lone surrogates (PEP 383).
    if any("\udc80" <= c <= "\udcff" for c in text):
        return _decode(text.encode("utf-8", "surrogateescape"), "TEXT")
    return text


@main.command()
@click.argument("text", required=False)
@click.option("--jsonl", is_flag=True, help="Read JSON objects one a line from stdin ('text' required; 'id', "
              "'thread', 'author' optional) and write one verdict a line, in the same order.")
@click.option("--id", "comment_id", default=None, help="Id echoed in the verdict (single comment).")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000),
              help="Comments scored together with --jsonl (a batch is also cut at a million characters of text).")
@click.option("--thread", default=None, help="Thread (article) the comment belongs to (single comment).")
@click.option("--author", default=None, help="Author of the comment (single comment).")
@click.option("--store/--no-store", default=False,
              help="Also remember the comment(s) in the history, as the service does (by default a check from "
                   "the command line is compared with the history and leaves it as it was).")
@click.option("--no-history", is_flag=True,
              help="Score only, without the history: repeats are not checked and each verdict says "
                   "\"unavailable\": [\"repeated\"] (re-scoring an archive, say).")
@model_option
@rules_option
@db_option
@friendly
def check(text, jsonl, comment_id, batch_size, thread, author, store, no_history, model_path, rules_path, db_path):
    """Check one comment (TEXT, or - to read it from stdin) and print its verdict as JSON."""
    if store and no_history:
        raise click.UsageError("--store remembers comments in the history and --no-history leaves it out: give one")
    unchecked = ("repeated",) if no_history else ()
    if jsonl:
        if text is not None:
            raise click.UsageError("give either TEXT or --jsonl (which reads stdin), not both")
        moderator = _open(model_path, rules_path, db_path, history=not no_history)
        failed, total = _check_jsonl(moderator, batch_size, store=store, unchecked=unchecked)
        if failed:
            raise InputError(f"{failed} of {total} lines could not be checked: each has an error object in the "
                             "output at its place; fix those lines and send them again")
        return
    if text is None:
        raise click.UsageError("give the comment as TEXT, or - to read it from stdin, or use --jsonl")
    text = _decode(sys.stdin.buffer.read(), "stdin") if text == "-" else _argument_text(text)
    if not text.strip():
        raise InputError("the comment is empty; give the text of the comment to check")
    moderator = _open(model_path, rules_path, db_path, history=not no_history)
    comment = Comment(text=text, id=comment_id, thread=thread, author=author, store=store)
    click.echo(_mark(moderator.check(comment), unchecked).to_json(indent=2))


def _mark(verdict, unchecked: tuple[str, ...]):
    """Rules the command was told not to check, said in the verdict as a store that is down is."""
    if unchecked:
        verdict.unavailable = unchecked if not verdict.unavailable else tuple(
            rule for rule in RULE_IDS if rule in unchecked or rule in verdict.unavailable)
    return verdict


def _open(model_path, rules_path, db_path, history: bool = True):
    from training.default import ensure_default_model

    from .loading import open_moderator

    return open_moderator(model_path, rules_path, _say, db=db_path, history=history,
                          ensure_default=ensure_default_model)


def _parse_line(raw: bytes, number: int) -> dict:
    where = f"stdin line {number}"
    try:
        item, valid = jsonio.loads_checked(raw)
    except UnicodeDecodeError:
        _decode(raw, where)   # raises the one-line message naming the byte
        raise
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON ({exc.msg}); write one JSON object per line") from None
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a JSON object like {{\"text\": \"...\"}}, got {type(item).__name__}")
    if not isinstance(item.get("text"), str):
        raise InputError(f"{where}: \"text\" is missing or not a string; each line needs the comment's text")
    if not item["text"].strip():
        raise InputError(f"{where}: \"text\" is empty; each line needs the comment's text")
    for key in ("text", "id", "thread", "author"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise InputError(f"{where}: \"{key}\" must be a string, got {type(item[key]).__name__}")
        if not valid and isinstance(item.get(key), str) and not is_valid_unicode(item[key]):
            raise InputError(f"{where}: \"{key}\" holds a lone surrogate (a \\ud800-\\udfff escape without its "
                             "pair); write valid Unicode")
    return item



def _check_jsonl(moderator, batch_size: int, store: bool = False, unchecked: tuple[str, ...] = ()) -> tuple[int, int]:
    """Verdicts for stdin's lines, in order, a batch at a time; a line that cannot be checked gets an
    error object at its place (``{"line": N, "error": {"code", "message"}}``) and the rest go on.
    Returns (lines failed, lines read)."""
    batch: list[Comment] = []
    failed = total = chars = 0
    moderator.warm_up()   # before the first line is read: the first batch is then as quick as the next

    out = sys.stdout.buffer

    def flush():
        nonlocal chars
        out.write(b"".join([_mark(verdict, unchecked).to_bytes() + b"\n" for verdict in moderator.check_batch(batch)]))
        out.flush()
        batch.clear()
        chars = 0

    def take(number: int, raw: bytes) -> None:
        nonlocal failed, total, chars
        if not raw.strip():
            return
        total += 1
        try:
            item = _parse_line(raw, number)
        except InputError as exc:
            failed += 1
            if batch:
                flush()
            out.write(jsonio.dumps({"line": number, "error": {"code": "invalid_line", "message": str(exc)}}) + b"\n")
            return
        batch.append(Comment(item["text"], item.get("id"), item.get("thread"), item.get("author"), store))
        chars += len(item["text"])
        if len(batch) >= batch_size or chars >= BATCH_CHARS:
            flush()

    lines = Lines(sys.stdin.buffer)
    for number, raw in enumerate(lines, start=1):
        take(number, raw)
        if not lines.ready():   # a pause in a pipe: what was read so far is answered now
            flush() if batch else out.flush()
    if batch:
        flush()
    return failed, total


@main.command()
@click.option("--data", "data", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Labelled CSV or JSON Lines file (repeatable): a 'text' column and rule columns of 1/0/blank.")
@click.option("--corpora", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of public corpora (e.g. ../shared/data): every known corpus found there is used.")
@click.option("--no-starter", is_flag=True, help="Leave the starter corpus out (it is included by default).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Training config (TOML). Default: the packaged training/config.toml.")
@click.option("--out", "--model", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (and <out>.json). Default: the default model location.")
@click.option("--decisions", "with_decisions", is_flag=True,
              help="Also train on the moderators' decisions in the store (--db): a source of its own, with its own "
                   "held-out part, reported apart in the model card.")
@db_option
@rules_option
@friendly
def train(data, corpora, no_starter, config, out, with_decisions, db_path, rules_path):
    """Train the learned rules and choose every threshold from labelled data."""
    import tempfile

    from training.train import train as run_training

    out = out or default_model_path()
    started = time.perf_counter()

    def progress(message: str) -> None:
        _say(f"[{time.perf_counter() - started:6.1f}s] {message}")

    with tempfile.TemporaryDirectory() as folder:
        if with_decisions:
            # The decisions become a labelled file named "decisions.jsonl": a source of their own.
            from .decisions import training_rows
            from .store import StoreUnavailable

            try:
                rows = training_rows(_history(db_path).decisions())
            except StoreUnavailable as exc:
                raise ModerationError(f"{exc}; check --db") from None
            if not rows:
                raise ModerationError("the store holds no decisions with a text to train on; record some (POST "
                                      "/v1/decisions) or leave out --decisions")
            path = Path(folder) / "decisions.jsonl"
            _write_jsonl(path, rows)
            data = (*data, path)
            progress(f"{len(rows)} moderators' decisions from the store")
        artifact = run_training(data, with_starter=not no_starter, corpora=corpora, config=config, out=out,
                                rules=rules_path, progress=progress)
    click.echo(_metrics_table(artifact.card))
    click.echo(f"\nmodel {artifact.version} written to {out}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _metrics_table(card: dict) -> str:
    """The card's held-out figures: real news comments first, then all held-out rows."""
    metrics, thresholds = card.get("metrics", {}), card.get("thresholds", {})
    out = []
    for title, per_rule in (("held-out news comments", metrics.get("news", {}).get("rules")),
                            ("all held-out rows", metrics.get("rules", {}))):
        if not per_rule:
            continue
        rows = [("rule", "held-out", "pos", "ROC AUC", "PR AUC", "precision", "recall", "F1", "review at", "reject at")]
        for rule in RULE_IDS:
            if rule not in per_rule and rule not in thresholds:
                continue
            m, t = per_rule.get(rule, {}), thresholds.get(rule, {})
            rows.append((rule, _fmt(m.get("rows")), _fmt(m.get("positives")), _fmt(m.get("roc_auc")),
                         _fmt(m.get("pr_auc")), _fmt(m.get("precision")), _fmt(m.get("recall")), _fmt(m.get("f1")),
                         _fmt(t.get("review")), _fmt(t.get("reject"))))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        out.append(f"{title}:\n" + "\n".join(lines))
    news = metrics.get("news", {})
    held = news.get("any_flag_on_clean")
    if held:
        out.append(f"clean news comments sent to review or rejected: {held['held']}/{held['clean_rows']} "
                   f"({held['rate']:.1%})")
    rate = metrics.get("review_rate_on_clean")
    if rate:
        out.append(f"clean held-out comments flagged for a rule they are labelled clean for: "
                   f"{rate['flagged']}/{rate['clean_rows']} ({rate['rate']:.1%})")
        if "strict" in rate:
            st = rate["strict"]
            out.append(f"comments labelled clean for every rule sent to review for any reason: "
                       f"{st['flagged']}/{st['clean_rows']} ({st['rate']:.1%})")
    return "\n\n".join(out)


@main.command()
@model_option
@click.option("--corpora", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of public corpora: evaluate on every row of them the model never trained on.")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A labelled CSV/JSON Lines file: evaluate on all of its rows.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the report (report.md, report.json, pr-<rule>.png). Default: reports/<model version>.")
@click.option("--no-peer", is_flag=True, help="Skip the side-by-side alt-profanity-check figures.")
@rules_option
@friendly
def evaluate(model_path, corpora, data, out, no_peer, rules_path):
    """Per-rule held-out metrics (ROC AUC, PR AUC, precision/recall/F1 at the stored threshold,
    review rate on clean comments), with alt-profanity-check side by side, written as a report."""
    from training.default import ensure_default_model
    from training.evaluate import evaluate as run_evaluation

    from .loading import load_model

    started = time.perf_counter()

    def progress(message: str) -> None:
        _say(f"[{time.perf_counter() - started:6.1f}s] {message}")

    artifact = load_model(str(model_path) if model_path else None, _say, ensure_default_model)
    out = out or Path("reports") / artifact.version
    run_evaluation(artifact, corpora=corpora, data=data, out=out, rules=rules_path, peer=not no_peer,
                   progress=progress)
    click.echo((out / "report.md").read_text())


@main.command()
@click.option("--host", default=None, help="Address to listen on ($MODERATION_HOST). Default: 127.0.0.1.")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port ($MODERATION_PORT). Default: 8000.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes ($MODERATION_WORKERS). Default: 2.")
@click.option("--threads", default=None, type=click.IntRange(1, 64),
              help="Threads per worker ($MODERATION_THREADS). Default: 4. A client sending its body slowly holds "
                   "one thread.")
@click.option("--body-timeout", default=None, type=click.IntRange(1, 3600),
              help="Seconds a client may take to send its body, then 408 ($MODERATION_BODY_TIMEOUT). Default: 30.")
@click.option("--max-body", type=click.IntRange(1024), default=None,
              help="Largest request body in bytes ($MODERATION_MAX_BODY). Default: 1000000.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="A file whose first line is the token to require as 'Authorization: Bearer TOKEN' on every route "
                   "but /healthz and /readyz ($MODERATION_TOKEN_FILE, or the token itself in $MODERATION_TOKEN; "
                   "never on the command line, where every local user sees it).")
@click.option("--pid-file", type=click.Path(dir_okay=False), default=None,
              help="Write the server's pid here: `moderation promote --reload PID_FILE` (or kill -HUP) makes it "
                   "load its model again without a failed request.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Access-log lines ($MODERATION_LOG_FORMAT): text (default), or json with the request id "
                   "(X-Request-ID, echoed) and each comment's id, verdict and flagged rules, never its text.")
@click.option("--log-text", is_flag=True, default=None,
              help="Also log comment texts in the access log ($MODERATION_LOG_TEXT; off by default: they are "
                   "personal data).")
@model_option
@rules_option
@db_option
@friendly
def serve(host, port, workers, threads, body_timeout, max_body, token_file, pid_file, log_format, log_text,
          model_path, rules_path, db_path):
    """Serve POST /v1/moderate (and /v1/model, /v1/rules, /metrics, /healthz, /readyz) with gunicorn."""
    from .server import check_port, configure_logging, prepare_metrics, serve as run_server

    token = read_token_file(token_file) if token_file else None
    settings = Settings.from_env().replace(host=host, port=port, workers=workers, threads=threads,
                                           body_timeout=body_timeout, max_body=max_body, token=token,
                                           log_text=log_text or None, log_format=log_format, model=model_path,
                                           rules=rules_path,
                                           db=db_path)
    check_port(settings.host, settings.port)
    prepare_metrics()   # before the app (and prometheus_client) is imported
    from service import create_app

    configure_logging()
    run_server(create_app(settings), settings, factory=lambda: create_app(settings), pid_file=pid_file)


@main.command()
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole model card as JSON.")
@friendly
def info(model_path, as_json):
    """Show the model card: rules, thresholds, held-out metrics, training data, library versions."""
    path = model_path or default_model_path()
    card = read_card(path)
    if as_json:
        click.echo(json.dumps(card, indent=2, sort_keys=True))
        return
    click.echo(f"model {card.get('version')}  ({path})")
    click.echo(f"created {card.get('created')}; origin: {card.get('origin', 'trained')}")
    versions = ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items())
    click.echo(f"built with {versions}")
    data = card.get("data", {})
    for source in data.get("sources", []):
        click.echo(f"data: {source['name']}  {source['rows']} rows  sha256 {source['sha256'][:16]}...")
    click.echo(f"train rows {data.get('train_rows')}, held-out rows {data.get('held_out_rows')}; "
               f"seed {card.get('config', {}).get('seed')}")
    goals = card.get("config", {}).get("thresholds", {})
    click.echo(f"threshold goals: review \"{goals.get('review')}\", reject \"{goals.get('reject')}\"\n")
    click.echo(_metrics_table(card))


if __name__ == "__main__":
    main()


def _history(db_path):
    from .settings import default_db
    from .store import open_store

    return open_store(db_path or default_db())


@main.command()
@click.option("--author", required=True, help="The author whose comments are to be forgotten.")
@db_option
@friendly
def erase(author, db_path):
    """Erase an author (a reader's request): history fingerprints, queued texts, decisions' texts."""
    from .store import StoreUnavailable

    try:
        counts = _history(db_path).erase_author(author)
    except StoreUnavailable as exc:
        raise ModerationError(f"{exc}; check --db") from None
    click.echo(json.dumps({"author": author, **counts}))


@main.group()
def decisions():
    """The moderators' decisions recorded by the service."""


@decisions.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON Lines file to write: one training row a decision (text, id, thread, author, one column a "
                   "learned rule: 1, 0 or null for blank).")
@click.option("--days", type=click.IntRange(1, 36500), default=None, help="Only decisions of the last DAYS days.")
@db_option
@friendly
def export_decisions(out, days, db_path):
    """Write the decisions as training rows (approve: every learned rule 0; reject: the named rules 1, others blank)."""
    from .decisions import training_rows
    from .store import StoreUnavailable

    since = time.time() - days * 86400 if days else 0.0
    try:
        rows = training_rows(_history(db_path).decisions(since))
    except StoreUnavailable as exc:
        raise ModerationError(f"{exc}; check --db") from None
    _write_jsonl(out, rows)
    _say(f"{len(rows)} decisions written to {out}")


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    """``rows`` as JSON Lines (the labelled-data format ``train --data`` reads)."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ModerationError(f"cannot write {path}: {exc.strerror}; give a writable --out path") from None


@main.command()
@click.argument("candidate", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "served", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The served model file, replaced (with its card) when the candidate is not worse.")
@click.option("--data", "data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Labelled rows neither model was trained on (CSV or JSON Lines), to score both on. Default: the "
                   "held-out rows both models' cards share, rebuilt from the training files they record.")
@click.option("--rollback", is_flag=True, help="Put back the model the last promote replaced.")
@click.option("--reload", "pid_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Then signal the service whose pid file this is to load the model again.")
@rules_option
@friendly
def promote(candidate, served, data, rollback, pid_file, rules_path):
    """Replace the served model with CANDIDATE only if no rule's PR AUC drops by more than 0.01 and the
    clean review rate does not rise by more than a point, on the same rows; or --rollback."""
    from . import promotion
    from .rulebook import load_rulebook

    if rollback:
        if candidate is not None:
            raise click.UsageError("--rollback takes no CANDIDATE: it puts back the model the last promote replaced")
        version = promotion.rollback(served)
        click.echo(f"rolled back: {served} serves model {version} again")
    else:
        if candidate is None:
            raise click.UsageError("give the CANDIDATE model file (or --rollback)")
        from moderation.artifact import read_card
        from training.data import read_labelled

        if data is None:
            from training.heldout import shared_held_out

            rows, left_out = shared_held_out(read_card(candidate), read_card(served))
            _say(f"scoring both on the {len(rows)} held-out rows their cards share"
                 + (f" (left out, not rebuildable: {', '.join(left_out)})" if left_out else ""))
        else:
            rows = read_labelled(data)
        new, old, after, before = promotion.promote(candidate, served, rows.texts, rows.labels,
                                                    load_rulebook(rules_path))
        gains = ", ".join(f"{r} {before.average_precision[r]:.4f} -> {after.average_precision.get(r, float('nan')):.4f}"
                          for r in before.average_precision)
        click.echo(f"promoted: {served} serves model {new} (was {old}); PR AUC {gains}")
    if pid_file is not None:
        pid = promotion.reload_service(pid_file)
        _say(f"asked the service (pid {pid}) to load it")


@main.group()
def db():
    """The history store's schema."""


@db.command("upgrade")
@db_option
@friendly
def db_upgrade(db_path):
    """Create or migrate the store's schema to this code's version (the service also does it on first use)."""
    from .store import StoreUnavailable

    try:
        version = _history(db_path).upgrade()
    except StoreUnavailable as exc:
        raise ModerationError(str(exc)) from None
    click.echo(f"history store at schema version {version}")
