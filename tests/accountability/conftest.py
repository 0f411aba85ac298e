"""A service context with a signing key on a real store (SQLite and PostgreSQL), and helpers to fill it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.services import scratch_postgres_database
from watchfloor.accountability.auditlog import record, refs
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_context

ORIGIN = "test.example/audit"
SIGNING_KEY = base64.b64encode(bytes(range(32))).decode("ascii")
AUDITOR = Actor(name="auditor", roles=frozenset({"auditor", "admin"}))  # reads the log and signs


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        audit_signing_key=SIGNING_KEY,  # type: ignore[arg-type]
        audit_origin=ORIGIN,
        audit_checkpoint_file=str(tmp_path / "signer.checkpoint"),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    if request.param == "sqlite":
        context = build_context(settings_for(str(tmp_path / "audit.db"), tmp_path), clock=clock)
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(settings_for(url, tmp_path), clock=clock)
        yield context
        context.store.close()


def add_events(ctx: ServiceContext, count: int, *, actor: str = "analyst", start: int = 0) -> None:
    """Record ``count`` varied events in one transaction, as busy services would."""
    actions = ("posts.search", "posts.view", "alerts.claim", "rules.edit", "exports.create")
    with ctx.store.transaction() as tx:
        for n in range(start, start + count):
            record(
                tx,
                actor=f"{actor}{n % 3}",
                action=actions[n % len(actions)],
                at=ctx.clock.now(),
                object_ids=refs("post", (n, n + 1)),
                basis_id=n % 4 or None,
                purpose=f"case {n // 7}",
                details={"query": f"flood #{n}", "count": n},
            )
