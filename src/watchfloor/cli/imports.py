"""`watchfloor import` and `watchfloor formats`: bring files in, with a progress bar and a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.registry import FORMATS
from watchfloor.domain.errors import InputError
from watchfloor.services.ingest import BULK_BATCH_SIZE, ImportReport, import_file, resolve_format
from watchfloor.store.ports import ImportRun


def parse_column_map(pairs: list[str], map_file: Path | None) -> tuple[str | None, dict[str, str]]:
    """``--map field=column`` options and/or a map file -> (platform, column map)."""
    platform: str | None = None
    columns: dict[str, str] = {}
    if map_file is not None:
        try:
            spec = json.loads(map_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{map_file}: cannot read the column map: {exc}") from None
        if not isinstance(spec, dict) or not isinstance(spec.get("columns", {}), dict):
            raise InputError(f'{map_file}: expected {{"platform": ..., "columns": {{field: column}}}}')
        platform = spec.get("platform")
        columns.update({str(k): str(v) for k, v in spec.get("columns", {}).items()})
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--map {pair!r}: expected FIELD=COLUMN, e.g. --map text='Tweet Text'")
        columns[field.strip()] = column.strip()
    return platform, columns


def _summary_line(run: ImportRun) -> str:
    return (
        f"{run.records:,} records: {run.inserted:,} new posts, {run.duplicates:,} already stored, "
        f"{run.deletions:,} deletions, {run.skipped:,} skipped (not posts), {run.quarantined:,} quarantined"
    )


def _print_report(report: ImportReport) -> None:
    run = report.run
    out.print(f"[bold]{escape(Path(run.source).name)}[/bold] ({run.format}): {_summary_line(run)}")
    if report.alerts_raised or report.alerts_grouped:
        out.print(
            f"  alerts: {report.alerts_raised:,} raised, {report.alerts_grouped:,} grouped into open alerts"
        )
    if report.alerts_withheld:
        out.print(
            f"  [yellow]{report.alerts_withheld:,} matches withheld[/yellow]: rules naming accounts "
            "that have no approved watch (see `watchfloor watches list`)"
        )
    for reason, count in report.skipped_reasons.most_common(5):
        out.print(f"  skipped {count:,}: {escape(reason)}")
    for entry in report.quarantine_samples[:5]:
        where = entry.location.line or entry.location.index
        field = f" field {escape(entry.field)}:" if entry.field else ""
        err.print(f"  [yellow]quarantined[/yellow] line {where}:{field} {escape(entry.reason)}")
    if run.quarantined > 5:
        err.print(f"  ... and {run.quarantined - 5:,} more: see `watchfloor quarantine list`")


@app.command("import")
def import_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="Files to import (.json, .jsonl, .ndjson, .csv; .gz/.zst ok).")
    ],
    format_name: Annotated[
        str | None, typer.Option("--format", help="Skip auto-detection (see `watchfloor formats`).")
    ] = None,
    platform: Annotated[
        str | None, typer.Option(help="Platform for generic CSV files (e.g. twitter).")
    ] = None,
    column: Annotated[
        list[str] | None, typer.Option("--map", help="Generic CSV column: FIELD=COLUMN (repeatable).")
    ] = None,
    map_file: Annotated[
        Path | None, typer.Option("--map-file", help='JSON {"platform": ..., "columns": {...}}.')
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit with status 1 if any record is quarantined.")] = False,
    bulk: Annotated[
        bool,
        typer.Option(
            help=f"Large fixed batches ({BULK_BATCH_SIZE:,} posts) for a big file while nobody works "
            "in the console: faster, but on SQLite console pages may wait seconds behind each batch."
        ),
    ] = False,
) -> None:
    """Import posts from files; the format is detected from the content.

    Examples:

      watchfloor import tweets.jsonl reddit-comments.ndjson.zst result.json

      watchfloor import crisis.csv --format csv --platform twitter
      --map native_id='Tweet ID' --map text='Tweet Text'

      watchfloor import --bulk archive-2024.jsonl.zst
    """
    state = state_of(ctx)
    map_platform, columns = parse_column_map(column or [], map_file)
    options = MapOptions(platform=platform or map_platform, column_map=columns)
    for path in files:  # fail before importing anything if one file is unusable
        resolve_format(path, format_name)
    service = state.context()
    quarantined = 0
    for path in files:
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task(f"Importing {path.name}", total=None, status="")

            def show(run: ImportRun, task: TaskID = task, bar: Progress = bar) -> None:
                elapsed = bar.tasks[0].elapsed or 0.0
                rate = run.records / elapsed if elapsed > 0 else 0.0
                status = f"{run.records:,} records, {rate:,.0f}/s, {run.quarantined:,} quarantined"
                bar.update(task, status=status)

            report = import_file(
                service,
                actor=state.actor(),
                path=path,
                format_name=format_name,
                options=options,
                progress=show,
                bulk=bulk,
            )
        _print_report(report)
        quarantined += report.run.quarantined
    if strict and quarantined:
        err.print(f"[red]--strict: {quarantined:,} records were quarantined[/red]")
        raise typer.Exit(1)


@app.command("formats")
def formats_command() -> None:
    """List the file formats watchfloor can import (names for --format).

    Example: watchfloor formats
    """
    table = Table("format", "layout", "description", box=None)
    for fmt in FORMATS:
        table.add_row(fmt.name, fmt.layout, fmt.description)
    out.print(table)
