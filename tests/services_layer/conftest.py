"""A service context on a real store (SQLite and PostgreSQL) with a frozen clock; imports write fixed
batches of 50 posts (not sized by time: the audit tests count batches)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.people import make_basis
from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_context


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    if request.param == "sqlite":
        settings = Settings(database_url=str(tmp_path / "t.db"), batch_size=50, import_write_ms=0)
        context = build_context(settings, clock=clock)
        make_basis(context)
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(Settings(database_url=url, batch_size=50, import_write_ms=0), clock=clock)
        make_basis(context)
        yield context
        context.store.close()
