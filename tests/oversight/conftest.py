"""A service context on a real store (SQLite and PostgreSQL) with a frozen clock, plus post helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.people import ANA, make_basis
from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditEvent
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.wiring import build_context

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    clock = FrozenClock(NOW)
    if request.param == "sqlite":
        context = build_context(Settings(database_url=str(tmp_path / "t.db"), batch_size=50), clock=clock)
        make_basis(context)
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(Settings(database_url=url, batch_size=50), clock=clock)
        make_basis(context)
        yield context
        context.store.close()


class Posts:
    """Writes small generic CSV files of (author, text) posts with fresh ids, and imports them."""

    def __init__(self, ctx: ServiceContext, folder: Path) -> None:
        self.ctx = ctx
        self.folder = folder
        self.next_id = 1

    def add(self, *rows: tuple[str, str], platform: str = "twitter", actor: Actor = ANA) -> int:
        """Import one post per (author, text) row; return the number of alerts raised."""
        lines = ["id,author,created_at,text"]
        for author, text in rows:
            cells = (str(self.next_id), author, "2026-11-29T10:00:00Z", text)
            lines.append(",".join(json.dumps(c) for c in cells))
            self.next_id += 1
        path = self.folder / f"batch{self.next_id}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = import_file(
            self.ctx, actor=actor, path=path, format_name="csv", options=MapOptions(platform=platform)
        )
        return report.alerts_raised


@pytest.fixture
def posts(ctx: ServiceContext, tmp_path: Path) -> Posts:
    return Posts(ctx, tmp_path)


def events(ctx: ServiceContext, action: str) -> list[AuditEvent]:
    """The audit events of one action, newest first."""
    with ctx.store.transaction() as tx:
        return tx.audit_events(action=action, limit=100)
