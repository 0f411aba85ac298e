"""Search, count, export and statistics over stored posts, each recorded in the audit log.

Each call records one event in its own transaction: the analyst's query, sort and limits, and which
posts came back (their ids, or a count and a digest of the ids for large results), never post text.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import WatchfloorError
from watchfloor.query.ast import Query
from watchfloor.query.parser import parse_query
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import (
    failure_details,
    object_refs,
    record,
    record_failure,
    refusals_recorded,
)
from watchfloor.store.ports import QuarantineEntry, SortOrder, StoredPost, StoreStats

MAX_LIMIT = 10_000


def parse_search(text: str) -> Query:
    """Parse a search query (no regular expressions or account lists: those are for rules)."""
    return parse_query(text)


def search_posts(
    ctx: ServiceContext,
    *,
    actor: Actor,
    query: str,
    basis_id: int | None,
    limit: int = 50,
    sort: SortOrder = "newest",
    offset: int = 0,
) -> list[StoredPost]:
    """The posts matching ``query``, newest first unless asked otherwise, under legal basis ``basis_id``."""
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    details: dict[str, DetailValue] = {"query": query, "sort": sort, "limit": limit, "offset": offset}
    with refusals_recorded(ctx, actor=actor, action="posts.search", details=details, basis_id=basis_id):
        authorize(actor, "posts.search")
        parsed = parse_search(query)
        with ctx.store.transaction() as tx:
            require_basis(tx, basis_id, now=ctx.clock.now(), doing="a search")
            found = tx.search(parsed, limit=limit, sort=sort, offset=offset)
            objects, digest = object_refs("post", [item.id for item in found])
            record(
                tx,
                actor=actor,
                action="posts.search",
                at=ctx.clock.now(),
                object_ids=objects,
                basis_id=basis_id,
                details={**details, "count": len(found), **digest},
            )
        return found


def count_posts(ctx: ServiceContext, *, actor: Actor, query: str, basis_id: int | None) -> int:
    """How many stored posts match ``query`` (a search: it needs a legal basis too)."""
    with refusals_recorded(
        ctx, actor=actor, action="posts.count", details={"query": query}, basis_id=basis_id
    ):
        authorize(actor, "posts.count")
        parsed = parse_search(query)
        with ctx.store.transaction() as tx:
            require_basis(tx, basis_id, now=ctx.clock.now(), doing="a search")
            count = tx.count(parsed)
            details: dict[str, DetailValue] = {"query": query, "count": count}
            record(
                tx, actor=actor, action="posts.count", at=ctx.clock.now(), basis_id=basis_id, details=details
            )
        return count


def export_posts(
    ctx: ServiceContext, *, actor: Actor, query: str, sort: SortOrder = "newest"
) -> Iterator[StoredPost]:
    """Every post matching ``query``, streamed (the transaction stays open while the caller reads).

    The ``posts.export`` event is appended in the streaming transaction *before* the first post is
    read, so no post leaves without it (fail closed), and it commits with the transaction when the
    caller has read everything or stops early (closes the generator, or drops it). It therefore cannot
    say how many posts the caller took: leaves are immutable once appended. If the stream fails after
    posts were handed out, that transaction rolls back with its event, and a ``posts.export`` event
    with outcome ``"error"`` and the number handed out is recorded instead.

    Limits: a process killed mid-export never commits, so its event is lost with it. On PostgreSQL the
    audit lock is held from the first post to the last, so other auditing writers wait for the export
    (SQLite already holds its one write lock for the whole transaction).
    """
    details: dict[str, DetailValue] = {"query": query, "sort": sort}
    with refusals_recorded(ctx, actor=actor, action="posts.export", details=details):
        parsed = parse_search(query)
    handed_out = 0
    try:
        with ctx.store.transaction() as tx:
            record(tx, actor=actor, action="posts.export", at=ctx.clock.now(), details=details)
            items = tx.iter_search(parsed, sort=sort)
            try:
                for item in items:
                    handed_out += 1
                    try:
                        yield item
                    except GeneratorExit:
                        break  # the caller stopped: commit the event, read no further
            finally:
                if isinstance(items, Generator):
                    items.close()  # before the commit: no store cursor outlives its transaction
    except WatchfloorError as exc:
        if handed_out:
            failed = failure_details({**details, "handed_out": handed_out}, exc)
            record_failure(ctx, actor=actor, action="posts.export", outcome="error", details=failed)
        raise


def store_stats(ctx: ServiceContext, *, actor: Actor, top: int = 10) -> StoreStats:
    """Counts of posts, platforms, languages, hashtags and domains."""
    with refusals_recorded(ctx, actor=actor, action="posts.stats"), ctx.store.transaction() as tx:
        authorize(actor, "posts.stats")
        stats = tx.stats(top=top)
        details: dict[str, DetailValue] = {"top": top, "posts": stats.posts}
        record(tx, actor=actor, action="posts.stats", at=ctx.clock.now(), details=details)
    return stats


def list_quarantine(ctx: ServiceContext, *, actor: Actor, limit: int = 50) -> list[QuarantineEntry]:
    """The most recent records that could not be imported, with where they were and why."""
    with refusals_recorded(ctx, actor=actor, action="quarantine.list"), ctx.store.transaction() as tx:
        authorize(actor, "quarantine.list")
        entries = tx.list_quarantine(limit=limit)
        objects, digest = object_refs("quarantine", [entry.id for entry in entries])
        record(
            tx,
            actor=actor,
            action="quarantine.list",
            at=ctx.clock.now(),
            object_ids=objects,
            details={"limit": limit, "count": len(entries), **digest},
        )
    return entries
