"""The scheduled jobs a watch floor runs around the clock, one tick at a time.

Each tick, as the system actor ``scheduler``: mark breached alert deadlines, pause rules whose legal
basis has expired or been retired, run the retention purge once a day, and finally sign an audit
checkpoint covering every event written so far (including this tick's own). Run ticks at least every
60 seconds (``watchfloor jobs run`` does, every 30 seconds by default) and every audit event is covered
by a signed checkpoint within a minute of being written: the log's maximum merge delay (A.2).

A tick never raises for one failing job: it reports each job's outcome, so one broken job (say, no
signing key configured) does not stop the others. The loop that calls ticks lives in the CLI shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import WatchfloorError
from watchfloor.services.alerts import sweep_breaches
from watchfloor.services.audit import sign_checkpoint
from watchfloor.services.context import ServiceContext
from watchfloor.services.legal import enforce_basis_expiry
from watchfloor.services.retention import purge

SCHEDULER = Actor.system("scheduler")
PURGE_EVERY = timedelta(days=1)


@dataclass
class JobState:
    """What the loop remembers between ticks (when the purge last ran)."""

    last_purge: datetime | None = None


@dataclass
class TickReport:
    """What one tick did; ``errors`` maps a job name to the message of its failure."""

    at: datetime
    breached: int = 0
    paused_rules: int = 0
    purged: int | None = None  # posts removed, when the purge ran this tick
    checkpoint_size: int | None = None
    checkpoint_signed: bool = False
    errors: dict[str, str] = field(default_factory=dict)


def run_tick(ctx: ServiceContext, state: JobState, *, purge_enabled: bool = True) -> TickReport:
    """Run every job that is due now; see the module docstring for the order and why."""
    now = ctx.clock.now()
    report = TickReport(at=now)
    try:
        report.breached = len(sweep_breaches(ctx, actor=SCHEDULER))
    except WatchfloorError as exc:
        report.errors["sweep"] = str(exc)
    try:
        report.paused_rules = len(enforce_basis_expiry(ctx, actor=SCHEDULER))
    except WatchfloorError as exc:
        report.errors["basis"] = str(exc)
    if purge_enabled and (state.last_purge is None or now - state.last_purge >= PURGE_EVERY):
        try:
            counts = purge(ctx, actor=SCHEDULER)
            report.purged = (
                counts.posts_unmatched + counts.posts_of_expired_alerts + counts.posts_deleted_by_platform
            )
            state.last_purge = now
        except WatchfloorError as exc:
            report.errors["purge"] = str(exc)
    try:  # last: the checkpoint covers the events the jobs above just wrote
        signed = sign_checkpoint(ctx, actor=SCHEDULER)
        report.checkpoint_size, report.checkpoint_signed = signed.checkpoint.size, signed.signed
    except WatchfloorError as exc:
        report.errors["checkpoint"] = str(exc)
    return report
