"""PostgreSQL: posts partitioned by collection month (migration 0009, store.postgres.partitions).

Posts land in their month's partition (or the default one when no month was prepared), the natural key
stays unique across partitions, a month created late takes its rows out of the default partition,
retention drops empty expired months and keeps a held one, and a purged post can be stored again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from tests.services import scratch_postgres_database
from tests.store.helpers import make_post, prepared
from watchfloor.store.engine import SqlStore, open_store
from watchfloor.store.postgres.partitions import (
    drop_expired_partitions,
    ensure_partitions,
    existing_partitions,
    month_of,
)

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@pytest.fixture
def store(pg_store: SqlStore) -> SqlStore:
    return pg_store


def _where(store: SqlStore) -> dict[str, str]:
    """native id -> the partition table its row is in."""
    with store.engine.connect() as conn:
        found = conn.execute(text("SELECT native_id, tableoid::regclass::text FROM posts")).all()
    return {str(native): str(table) for native, table in found}


def _store(store: SqlStore, native: str, collected: datetime, body: str = "flood warning") -> int:
    with store.transaction() as tx:
        return tx.write_posts(
            [prepared(make_post(native, body, collected_at=collected))], import_id=None
        ).inserted


def test_month_bounds() -> None:
    part = month_of(_us(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)))
    assert part.name == "posts_2026_12"
    assert part.start_us == _us(datetime(2026, 12, 1, tzinfo=UTC))
    assert part.end_us == _us(datetime(2027, 1, 1, tzinfo=UTC))


def test_opening_prepares_this_month_and_the_next(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        now = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        names = [p.name for p in existing_partitions(conn)]
    assert month_of(_us(now)).name in names
    assert len(names) >= 3


def test_posts_land_in_their_month_and_stray_ones_in_the_default(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        ensure_partitions(conn, now_us=_us(NOW))
    assert _store(store, "nov", NOW) == 1
    assert _store(store, "old", datetime(2013, 7, 1, tzinfo=UTC)) == 1
    assert _where(store) == {"nov": "posts_2026_11", "old": "posts_default"}


def test_the_natural_key_is_unique_across_months(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        ensure_partitions(conn, now_us=_us(NOW))
    assert _store(store, "same", NOW) == 1
    assert _store(store, "same", datetime(2026, 12, 5, tzinfo=UTC)) == 0  # collected again a month later
    assert _store(store, "same", datetime(2013, 7, 1, tzinfo=UTC)) == 0  # and in a month not prepared
    assert list(_where(store).values()) == ["posts_2026_11"]


def test_a_late_month_takes_its_rows_out_of_the_default_partition(store: SqlStore) -> None:
    assert _store(store, "a", datetime(2013, 7, 1, tzinfo=UTC)) == 1
    assert _store(store, "b", datetime(2013, 7, 20, tzinfo=UTC)) == 1
    assert _store(store, "c", datetime(2013, 8, 2, tzinfo=UTC)) == 1
    with store.engine.begin() as conn:
        created = ensure_partitions(conn, extra=[_us(datetime(2013, 7, 9, tzinfo=UTC))])
    assert "posts_2013_07" in created
    assert _where(store) == {"a": "posts_2013_07", "b": "posts_2013_07", "c": "posts_default"}
    with store.snapshot() as tx:  # still found by key and by id
        assert {item.post.native_id for item in tx.posts_by_keys([("twitter", "a"), ("twitter", "c")])} == {
            "a",
            "c",
        }


def test_only_empty_months_wholly_before_the_cutoff_are_dropped(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        ensure_partitions(
            conn,
            extra=[
                _us(datetime(2026, 7, 3, tzinfo=UTC)),
                _us(datetime(2026, 8, 3, tzinfo=UTC)),
                _us(datetime(2026, 10, 3, tzinfo=UTC)),
            ],
        )
    assert _store(store, "kept", datetime(2026, 8, 3, tzinfo=UTC)) == 1
    with store.engine.begin() as conn:
        dropped = drop_expired_partitions(conn, before_us=_us(datetime(2026, 10, 15, tzinfo=UTC)))
        names = [p.name for p in existing_partitions(conn)]
    assert "posts_2026_07" in dropped  # empty and over
    assert "posts_2026_08" in names  # still holds a post
    assert "posts_2026_10" in names  # not wholly before the cutoff


def test_a_purged_post_can_be_stored_again(store: SqlStore) -> None:
    assert _store(store, "gone", datetime(2013, 7, 1, tzinfo=UTC)) == 1
    with store.transaction() as tx:
        counts = tx.purge_expired(
            unmatched_before=datetime(2014, 1, 1, tzinfo=UTC),
            alerts_before=datetime(2014, 1, 1, tzinfo=UTC),
            cases_closed_before=datetime(2014, 1, 1, tzinfo=UTC),
        )
    assert counts.posts_unmatched == 1
    assert _where(store) == {}
    assert _store(store, "gone", datetime(2013, 7, 1, tzinfo=UTC)) == 1  # its key went with it


def test_migration_moves_existing_posts_into_partitions() -> None:
    from alembic import command
    from alembic.config import Config

    from watchfloor.store.engine import _MIGRATIONS

    with scratch_postgres_database(migrated=False) as url:
        engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0008")
        with engine.begin() as conn:
            for native, collected in (("x", datetime(2025, 3, 4, tzinfo=UTC)), ("y", NOW)):
                conn.execute(
                    text(
                        "INSERT INTO posts (platform, native_id, created_us, collected_us, has_media, "
                        "has_links, has_geo, is_reply, is_repost, is_quote, doc) "
                        "VALUES ('twitter', :n, :c, :c, false, false, false, false, false, false, '\\x7b7d')"
                    ),
                    {"n": native, "c": _us(collected)},
                )
        engine.dispose()
        store = open_store(url)
        try:
            assert _where(store) == {"x": "posts_2025_03", "y": "posts_2026_11"}
            with store.engine.connect() as conn:
                keys = (
                    conn.execute(text("SELECT native_id FROM post_keys ORDER BY native_id")).scalars().all()
                )
            assert keys == ["x", "y"]
            assert _store(store, "x", NOW) == 0  # still a duplicate after the migration
        finally:
            store.close()


def test_unsafe_durability_settings_are_refused() -> None:
    from watchfloor.domain.errors import StoreError
    from watchfloor.store.engine import unsafe_settings

    assert unsafe_settings({"fsync": "off", "synchronous_commit": "on", "full_page_writes": "on"}) == [
        "fsync is off"
    ]
    assert unsafe_settings({"fsync": "on", "synchronous_commit": "local", "full_page_writes": "on"}) == []
    with scratch_postgres_database() as url:
        database = url.rsplit("/", 1)[1]
        engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1], isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" SET synchronous_commit = off'))
        engine.dispose()
        with pytest.raises(StoreError, match="synchronous_commit is off"):
            open_store(url)
