"""Facets of a search's matches and per-rule alert counts: the console's search and rules pages.

The facets are counted over the posts and terms of the newest ``cap`` matches: their ids come from the
statement search uses, or, when the query needs the exact post-filter (``needs_post_filter``), from
the posts that survived it, read in pages. Capping keeps the page fast on a large store; the page says
so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, func, select

from watchfloor.query.ast import Query
from watchfloor.query.describe import needs_post_filter
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import AccountLists, Facet, RuleOutcome, SearchFacets, SortOrder, StoredPost
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import alerts, posts

_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FACET_TERMS = ("lang", "hashtag", "domain")
_IN_FACET_TERMS = " AND t.kind IN (" + ", ".join(f"'{kind}'" for kind in _FACET_TERMS) + ")"


def _top(counts: Counter[str], top: int) -> list[Facet]:
    """The ``top`` most frequent values, most first, ties in value order."""
    return [Facet(value, n) for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


class SearchConsoleSql:
    """Console aggregates, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    if TYPE_CHECKING:  # provided by SqlTx

        def _select(self, query: Query, sort: SortOrder, lists: AccountLists | None = None) -> Select[Any]:
            raise NotImplementedError

        def iter_search(
            self, query: Query, *, sort: SortOrder = "newest", lists: AccountLists | None = None
        ) -> Iterator[StoredPost]:
            raise NotImplementedError

    def _scope(self, query: Query, cap: int) -> Select[Any] | Sequence[int]:
        """The ids of the newest ``cap`` matches: a statement, or a list when SQL only approximates."""
        if not needs_post_filter(query.root):
            ids = self._select(query, "newest").with_only_columns(posts.c.id).limit(cap).subquery()
            return select(ids.c.id)
        found: list[int] = []
        for item in self.iter_search(query, sort="newest"):
            found.append(item.id)
            if len(found) >= cap:
                break
        return found

    def search_facets(self, query: Query, *, cap: int, top: int) -> SearchFacets:
        scope = self._scope(query, cap)
        if not isinstance(scope, Select) and not scope:
            return SearchFacets(
                scanned=0, platforms=[], languages=[], hashtags=[], domains=[], accounts=[], per_day=[]
            )
        # The matches' ids are read once, then each facet is a GROUP BY over those ids (the database
        # counts; only the distinct values come back). A GROUP BY over the scope statement itself
        # evaluated the search again for every facet.
        ids = [int(r[0]) for r in self.conn.execute(scope)] if isinstance(scope, Select) else list(scope)
        # At most ``cap`` ids, passed as one array parameter (see Dialect.count_by). Day, platform and
        # account come from one GROUP BY over the three (each posts row is read once, not three times).
        days: Counter[int] = Counter()
        platforms: Counter[str] = Counter()
        accounts: Counter[str] = Counter()
        account = "coalesce(t.author_key, t.author_id)"
        groups = (f"t.created_us / {_DAY_US}", "t.platform", account)
        for day, platform, who, n in self.dialect.count_by(self.conn, "posts", "id", groups, ids):
            days[int(day)] += n
            platforms[str(platform)] += n
            if who is not None:
                accounts[str(who)] += n
        terms: dict[str, Counter[str]] = {kind: Counter() for kind in _FACET_TERMS}
        for kind, value, n in self.dialect.count_by(
            self.conn, "post_terms", "post_id", ("t.kind", "t.value"), ids, where=_IN_FACET_TERMS
        ):
            terms[str(kind)][str(value)] = int(n)
        return SearchFacets(
            scanned=days.total(),
            platforms=_top(platforms, top),
            languages=_top(terms["lang"], top),
            hashtags=_top(terms["hashtag"], top),
            domains=_top(terms["domain"], top),
            accounts=_top(accounts, top),
            per_day=[(_EPOCH + timedelta(days=day), n) for day, n in sorted(days.items())],
        )

    def rule_alert_counts(self, *, since: datetime) -> dict[int, int]:
        stmt = (
            select(alerts.c.rule_id, func.count())
            .where(alerts.c.created_us >= to_micros(since))
            .group_by(alerts.c.rule_id)
        )
        return {int(rule_id): int(n) for rule_id, n in self.conn.execute(stmt)}

    def rule_outcomes(self) -> list[RuleOutcome]:
        keys = (alerts.c.rule_id, alerts.c.status, alerts.c.disposition)
        stmt = select(*keys, func.count()).group_by(*keys)
        return [
            RuleOutcome(rule_id=int(r[0]), status=str(r[1]), disposition=r[2], count=int(r[3]))
            for r in self.conn.execute(stmt)
        ]
