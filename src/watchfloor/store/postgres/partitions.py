"""PostgreSQL: ``posts`` partitioned by collection month (native range partitioning on ``collected_us``).

Why collection time: retention purges posts by when they were collected, so an expired month is one
partition, and the number of live partitions stays bounded by the retention period. Searches that name
a time (``since:``/``until:``) still use the ``created_us`` index inside each partition.

- **Layout.** ``posts`` is ``PARTITION BY RANGE (collected_us)``; one partition per UTC month, named
  ``posts_YYYY_MM``, and ``posts_default`` for anything outside the months that exist (a post that
  arrives in a month nobody prepared is stored there, never refused).
- **Natural key.** A unique key on a partitioned table must contain the partition key, so
  ``(platform, native_id)`` is kept unique in ``post_keys`` (not partitioned), which is written first in
  the same transaction: a second copy of a post never reaches ``posts``.
- **Making partitions.** :func:`ensure_partitions` creates the current month and the next
  :data:`MONTHS_AHEAD` when a store opens and when retention runs. A month that already has rows in the
  default partition (a runner that ran for months without either) gets them moved in the same
  transaction. One advisory lock serialises this between processes.
- **Retention.** After a purge, :func:`drop_expired_partitions` drops month partitions that lie wholly
  before the cutoff and hold no rows (what a legal hold kept is still there, so its month stays).

All DDL here takes a lock on ``posts`` until its transaction ends, so it runs in short transactions of
its own (store start-up) or at the end of the retention job, never inside an ingest batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

MONTHS_AHEAD = 2  # months prepared beyond the current one
_LOCK_KEY = 0x77665F70617274  # "wf_part": serialises partition DDL between processes
_NAME = re.compile(r"^posts_(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class Partition:
    """One month partition of ``posts``: its table name and ``[start_us, end_us)`` collection range."""

    name: str
    start_us: int
    end_us: int


def month_of(us: int) -> Partition:
    """The month partition a collection time (µs since the epoch, UTC) belongs to."""
    moment = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    return _month(moment.year, moment.month)


def _month(year: int, month: int) -> Partition:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Partition(f"posts_{year:04d}_{month:02d}", _micros(start), _micros(end))


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def months_from(first: Partition, count: int) -> list[Partition]:
    """``count`` consecutive month partitions starting with ``first``."""
    found = [first]
    while len(found) < count:
        found.append(month_of(found[-1].end_us))
    return found


def existing_partitions(conn: Connection) -> list[Partition]:
    """The month partitions of ``posts`` that exist, oldest first (the default partition left out)."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'posts'::regclass"
    ).scalars()
    months = []
    for name in names:
        match = _NAME.match(str(name))
        if match:
            months.append(_month(int(match.group(1)), int(match.group(2))))
    return sorted(months, key=lambda p: p.start_us)


def database_now_us(conn: Connection) -> int:
    """The database server's clock (one clock for every worker), in µs since the epoch."""
    value = conn.exec_driver_sql("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint").scalar()
    return int(value or 0)


def ensure_partitions(
    conn: Connection, *, now_us: int | None = None, extra: list[int] | None = None
) -> list[str]:
    """Create the current month's partition, the next :data:`MONTHS_AHEAD`, and those of ``extra`` times.

    Rows already in the default partition for a month being created are moved into it. Returns the
    names created. Call in a transaction of its own (it locks ``posts`` until that commits).
    """
    now = database_now_us(conn) if now_us is None else now_us
    wanted = {p.name: p for p in months_from(month_of(now), MONTHS_AHEAD + 1)}
    for us in extra or []:
        part = month_of(us)
        wanted.setdefault(part.name, part)
    have = {p.name for p in existing_partitions(conn)}
    missing = [p for name, p in sorted(wanted.items()) if name not in have]
    if not missing:
        return []
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    have = {p.name for p in existing_partitions(conn)}  # another process may have made them meanwhile
    created = []
    for part in missing:
        if part.name not in have:
            _create(conn, part)
            created.append(part.name)
    return created


def _create(conn: Connection, part: Partition) -> None:
    """Create one month partition, first moving any rows of that month out of the default partition."""
    bounds = f"collected_us >= {part.start_us} AND collected_us < {part.end_us}"
    stray = conn.exec_driver_sql(f"SELECT count(*) FROM posts_default WHERE {bounds}").scalar()
    if not stray:
        conn.exec_driver_sql(
            f"CREATE TABLE {part.name} PARTITION OF posts "
            f"FOR VALUES FROM ({part.start_us}) TO ({part.end_us})"
        )
        return
    # ATTACH refuses a range the default partition has rows in: build the month apart, move its rows
    # over, then attach it (PostgreSQL checks the default partition holds none of the range any more).
    conn.exec_driver_sql(f"CREATE TABLE {part.name} (LIKE posts INCLUDING DEFAULTS)")
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM posts_default WHERE {bounds} RETURNING *) "
        f"INSERT INTO {part.name} SELECT * FROM moved"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE posts ATTACH PARTITION {part.name} FOR VALUES FROM ({part.start_us}) TO ({part.end_us})"
    )


def drop_expired_partitions(conn: Connection, *, before_us: int) -> list[str]:
    """Drop the month partitions wholly before ``before_us`` that hold no rows; return their names."""
    dropped = []
    for part in existing_partitions(conn):
        if part.end_us > before_us:
            break
        if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {part.name})").scalar():
            continue
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        conn.exec_driver_sql(f"DROP TABLE {part.name}")
        dropped.append(part.name)
    return dropped
