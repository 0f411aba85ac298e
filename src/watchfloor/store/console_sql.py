"""Reads for the console's live queue, post context and dashboard: the ConsoleTx half of SqlTx.

Everything here is a read over indexed columns: the live queue polls ``alerts`` by primary key above
the last id it sent; a post's context looks up posts by natural key, cluster and author; the dashboard
counts alerts and posts per time bucket. Replies are found through ``post_terms`` rows of kind
``reply`` (a reply's parent and thread root, written at import; migration 0011 added them for the
posts stored before).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Row, and_, func, or_, select, tuple_

from watchfloor.domain.alerts import Alert, AlertStatus
from watchfloor.store import alert_rows, rows
from watchfloor.store.alerts_sql import alert_conditions
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import AlertFilter, StoredPost
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import alerts, post_terms, posts

_POST_COLUMNS = (posts.c.id, posts.c.doc, posts.c.cluster_id, posts.c.deleted_us)
_CHUNK = 500


def _stored(row: Row[Any, Any, Any, Any]) -> StoredPost:
    return StoredPost(
        id=int(row.id),
        post=rows.decode_post(row.doc),
        cluster_id=row.cluster_id,
        deleted_at=rows.from_micros(row.deleted_us),
    )


class ConsoleSql:
    """Console reads, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    # -- the live queue --------------------------------------------------------------------------

    def latest_alert_id(self) -> int:
        """The highest alert id (0 when there are none): where a live queue starts listening."""
        return int(self.conn.execute(select(func.coalesce(func.max(alerts.c.id), 0))).scalar_one())

    def alerts_after(self, after_id: int, where: AlertFilter, *, limit: int) -> list[Alert]:
        """Alerts with an id above ``after_id`` that match ``where``, oldest id first."""
        stmt = (
            select(alerts)
            .where(alerts.c.id > after_id, *alert_conditions(where))
            .order_by(alerts.c.id)
            .limit(limit)
        )
        return [alert_rows.alert_from_row(r) for r in self.conn.execute(stmt)]

    def cluster_alerts(
        self, cluster_ids: Sequence[int], *, statuses: tuple[AlertStatus, ...]
    ) -> dict[int, list[int]]:
        """Ids of the alerts in ``statuses`` per near-duplicate cluster (any rule), lowest id first."""
        found: dict[int, list[int]] = {}
        wanted = sorted(set(cluster_ids))
        for start in range(0, len(wanted), _CHUNK):
            stmt = (
                select(alerts.c.cluster_id, alerts.c.id)
                .where(alerts.c.cluster_id.in_(wanted[start : start + _CHUNK]), alerts.c.status.in_(statuses))
                .order_by(alerts.c.id)
            )
            for cluster_id, alert_id in self.conn.execute(stmt):
                found.setdefault(int(cluster_id), []).append(int(alert_id))
        return found

    # -- a post's context ------------------------------------------------------------------------

    def posts_by_keys(self, keys: Sequence[tuple[str, str]]) -> list[StoredPost]:
        """Stored posts by natural key ``(platform, native_id)``; keys not stored are left out."""
        if not keys:
            return []
        stmt = select(*_POST_COLUMNS).where(tuple_(posts.c.platform, posts.c.native_id).in_(list(keys)))
        return [_stored(r) for r in self.conn.execute(stmt)]

    def reply_posts(self, platform: str, native_id: str, *, limit: int) -> list[StoredPost]:
        """Stored replies to ``native_id`` on ``platform``, direct or anywhere in its thread: the first
        ``limit`` by post id (creation time on SQLite, arrival on PostgreSQL), oldest first. Taking
        them in index order keeps a thread with many thousands of stored replies as cheap as any."""
        replying = (
            select(post_terms.c.post_id)
            .where(post_terms.c.kind == "reply", post_terms.c.value == rows.reply_key(platform, native_id))
            .order_by(post_terms.c.post_id)
            .limit(limit)
        )
        stmt = (
            select(*_POST_COLUMNS)
            .where(posts.c.id.in_(replying))
            .order_by(posts.c.created_us, posts.c.id)
            .limit(limit)
        )
        return [_stored(r) for r in self.conn.execute(stmt)]

    def cluster_posts(self, cluster_id: int, *, exclude: int, limit: int) -> list[StoredPost]:
        """Other posts of near-duplicate cluster ``cluster_id``, newest first."""
        stmt = (
            select(*_POST_COLUMNS)
            .where(posts.c.cluster_id == cluster_id, posts.c.id != exclude)
            .order_by(posts.c.created_us.desc(), posts.c.id.desc())
            .limit(limit)
        )
        return [_stored(r) for r in self.conn.execute(stmt)]

    def account_posts(
        self, platform: str, *, author_key: str | None, author_id: str | None, exclude: int, limit: int
    ) -> list[StoredPost]:
        """Other stored posts of one account on ``platform`` (by handle or platform id), newest first."""
        same: list[ColumnElement[bool]] = []
        if author_key:
            same.append(posts.c.author_key == author_key)
        if author_id:
            same.append(posts.c.author_id == author_id)
        if not same:
            return []
        stmt = (
            select(*_POST_COLUMNS)
            .where(posts.c.platform == platform, or_(*same), posts.c.id != exclude)
            .order_by(posts.c.created_us.desc(), posts.c.id.desc())
            .limit(limit)
        )
        return [_stored(r) for r in self.conn.execute(stmt)]

    # -- the dashboard ---------------------------------------------------------------------------

    def alert_volume(
        self, *, since: datetime, until: datetime, bucket_seconds: int
    ) -> list[tuple[int, int, int]]:
        """``(bucket, rule_id, alerts)`` for alerts raised in ``[since, until)``; bucket 0 starts at
        ``since`` and each is ``bucket_seconds`` long."""
        start, width = to_micros(since), bucket_seconds * 1_000_000
        bucket = ((alerts.c.created_us - start) // width).label("bucket")
        stmt = (
            select(bucket, alerts.c.rule_id, func.count())
            .where(alerts.c.created_us >= start, alerts.c.created_us < to_micros(until))
            .group_by(bucket, alerts.c.rule_id)
        )
        return [(int(b), int(r), int(n)) for b, r, n in self.conn.execute(stmt)]

    def post_volume(
        self, *, since: datetime, until: datetime, bucket_seconds: int, by: Literal["platform", "lang"]
    ) -> list[tuple[int, str, int]]:
        """``(bucket, platform or language, posts)`` for posts collected in ``[since, until)``.

        Collection time, not creation time: the floor's volume is what arrived when. A post with no
        language tag is not counted in the language series.
        """
        start, width = to_micros(since), bucket_seconds * 1_000_000
        bucket = ((posts.c.collected_us - start) // width).label("bucket")
        window = and_(posts.c.collected_us >= start, posts.c.collected_us < to_micros(until))
        if by == "platform":
            stmt = (
                select(bucket, posts.c.platform, func.count())
                .where(window)
                .group_by(bucket, posts.c.platform)
            )
        else:
            stmt = (
                select(bucket, post_terms.c.value, func.count())
                .select_from(posts.join(post_terms, post_terms.c.post_id == posts.c.id))
                .where(window, post_terms.c.kind == "lang")
                .group_by(bucket, post_terms.c.value)
            )
        return [(int(b), str(v), int(n)) for b, v, n in self.conn.execute(stmt)]
