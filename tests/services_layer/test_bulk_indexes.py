"""A large bulk import into SQLite goes without the posts' query-only indexes and builds them again at
its end, however it ends; a store opened after an import died builds what is missing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.people import make_basis
from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.query.parser import parse_query
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.store import bulk_indexes
from watchfloor.store.engine import open_store
from watchfloor.wiring import build_context

ANA = Actor(name="ana", roles=frozenset({"analyst"}))


@contextmanager
def _opened(db: Path) -> Iterator[ServiceContext]:
    ctx = build_context(
        Settings(database_url=str(db)), clock=FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    )
    try:
        make_basis(ctx)
        yield ctx
    finally:
        ctx.store.close()


def _csv(path: Path, first: int, count: int) -> Path:
    rows = [
        json.dumps(str(n)) + f',"acct{n % 7}","2012-10-{1 + n % 28:02d}T20:00:00Z","post {n} about the river"'
        for n in range(first, first + count)
    ]
    path.write_text("id,author,created_at,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _present(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    return names & set(bulk_indexes.DEFERRABLE)


def _import(
    ctx: ServiceContext, path: Path, db: Path, *, bulk: bool = True, then: Callable[[], None] | None = None
) -> list[set[str]]:
    """Import ``path``; returns the deferrable indexes present after each batch (``then`` runs next)."""
    seen: list[set[str]] = []

    def after_batch(_run: object) -> None:
        seen.append(_present(db))
        if then is not None:
            then()

    report = import_file(
        ctx,
        actor=ANA,
        path=path,
        format_name="csv",
        options=MapOptions(platform="twitter"),
        progress=after_batch,
        bulk=bulk,
    )
    assert report.run.quarantined == 0
    return seen


def _found_ids(ctx: ServiceContext, query: str) -> list[str]:
    with ctx.store.snapshot() as view:
        found = view.search(parse_query(query), sort="newest", limit=1000)
    return sorted(p.post.native_id for p in found)


def test_a_large_bulk_import_drops_the_query_indexes_and_builds_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_indexes, "MIN_POSTS", 100)
    db = tmp_path / "t.db"
    with _opened(db) as ctx:
        during = _import(ctx, _csv(tmp_path / "posts.csv", 1, 300), db)
        after = _present(db)
        bulk_found = _found_ids(ctx, "from:acct3 river since:2012-10-10")
    assert during == [set()]  # the batch was stored without them
    assert after == set(bulk_indexes.DEFERRABLE)  # and the import ended with every one built again
    paced_db = tmp_path / "paced.db"
    with _opened(paced_db) as paced:
        assert _import(paced, _csv(tmp_path / "posts.csv", 1, 300), paced_db, bulk=False)[0] == after
        assert _found_ids(paced, "from:acct3 river since:2012-10-10") == bulk_found != []  # the same answers


def test_a_bulk_import_smaller_than_the_store_keeps_the_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_indexes, "MIN_POSTS", 100)
    db = tmp_path / "t.db"
    with _opened(db) as ctx:
        _import(ctx, _csv(tmp_path / "first.csv", 1, 300), db)
        # 200 posts into a store of 300: rebuilding would read more posts than keeping them costs.
        assert _import(ctx, _csv(tmp_path / "second.csv", 1000, 200), db) == [set(bulk_indexes.DEFERRABLE)]
    # Too few to be worth it, however empty the store.
    monkeypatch.setattr(bulk_indexes, "MIN_POSTS", 10_000)
    fresh_db = tmp_path / "fresh.db"
    with _opened(fresh_db) as fresh:
        assert _import(fresh, _csv(tmp_path / "third.csv", 1, 300), fresh_db) == [
            set(bulk_indexes.DEFERRABLE)
        ]


def test_an_import_that_fails_midway_still_builds_the_indexes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_indexes, "MIN_POSTS", 100)
    db = tmp_path / "t.db"
    seen: list[set[str]] = []

    def interrupt() -> None:  # the analyst presses Ctrl-C after the first batch
        seen.append(_present(db))
        raise KeyboardInterrupt

    with _opened(db) as ctx, pytest.raises(KeyboardInterrupt):
        _import(ctx, _csv(tmp_path / "posts.csv", 1, 300), db, then=interrupt)
    assert seen == [set()]
    assert _present(db) == set(bulk_indexes.DEFERRABLE)


def test_a_store_opened_after_an_import_died_builds_the_missing_indexes(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    open_store(str(db)).close()
    with sqlite3.connect(db) as conn:  # what a killed bulk import leaves
        for name in bulk_indexes.DEFERRABLE[:3]:
            conn.execute(f"DROP INDEX {name}")
    assert _present(db) == set(bulk_indexes.DEFERRABLE[3:])
    open_store(str(db)).close()
    assert _present(db) == set(bulk_indexes.DEFERRABLE)


@pytest.mark.postgres
def test_postgresql_keeps_its_indexes_during_a_bulk_import() -> None:
    with scratch_postgres_database() as url:
        store = open_store(url)
        try:
            with store.post_indexes_deferred(expected_posts=10_000_000) as deferring:
                assert not deferring
        finally:
            store.close()
