"""`watchfloor audit ...`: verify the tamper-evident audit log, sign and print checkpoints, list events."""

from __future__ import annotations

import base64
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.audit import AuditEvent, format_time
from watchfloor.domain.errors import InputError
from watchfloor.services.audit import (
    list_audit_events,
    new_signing_key,
    public_key,
    sign_checkpoint,
    verify_log,
)

audit_app = typer.Typer(
    help="The tamper-evident audit log: verify it, sign checkpoints for witnesses, list events.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


class LogFormat(StrEnum):
    table = "table"
    ndjson = "ndjson"


def _events(count: int) -> str:
    return "1 event" if count == 1 else f"{count:,} events"


def _safe(text: str) -> str:
    """Text with control and other unprintable characters shown as escapes (no terminal injection)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _read_note(path: Path) -> tuple[str, str]:
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the checkpoint file {path}: {exc}") from None


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A checkpoint you kept (repeatable); the log must extend it."),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="A trusted verifier key (repeatable; default: the configured key's)."),
    ] = None,
) -> None:
    """Recompute the whole log with the independent verifier; exit 1 naming what failed.

    Example: watchfloor audit verify --checkpoint witness/2026-12-01.txt --key 'floor.example.org/audit+...'
    """
    state = state_of(ctx)
    kept = [_read_note(path) for path in checkpoint or ()]
    if not key and state.settings.audit_signing_key is None:
        err.print("No verifier key: checkpoint signatures cannot be checked. Pass --key with the log's key.")
    report = verify_log(state.context(), actor=state.actor(), checkpoints=kept, keys=key or ())
    for line in report.passed:
        out.print(Text(f"ok: {line}"))
    root = base64.b64encode(report.root).decode("ascii")
    if report.ok:
        out.print(Text(f"Audit log verified: {_events(report.size)}, root {root}", style="bold green"))
        return
    err.print(Text(f"Audit log verification FAILED ({_events(report.size)} read):", style="bold red"))
    for problem in report.problems:
        err.print(Text(f"  - {problem}"))
    if report.more_problems:
        err.print(Text(f"  ... and {report.more_problems:,} more problems"))
    err.print("Keep the database as it is (copy it for investigation) and compare with your last backup.")
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the checkpoint to this file.")
    ] = None,
) -> None:
    """Sign a checkpoint if events were added since the last one, and print the newest checkpoint.

    Give it to an outside witness, who keeps it and later runs `audit verify --checkpoint FILE`.
    Example: watchfloor audit checkpoint -o witness/$(date -u +%F).txt
    """
    state = state_of(ctx)
    result = sign_checkpoint(state.context(), actor=state.actor())
    size = result.checkpoint.size
    if result.signed:
        err.print(f"Signed a checkpoint of {_events(size)}.")
    else:
        err.print(f"No events since the last checkpoint ({_events(size)}); printing it again.")
    if output is not None:
        output.write_text(result.checkpoint.note, encoding="utf-8")
    sys.stdout.buffer.write(result.checkpoint.note.encode("utf-8"))


@audit_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many events.")] = 50,
    actor: Annotated[str | None, typer.Option("--actor", help="Only events by this user.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. posts.search.")
    ] = None,
    before: Annotated[int | None, typer.Option(help="Only events numbered below this (paging).")] = None,
    output: Annotated[LogFormat | None, typer.Option("--format", help="table or ndjson.")] = None,
) -> None:
    """List audit events, newest first. Reading the log is itself recorded as an audit.read event.

    Example: watchfloor audit log --actor maria --action posts.search --format ndjson
    """
    state = state_of(ctx)
    events = list_audit_events(
        state.context(), actor=state.actor(), by=actor, action=action, before=before, limit=limit
    )
    if (output or (LogFormat.table if sys.stdout.isatty() else LogFormat.ndjson)) is LogFormat.ndjson:
        for event in events:
            sys.stdout.buffer.write(msgspec.json.encode(event) + b"\n")
        return
    table = Table("#", "time (UTC)", "actor", "action", "objects", "outcome", "purpose", box=None)
    for event in events:
        table.add_row(*_row(event))
    out.print(table)
    err.print(_events(len(events)))


def _row(event: AuditEvent) -> list[Text]:
    more = len(event.object_ids) - 5
    objects = ", ".join(event.object_ids[:5]) + (f" (+{more})" if more > 0 else "")
    return [
        Text(str(event.seq)),
        Text(format_time(event.at)[:19].replace("T", " ")),
        Text(_safe(event.actor)),
        Text(event.action),
        Text(_safe(objects)),
        Text(event.outcome, style="" if event.outcome == "ok" else "red"),
        Text(_safe(event.purpose or "")),
    ]


@audit_app.command("keygen")
def audit_keygen(
    ctx: typer.Context,
    origin: Annotated[
        str | None, typer.Option(help="The log's name (default: $WATCHFLOOR_AUDIT_ORIGIN).")
    ] = None,
) -> None:
    """Print a new checkpoint signing key and its verifier key; nothing is stored.

    Example: watchfloor audit keygen --origin floor.example.org/audit
    """
    name = origin or state_of(ctx).settings.audit_origin
    private, verifier = new_signing_key(name)
    out.print(f"# Checkpoint signing key for the log {name!r}: keep it secret, out of database backups.")
    out.print(f"WATCHFLOOR_AUDIT_SIGNING_KEY={private}")
    if origin:
        out.print(f"WATCHFLOOR_AUDIT_ORIGIN={origin}")
    out.print("# Verifier key: give it to auditors and witnesses (watchfloor audit verify --key ...).")
    out.print(verifier)


@audit_app.command("public-key")
def audit_public_key(ctx: typer.Context) -> None:
    """Print the verifier key of the configured signing key, for auditors and witnesses.

    Example: watchfloor audit public-key > verifier-key.txt
    """
    out.print(public_key(state_of(ctx).settings))
