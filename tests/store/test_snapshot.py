"""Read-only snapshots: a consistent view that never holds the write lock, so writers never wait."""

from __future__ import annotations

from datetime import UTC, datetime

from watchfloor.store.engine import SqlStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _add_basis(store: SqlStore, title: str) -> None:
    with store.transaction() as tx:
        tx.create_basis(
            title=title,
            authority="a",
            purpose="p",
            necessity="n",
            owner="o",
            review_at=None,
            expires_at=None,
            created_by="o",
            at=NOW,
        )


def test_a_writer_commits_while_a_snapshot_is_open_and_the_snapshot_keeps_its_view(store: SqlStore) -> None:
    _add_basis(store, "first")
    with store.snapshot() as view:
        assert [b.title for b in view.list_bases()] == ["first"]
        _add_basis(store, "second")  # would wait (and time out) if the snapshot held the write lock
        assert [b.title for b in view.list_bases()] in (["first"], ["first", "second"])
    with store.snapshot() as view:
        assert [b.title for b in view.list_bases()] == ["first", "second"]
