"""A service context on a real store (SQLite and PostgreSQL) with a frozen clock, and a legal basis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_context

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
BEA = Actor(name="bea", roles=frozenset({"analyst"}))
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
SUE = Actor(name="sue", roles=frozenset({"supervisor"}))
AUD = Actor(name="audrey", roles=frozenset({"auditor"}))
REV = Actor(name="rita", roles=frozenset({"reviewer"}))

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    clock = FrozenClock(START)
    if request.param == "sqlite":
        context = build_context(Settings(database_url=str(tmp_path / "t.db"), batch_size=50), clock=clock)
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(Settings(database_url=url, batch_size=50), clock=clock)
        yield context
        context.store.close()


def clock_of(ctx: ServiceContext) -> FrozenClock:
    assert isinstance(ctx.clock, FrozenClock)
    return ctx.clock


def conn_of(tx: Any) -> Any:
    """The SQLAlchemy connection under a store transaction (tests may write rows directly)."""
    return tx.conn


def make_basis(ctx: ServiceContext, title: str = "Protecting public events") -> int:
    with ctx.store.transaction() as tx:
        basis = tx.create_basis(
            title=title,
            authority="Public Safety Act s.12",
            purpose="Threats to life at public events",
            necessity="Only public posts matching standing rules",
            owner="sam",
            review_at=None,
            expires_at=None,
            created_by="sam",
            at=ctx.clock.now(),
        )
    return basis.id


@pytest.fixture
def basis(ctx: ServiceContext) -> int:
    return make_basis(ctx)
