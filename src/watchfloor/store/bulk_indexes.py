"""Bulk loads into SQLite without the posts' query-only indexes, rebuilt once at the end.

Every batch an import commits rewrites each index page its posts touched. The indexes on author,
cluster and creation time are keyed all over the place, so a 20,000-post batch dirties most of their
pages, and the next batch dirties them again. An import never reads them (it looks posts up by natural
key, content key and band key, which stay), only searches, console pages and retention do. So a
large bulk import drops them first and builds them again, sorted, in one pass at the end: measured on
400,000 IRA tweets replayed into SQLite with the rows prebuilt, SQLite's own work fell from 70-76 to
54-55 µs a post, and the rebuild cost 5.5 µs a post (benchmarks/README.md).

A rebuild reads every post, so it only pays when the import brings a good share of what the store
will then hold: :func:`worth_deferring` says when. If the process dies before the rebuild, the next
:func:`restore` (every SQLite store runs it when it is opened) builds whatever is missing.
PostgreSQL keeps its indexes: its posts are partitioned by month, and other writers may be at work.
Migrations run before that repair, so one that alters these indexes must allow for their absence
(``IF EXISTS``, or build them first with :func:`restore`).
"""

from __future__ import annotations

from sqlalchemy import Connection, Index, func, select, text

from watchfloor.store.schema import post_terms, posts

DEFERRABLE = (
    "ix_posts_author_key",
    "ix_posts_author_id",
    "ix_posts_cluster",
    "ix_posts_created",
    "ix_post_terms_post",
)
"""Indexes no import reads: dropped for a large bulk import, rebuilt when it ends."""

MIN_POSTS = 40_000
"""Below this many expected posts an import is short enough that the indexes are not worth dropping."""


def _indexes() -> list[Index]:
    by_name = {str(index.name): index for table in (posts, post_terms) for index in table.indexes}
    return [by_name[name] for name in DEFERRABLE]


def worth_deferring(conn: Connection, expected_posts: int) -> bool:
    """Whether an import of about ``expected_posts`` should drop the deferrable indexes.

    Building them again reads every post in the store; keeping them costs each imported post about
    three times what the rebuild costs a stored post (see the module docstring). So drop them when the
    import is expected to bring at least as many posts as the store holds already.
    """
    if expected_posts < MIN_POSTS:
        return False
    held = conn.execute(select(func.count()).select_from(posts)).scalar_one()
    return expected_posts >= held


def drop(conn: Connection) -> None:
    """Drop the deferrable indexes."""
    for name in DEFERRABLE:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def missing(conn: Connection) -> list[str]:
    """The deferrable indexes the database lacks (a bulk import in progress, or one that died)."""
    placeholders = ", ".join(f"'{name}'" for name in DEFERRABLE)
    present = {
        row[0]
        for row in conn.execute(
            text(f"SELECT name FROM sqlite_schema WHERE type = 'index' AND name IN ({placeholders})")
        )
    }
    return [name for name in DEFERRABLE if name not in present]


def restore(conn: Connection) -> None:
    """Build the deferrable indexes the database lacks."""
    absent = set(missing(conn))
    for index in _indexes():
        if index.name in absent:
            index.create(conn)
