"""A post's stored replies: found by index on both stores, also for posts stored before migration 0011."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.services import scratch_postgres_database
from tests.store.helpers import make_post, prepared
from watchfloor.store.engine import SqlStore, open_store

ROOT = "at://did:plc:a/app.bsky.feed.post/root"


def _thread(store: SqlStore) -> None:
    """A root on Bluesky, two direct replies, a reply to a reply (whose parent is not stored), and on
    another platform a post that names the same native id (not a reply in this thread)."""
    posts = [
        make_post(ROOT, "the root", platform="bluesky", day=1),
        make_post("r1", "first reply", platform="bluesky", day=2, reply_to=ROOT, reply_root=ROOT),
        make_post("r2", "second reply", platform="bluesky", day=3, reply_to=ROOT, reply_root=ROOT),
        make_post("r3", "deep reply", platform="bluesky", day=4, reply_to="missing", reply_root=ROOT),
        make_post("r4", "reply to r1", platform="bluesky", day=5, reply_to="r1", reply_root=ROOT),
        make_post("m1", "same id elsewhere", platform="mastodon", day=2, reply_to=ROOT),
        make_post("x", "not a reply", platform="bluesky", day=2),
    ]
    with store.transaction() as tx:
        tx.write_posts([prepared(p) for p in posts], import_id=None)


def _replies(store: SqlStore, platform: str, native_id: str, limit: int = 20) -> list[str]:
    with store.snapshot() as view:
        return [s.post.native_id for s in view.reply_posts(platform, native_id, limit=limit)]


def test_replies_are_direct_and_in_thread_oldest_first_on_the_same_platform(store: SqlStore) -> None:
    _thread(store)
    assert _replies(store, "bluesky", ROOT) == ["r1", "r2", "r3", "r4"]
    assert _replies(store, "bluesky", "r1") == ["r4"]
    assert _replies(store, "bluesky", ROOT, limit=2) == ["r1", "r2"]
    assert _replies(store, "mastodon", ROOT) == ["m1"]
    assert _replies(store, "bluesky", "x") == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "replies.db")
        return
    with scratch_postgres_database() as url:
        yield url


def test_migration_0011_finds_the_replies_of_posts_stored_before_it(store_url: str) -> None:
    store = open_store(store_url)
    try:
        _thread(store)
        with store.engine.begin() as conn:  # as a store at 0010 had them: no reply terms
            conn.execute(text("DELETE FROM post_terms WHERE kind = 'reply'"))
            conn.execute(text("UPDATE alembic_version SET version_num = '0010'"))
        assert _replies(store, "bluesky", ROOT) == []
    finally:
        store.close()
    store = open_store(store_url)  # migrates to the head again
    try:
        assert _replies(store, "bluesky", ROOT) == ["r1", "r2", "r3", "r4"]
        assert _replies(store, "bluesky", "r1") == ["r4"]
        assert _replies(store, "mastodon", ROOT) == ["m1"]
    finally:
        store.close()
