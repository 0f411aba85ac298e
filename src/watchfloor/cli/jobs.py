"""`watchfloor jobs run`: the scheduler — deadline sweeps, basis expiry, retention, audit checkpoints."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape

from watchfloor.cli.app import app, err, state_of
from watchfloor.services.jobs import JobState, TickReport, run_tick

jobs_app = typer.Typer(help="Scheduled jobs that keep the floor accountable.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _describe(report: TickReport) -> str:
    parts = [f"{report.at:%Y-%m-%d %H:%M:%S}Z"]
    if report.checkpoint_size is not None:
        verb = "signed checkpoint" if report.checkpoint_signed else "checkpoint current"
        parts.append(f"{verb} at {report.checkpoint_size:,} events")
    parts.append(f"{report.breached} deadlines breached")
    parts.append(f"{report.paused_rules} rules paused (basis expired)")
    if report.purged is not None:
        parts.append(f"retention purge removed {report.purged:,} posts")
    return "; ".join(parts)


@jobs_app.command("run")
def jobs_run(
    ctx: typer.Context,
    every: Annotated[
        int, typer.Option(min=1, max=60, help="Seconds between ticks (at most 60: the audit log's MMD).")
    ] = 30,
    once: Annotated[bool, typer.Option("--once", help="Run one tick and exit (for cron or tests).")] = False,
    purge: Annotated[bool, typer.Option(help="Run the daily retention purge.")] = True,
) -> None:
    """Run the scheduler until stopped (Ctrl-C or SIGTERM finish the current tick, then exit).

    Needs WATCHFLOOR_AUDIT_SIGNING_KEY to sign checkpoints; the other jobs run without it.

    Example: watchfloor --db floor.db jobs run --every 30
    """
    service = state_of(ctx).context()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if not once:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    state, failed = JobState(), False
    while True:
        report = run_tick(service, state, purge_enabled=purge)
        err.print(escape(_describe(report)))
        for job, message in report.errors.items():
            err.print(f"[red]{job} failed:[/red] {escape(message)}")
        failed = bool(report.errors)
        if once or stop.wait(every):
            break
    if once and failed:
        raise typer.Exit(1)
