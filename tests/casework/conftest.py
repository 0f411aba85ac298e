"""Shared set-up for cases, holds, reviewed exports and retention: actors, a legal basis, posts, alerts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.rules import RuleDraft
from watchfloor.query.parser import parse_query
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule
from watchfloor.store.ports import AlertFilter
from watchfloor.wiring import build_context

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
BO = Actor(name="bo", roles=frozenset({"analyst"}))
RITA = Actor(name="rita", roles=frozenset({"reviewer"}))
SUE = Actor(name="sue", roles=frozenset({"supervisor"}))
ADA = Actor(name="ada", roles=frozenset({"admin"}))
AUDREY = Actor(name="audrey", roles=frozenset({"auditor"}))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context on SQLite and on PostgreSQL, with a clock frozen at 2026-11-30 12:00 UTC."""
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    if request.param == "sqlite":
        context = build_context(Settings(database_url=str(tmp_path / "t.db"), batch_size=50), clock=clock)
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(Settings(database_url=url, batch_size=50), clock=clock)
        yield context
        context.store.close()


def make_basis(ctx: ServiceContext) -> int:
    """A legal basis in force (seeded straight into the store: legal bases have their own tests)."""
    with ctx.store.transaction() as tx:
        basis = tx.create_basis(
            title="Flood response 2026",
            authority="Civil Contingencies Act 2004",
            purpose="find people asking for rescue",
            necessity="public posts only, during the emergency",
            owner="sue",
            review_at=None,
            expires_at=None,
            created_by="sue",
            at=ctx.clock.now(),
        )
    return basis.id


def import_rows(
    ctx: ServiceContext, tmp_path: Path, rows: list[tuple[str, str]], name: str
) -> dict[str, int]:
    """Import (native id, text) rows as Twitter posts collected now; return native id -> store id."""
    path = tmp_path / name
    lines = ["id,author,created_at,text"] + [
        ",".join(json.dumps(c) for c in (native, f"user{native}", "2026-11-01T10:00:00Z", text))
        for native, text in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    with ctx.store.transaction() as tx:
        found = list(tx.iter_search(parse_query("")))
    natives = {native for native, _ in rows}
    return {p.post.native_id: p.id for p in found if p.post.native_id in natives}


def add_flood_rule(ctx: ServiceContext, basis_id: int) -> int:
    draft = RuleDraft(name="Flood", query="flood", severity="high", basis_id=basis_id)
    return add_rule(ctx, actor=ANA, draft=draft).id


def alert_of(ctx: ServiceContext, post_id: int) -> int:
    """The alert a post raised."""
    with ctx.store.transaction() as tx:
        for alert in tx.list_alerts(AlertFilter(), limit=1000):
            if alert.post_id == post_id:
                return alert.id
    raise AssertionError(f"post {post_id} raised no alert")


def stored(ctx: ServiceContext, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` are still stored, deleted by their platform or not (unaudited store read)."""
    with ctx.store.transaction() as tx:
        return {p.id for p in tx.get_posts(list(ids))}
