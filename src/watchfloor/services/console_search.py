"""The console's search page in one call: a page of results with highlights, the total, facets and
the volume per day, under a legal basis, recorded as one ``posts.search`` event.

The page needs several reads (results, count, facets) that must agree and must be audited once, so
they share one read-only snapshot, and the checks and the event one short write transaction after it.
Facets and the per-day volume are counted over the newest :data:`FACET_SCAN` matches only (the page
says so when there are more), which keeps a broad query on a large store fast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.oversight import LegalBasis
from watchfloor.query.evaluate import Document, match_spans
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.services.search import MAX_LIMIT, parse_search
from watchfloor.services.watch_checks import check_profile_views
from watchfloor.store.ports import SearchFacets, StoredPost

__all__ = ["FACET_SCAN", "FACET_TOP", "Hit", "SearchPage", "search_page"]

# Matches the facets and the volume chart are counted over (the newest ones). Each counted match is an
# index probe per facet table: on SQLite 10,000 took about half of a broad search's 60-90 ms page, and
# a shift's searches are mostly about what is happening now. Narrow with since:/until: for older days.
FACET_SCAN = 2_000
FACET_TOP = 10  # values shown per facet


@dataclass(frozen=True)
class Hit:
    """One result: the stored post and the character spans of ``searchable_text()`` that matched."""

    item: StoredPost
    spans: list[tuple[int, int]]


@dataclass(frozen=True)
class SearchPage:
    """What the search page shows."""

    query: str
    basis: LegalBasis
    hits: list[Hit]
    total: int
    limit: int
    offset: int
    facets: SearchFacets

    @property
    def facets_partial(self) -> bool:
        """Whether the facets cover only the newest :data:`FACET_SCAN` of the matches."""
        return self.total > self.facets.scanned


def search_page(
    ctx: ServiceContext,
    *,
    actor: Actor,
    query: str,
    basis_id: int | None,
    session_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SearchPage:
    """Results (newest first), total, facets and per-day volume of ``query`` under ``basis_id``.

    The same checks as :func:`watchfloor.services.search.search_posts`: a legal basis in force, and the
    repeated-viewing rule for ``from:`` searches; the event has the same details plus ``total`` and
    ``facets_scanned``.
    """
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    details: dict[str, DetailValue] = {"query": query, "sort": "newest", "limit": limit, "offset": offset}
    with refusals_recorded(ctx, actor=actor, action="posts.search", details=details, basis_id=basis_id):
        authorize(actor, "posts.search")
        parsed = parse_search(query)
        # The reads run in a read-only snapshot, not in the write transaction: a broad search's count
        # and facets take tens to hundreds of milliseconds, and on SQLite every other analyst's page
        # (each writes its audit event) would queue behind them for the single writer. Nothing is
        # returned until the checks and the event commit in the short write transaction below; the
        # basis is checked first here too, so no search runs without one.
        with ctx.store.snapshot() as view:
            require_basis(view, basis_id, now=ctx.clock.now(), doing="a search")
            found = view.search(parsed, limit=limit, sort="newest", offset=offset)
            total = view.count(parsed)
            facets = view.search_facets(parsed, cap=FACET_SCAN, top=FACET_TOP)
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            basis = require_basis(tx, basis_id, now=now, doing="a search")
            session = session_key or f"call-{uuid.uuid4()}"
            check_profile_views(tx, actor, parsed, session, now, ctx.settings)
            objects, digest = object_refs("post", [item.id for item in found])
            record(
                tx,
                actor=actor,
                action="posts.search",
                at=now,
                object_ids=objects,
                basis_id=basis_id,
                details={
                    **details,
                    "count": len(found),
                    "total": total,
                    "facets_scanned": facets.scanned,
                    **digest,
                },
            )
    hits = [Hit(item, match_spans(parsed.root, Document.from_post(item.post))) for item in found]
    return SearchPage(
        query=query, basis=basis, hits=hits, total=total, limit=limit, offset=offset, facets=facets
    )
