"""Facets of a search's matches and per-rule alert counts: the console's search and rules pages.

The facets are counted in SQL over the ids of the newest ``cap`` matches: a sub-select of the same
statement search uses, or, when the query needs the exact post-filter (``needs_post_filter``), the ids
that survived it, read in pages. Capping keeps the page fast on a large store; the page says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Select, func, select

from watchfloor.query.ast import Query
from watchfloor.query.describe import needs_post_filter
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import AccountLists, Facet, RuleOutcome, SearchFacets, SortOrder, StoredPost
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import alerts, post_terms, posts

if TYPE_CHECKING:
    from collections.abc import Iterator

_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    def _top(self, column: ColumnElement[Any], where: ColumnElement[bool], top: int) -> list[Facet]:
        stmt = (
            select(column.label("value"), func.count().label("n"))
            .where(where, column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc(), column)
            .limit(top)
        )
        return [Facet(str(r.value), int(r.n)) for r in self.conn.execute(stmt)]

    def _terms(self, kind: str, scope: Select[Any] | Sequence[int], top: int) -> list[Facet]:
        where = (post_terms.c.kind == kind) & post_terms.c.post_id.in_(scope)
        return self._top(post_terms.c.value, where, top)

    def search_facets(self, query: Query, *, cap: int, top: int) -> SearchFacets:
        scope = self._scope(query, cap)
        if not isinstance(scope, Select) and not scope:
            return SearchFacets(
                scanned=0, platforms=[], languages=[], hashtags=[], domains=[], accounts=[], per_day=[]
            )
        in_scope = posts.c.id.in_(scope)
        day = posts.c.created_us // _DAY_US
        per_day = [
            (_EPOCH + timedelta(days=int(r.day)), int(r.n))
            for r in self.conn.execute(
                select(day.label("day"), func.count().label("n")).where(in_scope).group_by(day).order_by(day)
            )
        ]
        account = func.coalesce(posts.c.author_key, posts.c.author_id)
        return SearchFacets(
            scanned=sum(n for _, n in per_day),
            platforms=self._top(posts.c.platform, in_scope, top),
            languages=self._terms("lang", scope, top),
            hashtags=self._terms("hashtag", scope, top),
            domains=self._terms("domain", scope, top),
            accounts=self._top(account, in_scope, top),
            per_day=per_day,
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
