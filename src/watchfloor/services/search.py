"""Search, count, export and statistics over stored posts."""

from __future__ import annotations

from collections.abc import Iterator

from watchfloor.domain.actor import Actor
from watchfloor.query.ast import Query
from watchfloor.query.parser import parse_query
from watchfloor.services.context import ServiceContext
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
    limit: int = 50,
    sort: SortOrder = "newest",
    offset: int = 0,
) -> list[StoredPost]:
    """The posts matching ``query``, newest first unless asked otherwise."""
    parsed = parse_search(query)
    with ctx.store.transaction() as tx:
        return tx.search(parsed, limit=max(1, min(limit, MAX_LIMIT)), sort=sort, offset=max(0, offset))


def count_posts(ctx: ServiceContext, *, actor: Actor, query: str) -> int:
    """How many stored posts match ``query``."""
    parsed = parse_search(query)
    with ctx.store.transaction() as tx:
        return tx.count(parsed)


def export_posts(
    ctx: ServiceContext, *, actor: Actor, query: str, sort: SortOrder = "newest"
) -> Iterator[StoredPost]:
    """Every post matching ``query``, streamed (the transaction stays open while the caller reads)."""
    parsed = parse_search(query)
    with ctx.store.transaction() as tx:
        yield from tx.iter_search(parsed, sort=sort)


def store_stats(ctx: ServiceContext, *, actor: Actor, top: int = 10) -> StoreStats:
    """Counts of posts, platforms, languages, hashtags and domains."""
    with ctx.store.transaction() as tx:
        return tx.stats(top=top)


def list_quarantine(ctx: ServiceContext, *, actor: Actor, limit: int = 50) -> list[QuarantineEntry]:
    """The most recent records that could not be imported, with where they were and why."""
    with ctx.store.transaction() as tx:
        return tx.list_quarantine(limit=limit)
