"""Transparency report and accuracy card (watchfloor report ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.errors import InputError
from watchfloor.services.accuracy import AccuracyCard, Tally, accuracy_card
from watchfloor.services.reports import parse_period, render_html, transparency_report

report_app = typer.Typer(help="Transparency report and accuracy card.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("transparency")
def report_transparency(
    ctx: typer.Context,
    period: Annotated[
        str | None, typer.Option(help="2026-Q4, 2026-11 or 2026 (default: the current quarter).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (instead of --period).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD, included.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="json or html.")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Publishable counts for a period: rules, searches, watches, posts, alerts, cases, exports, audit.

    Aggregates only: counts from 1 to 4 show as "<5"; no names, handles or ids. Needs the supervisor,
    auditor or admin role.

    Example: watchfloor report transparency --period 2026-Q4 --format html -o q4.html
    """
    if format not in ("json", "html"):
        raise InputError(f"--format must be json or html, not {format!r}")
    state = state_of(ctx)
    service = state.context()
    chosen = parse_period(period, since=since, until=until, now=service.clock.now())
    report = transparency_report(service, actor=state.actor(), period=chosen)
    text = report.json_text() if format == "json" else render_html(report)
    if output is None:
        out.file.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"Transparency report {chosen.label} written to {output}")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _slices(slices: dict[str, Tally]) -> Text:
    parts = [f"{k} {_pct(t.precision)} ({t.judged})" for k, t in sorted(slices.items())]
    return Text(", ".join(parts) or "—")


def _print_card(card: AccuracyCard) -> None:
    table = Table("id", "rule", "precision", "judged", "open", "by language", "by platform", "flag")
    for line in card.rules:
        flag = Text(f"⚠ {line.flag.describe()}", style="bold red") if line.flag else Text("")
        table.add_row(
            str(line.rule_id),
            Text(line.name),
            _pct(line.total.precision),
            str(line.total.judged),
            str(line.total.not_judged),
            _slices(line.by_language),
            _slices(line.by_platform),
            flag,
        )
    out.print(table)
    flagged = sum(1 for r in card.rules if r.flag)
    err.print(
        f"{len(card.rules)} rules, {flagged} flagged. Precision = true / (true + false positives); "
        f"languages are compared when they have at least {card.min_sample} judged alerts."
    )


@report_app.command("accuracy")
def report_accuracy(
    ctx: typer.Context,
    period: Annotated[
        str | None, typer.Option(help="Only alerts raised in 2026-Q4, 2026-11 or 2026.")
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Per rule: precision from analysts' dispositions, by language and platform, with a flag where one
    language's false-positive rate is more than 1.25 times another's.

    Example: watchfloor report accuracy --period 2026-Q4 --format json
    """
    if format not in ("table", "json"):
        raise InputError(f"--format must be table or json, not {format!r}")
    state = state_of(ctx)
    service = state.context()
    chosen = parse_period(period, now=service.clock.now()) if period else None
    card = accuracy_card(
        service,
        actor=state.actor(),
        since=chosen.start if chosen else None,
        until=chosen.end if chosen else None,
    )
    if format == "json":
        out.file.write(json.dumps(card.as_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_card(card)
