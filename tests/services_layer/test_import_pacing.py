"""Imports size their batches by time on SQLite (console pages wait at most about one batch), and use
fixed batches on PostgreSQL, which has no single writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.people import make_basis
from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import BULK_BATCH_SIZE, BatchPacer, import_file, pacer_for
from watchfloor.wiring import build_context

ANA = Actor(name="ana", roles=frozenset({"analyst"}))


def test_the_pacer_sizes_batches_from_the_time_per_post_within_bounds() -> None:
    pacer = BatchPacer(most=1000, hold_seconds=0.1)
    assert pacer.size == BatchPacer.FIRST  # nothing timed yet: a modest first batch
    pacer.held(250, 0.05)  # 0.2 ms a post: 500 fit in 100 ms; halfway there
    assert pacer.size == 375
    for _ in range(10):
        pacer.held(pacer.size, pacer.size * 0.0002)
    assert 490 <= pacer.size <= 500
    pacer.held(pacer.size, pacer.size * 0.01)  # a slow moment: 10 ms a post
    assert pacer.size < 260
    for _ in range(10):
        pacer.held(pacer.size, pacer.size * 0.01)
    assert pacer.size == BatchPacer.FEWEST  # never below
    for _ in range(20):
        pacer.held(pacer.size, pacer.size * 0.00001)
    assert pacer.size == 1000  # never above batch_size
    fixed = BatchPacer(most=1000, hold_seconds=0)
    fixed.held(1000, 5.0)
    assert fixed.size == 1000


def test_a_bulk_import_uses_large_fixed_batches_whatever_they_take(tmp_path: Path) -> None:
    ctx = _context(str(tmp_path / "t.db"))
    try:
        bulk = pacer_for(ctx, bulk=True)
        bulk.held(BULK_BATCH_SIZE, 60.0)  # a minute per batch does not shrink it
        assert bulk.size == BULK_BATCH_SIZE
        assert pacer_for(ctx).size == BatchPacer.FIRST  # without bulk: time-bounded as before
        larger = build_context(Settings(database_url=str(tmp_path / "t.db"), batch_size=50_000))
        try:
            assert pacer_for(larger, bulk=True).size == 50_000  # a larger batch_size wins
        finally:
            larger.store.close()
    finally:
        ctx.store.close()


def _context(database_url: str) -> ServiceContext:
    # 1 ms per transaction: every batch after the first is as small as the pacer allows.
    settings = Settings(database_url=database_url, batch_size=1000, import_write_ms=1)
    ctx = build_context(settings, clock=FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)))
    make_basis(ctx)
    return ctx


def _batches(ctx: ServiceContext, tmp_path: Path) -> list[int]:
    path = tmp_path / "posts.csv"
    rows = [
        json.dumps(str(n)) + f',"acct{n}","2012-10-29T20:00:00Z","post number {n} about the river"'
        for n in range(1, 401)
    ]
    path.write_text("id,author,created_at,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = import_file(ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    assert report.run.inserted == 400  # every post stored, however it was batched
    with ctx.store.snapshot() as view:
        events = view.audit_events(limit=100)
    return [e.details["records"] for e in reversed(events) if e.action == "posts.import_batch"]


def test_sqlite_imports_shrink_their_batches_when_transactions_take_long(tmp_path: Path) -> None:
    ctx = _context(str(tmp_path / "t.db"))
    try:
        sizes = _batches(ctx, tmp_path)
    finally:
        ctx.store.close()
    assert sizes[0] == BatchPacer.FIRST and sum(sizes) == 400
    assert len(sizes) > 2 and max(sizes[1:]) < BatchPacer.FIRST


@pytest.mark.postgres
def test_postgresql_imports_keep_their_batch_size(tmp_path: Path) -> None:
    with scratch_postgres_database() as url:
        ctx = _context(url)
        try:
            assert _batches(ctx, tmp_path) == [400]
        finally:
            ctx.store.close()
