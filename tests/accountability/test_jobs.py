"""The scheduler: every tick signs a checkpoint covering every event so far (the 60 s MMD), sweeps
deadlines, pauses rules whose basis lapsed and purges once a day — and one failing job stops no other."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.accountability.conftest import ORIGIN, SIGNING_KEY, add_events
from tests.cli.floor import seed_floor
from watchfloor.config import Settings
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.services.jobs import JobState, run_tick
from watchfloor.wiring import build_context


def test_every_tick_covers_every_event_written_before_it(audit_ctx: ServiceContext) -> None:
    clock = audit_ctx.clock
    assert isinstance(clock, FrozenClock)
    state = JobState()
    for minute in range(5):
        add_events(audit_ctx, 3 + minute, start=minute * 10)
        report = run_tick(audit_ctx, state)
        assert not report.errors, report.errors
        with audit_ctx.store.transaction() as tx:
            size, latest = tx.audit_size(), tx.latest_checkpoint()
        assert latest is not None and report.checkpoint_signed
        assert latest.size == size == report.checkpoint_size  # nothing written is left uncovered
        clock.advance(timedelta(seconds=30))


def test_the_purge_runs_once_a_day(audit_ctx: ServiceContext) -> None:
    clock = audit_ctx.clock
    assert isinstance(clock, FrozenClock)
    state = JobState()
    assert run_tick(audit_ctx, state).purged == 0
    clock.advance(timedelta(hours=23))
    assert run_tick(audit_ctx, state).purged is None  # not due yet
    clock.advance(timedelta(hours=1))
    assert run_tick(audit_ctx, state).purged == 0


def test_a_missing_signing_key_is_reported_and_the_other_jobs_still_run(tmp_path: Path) -> None:
    ctx = build_context(Settings(database_url=str(tmp_path / "nokey.db")))
    report = run_tick(ctx, JobState())
    assert set(report.errors) == {"checkpoint"}
    assert "signing key" in report.errors["checkpoint"].lower()
    with ctx.store.transaction() as tx:
        actions = [e.action for e in tx.audit_events(actor="scheduler", action=None, before=None, limit=10)]
    assert {"alerts.sweep", "basis.enforce", "retention.purge"} <= set(actions)
    ctx.store.close()


def test_jobs_run_once_from_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "floor.db"
    seed_floor(str(db))
    env = {"WATCHFLOOR_AUDIT_SIGNING_KEY": SIGNING_KEY, "WATCHFLOOR_AUDIT_ORIGIN": ORIGIN, "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), "jobs", "run", "--once"],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "signed checkpoint at 4 events" in done.stderr  # sweep, basis, purge, checkpoint
