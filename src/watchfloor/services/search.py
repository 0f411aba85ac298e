"""Search, count and statistics over stored posts, each recorded in the audit log.

Exports are not here: nothing leaves without review (services/dissemination.py).

Each call records one event in its own transaction: the analyst's query, sort and limits, and which
posts came back (their ids, or a count and a digest of the ids for large results), never post text.
"""

from __future__ import annotations

import uuid

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.query.ast import Query
from watchfloor.query.parser import parse_query
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import (
    object_refs,
    record,
    refusals_recorded,
)
from watchfloor.services.watch_checks import check_profile_views
from watchfloor.store.ports import QuarantineEntry, SortOrder, StoredPost, StoreStats, StoreTx

MAX_LIMIT = 10_000


def _views(tx: StoreTx, ctx: ServiceContext, actor: Actor, query: Query, session_key: str | None) -> None:
    session = session_key or f"call-{uuid.uuid4()}"
    check_profile_views(tx, actor, query, session, ctx.clock.now(), ctx.settings)


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
    session_key: str | None = None,
) -> list[StoredPost]:
    """The posts matching ``query``, newest first unless asked otherwise, under legal basis ``basis_id``.

    A query naming an account (``from:handle``) is a look at that person's posts: past the
    repeated-viewing threshold it needs a watch in force (:func:`check_profile_views`). ``session_key``
    says which console session or CLI run this is; without one, every call counts as a session.
    """
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    details: dict[str, DetailValue] = {"query": query, "sort": sort, "limit": limit, "offset": offset}
    with refusals_recorded(ctx, actor=actor, action="posts.search", details=details, basis_id=basis_id):
        authorize(actor, "posts.search")
        parsed = parse_search(query)
        with ctx.store.transaction() as tx:
            require_basis(tx, basis_id, now=ctx.clock.now(), doing="a search")
            _views(tx, ctx, actor, parsed, session_key)
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


def count_posts(
    ctx: ServiceContext, *, actor: Actor, query: str, basis_id: int | None, session_key: str | None = None
) -> int:
    """How many stored posts match ``query`` (a search: it needs a legal basis, and counts as a look)."""
    with refusals_recorded(
        ctx, actor=actor, action="posts.count", details={"query": query}, basis_id=basis_id
    ):
        authorize(actor, "posts.count")
        parsed = parse_search(query)
        with ctx.store.transaction() as tx:
            require_basis(tx, basis_id, now=ctx.clock.now(), doing="a search")
            _views(tx, ctx, actor, parsed, session_key)
            count = tx.count(parsed)
            details: dict[str, DetailValue] = {"query": query, "count": count}
            record(
                tx, actor=actor, action="posts.count", at=ctx.clock.now(), basis_id=basis_id, details=details
            )
        return count


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
