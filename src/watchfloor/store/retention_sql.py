"""In SQL: the retention purge (the retention half of CaseworkTx), mixed into SqlTx via CaseworkSql.

The purge runs in the caller's transaction, class by class, each step seeing what the one before
deleted: expired closed cases go first (so their alerts leave the case), then expired alerts in no
case (so their posts lose their cover), then posts their platform deleted, then old posts no alert
covers. A legal hold overrides all of it: a held case keeps its alerts and their posts, a held alert
keeps its posts, a held post stays. A dry run does the same work inside a savepoint and rolls it back,
so its counts are exactly what a real run would remove. A purged case takes its file with it: tasks,
notes, account links, evidence items with their parts and custody chains, and the evidence blobs no
other case's evidence shares. Purged posts take their media queue entries with them, and the media
objects (and video keyframes) nothing else uses (``media_sql.purge_post_media``); the service deletes
their files once the purge has committed.

Deleting a post removes its row, selector terms, rule hits, alert links and full-text entry (on SQLite
the contentless FTS5 index is told the exact tokens it was given; on PostgreSQL the tsvector goes with
the row), and then any raw payload and near-duplicate bands no remaining post uses. The record that a
platform deleted a post (``deletions``) stays: it holds only the post's id, and it makes the next purge
remove the post again if an old file brings it back. Limits: ``posts.raw_digest`` has no index, so each
5,000 deleted payloads cost one read of the posts table; the same goes for ``dedup_bands``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    func,
    not_,
    or_,
    select,
    tuple_,
)

from watchfloor.domain.oversight import RetentionCounts
from watchfloor.query.tokens import index_text
from watchfloor.store import rows
from watchfloor.store.dialects import Dialect
from watchfloor.store.media_sql import purge_post_media
from watchfloor.store.postgres import partitions
from watchfloor.store.schema import (
    alert_events,
    alert_posts,
    alerts,
    case_alerts,
    case_links,
    case_notes,
    case_tasks,
    cases,
    custody_events,
    dedup_bands,
    deletions,
    evidence_blobs,
    evidence_items,
    evidence_parts,
    legal_holds,
    post_keys,
    post_terms,
    posts,
    raw_payloads,
    rule_hits,
)

_CHUNK = 5_000  # ids per DELETE / IN list (well under SQLite's and PostgreSQL's parameter limits)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _held(kind: str) -> Select[Any]:
    return select(legal_holds.c.object_id).where(
        legal_holds.c.kind == kind, legal_holds.c.released_us.is_(None)
    )


def _alert_is_held(alert_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The alert is held itself, or is in a held case."""
    in_held_case = select(case_alerts.c.alert_id).where(case_alerts.c.case_id.in_(_held("case")))
    return or_(alert_id.in_(_held("alert")), alert_id.in_(in_held_case))


def _burst_hits() -> Select[Any]:
    """(post id, alert id) of every post inside a burst alert's window (its rule's recorded hits)."""
    return select(rule_hits.c.post_id, alerts.c.id.label("alert_id")).join(
        alerts,
        and_(
            alerts.c.kind == "burst",
            rule_hits.c.rule_id == alerts.c.rule_id,
            rule_hits.c.post_us >= alerts.c.window_start_us,
            rule_hits.c.post_us <= alerts.c.window_end_us,
        ),
    )


def _covered_by(post_id: ColumnElement[Any], *, held_only: bool) -> ColumnElement[bool]:
    """The post belongs to an alert (a held one, if ``held_only``): grouped into it, raised it, or sits
    in its burst window. The subqueries never yield NULL, so ``NOT`` of this is safe."""
    bursts = _burst_hits().subquery()
    linked = select(alert_posts.c.post_id)
    raised = select(alerts.c.post_id).where(alerts.c.post_id.is_not(None))
    in_window = select(bursts.c.post_id)
    if held_only:
        linked = linked.where(_alert_is_held(alert_posts.c.alert_id))
        raised = raised.where(_alert_is_held(alerts.c.id))
        in_window = in_window.where(_alert_is_held(bursts.c.alert_id))
    return or_(post_id.in_(linked), post_id.in_(raised), post_id.in_(in_window))


def _post_is_held(post_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The post is held itself, or belongs to a held alert (or to an alert in a held case)."""
    return or_(post_id.in_(_held("post")), _covered_by(post_id, held_only=True))


class RetentionSql:
    """SqlTx mixin: :meth:`purge_expired`."""

    conn: Connection
    dialect: Dialect

    def purge_expired(
        self,
        *,
        unmatched_before: datetime,
        alerts_before: datetime,
        cases_closed_before: datetime,
        dry_run: bool = False,
    ) -> RetentionCounts:
        """Delete what retention says has expired (see the module docstring); return what went."""
        counts = RetentionCounts()
        savepoint = self.conn.begin_nested()
        try:
            counts.case_ids = self._purge_cases(cases_closed_before)
            counts.cases = len(counts.case_ids)
            counts.alert_ids, uncovered = self._purge_alerts(alerts_before)
            counts.alerts = len(counts.alert_ids)
            deleted_by_platform = or_(
                posts.c.deleted_us.is_not(None),
                tuple_(posts.c.platform, posts.c.native_id).in_(
                    select(deletions.c.platform, deletions.c.native_id)
                ),
            )
            counts.deleted_but_held = int(
                self.conn.execute(
                    select(func.count())
                    .select_from(posts)
                    .where(deleted_by_platform, _post_is_held(posts.c.id))
                ).scalar_one()
            )
            gone = self._ids(select(posts.c.id).where(deleted_by_platform, not_(_post_is_held(posts.c.id))))
            counts.posts_deleted_by_platform = len(gone)
            self._delete_posts(gone)
            old = self._ids(
                select(posts.c.id).where(
                    posts.c.collected_us < rows.to_micros(unmatched_before),
                    not_(_covered_by(posts.c.id, held_only=False)),
                    not_(_post_is_held(posts.c.id)),
                )
            )
            counts.posts_of_expired_alerts = sum(1 for p in old if p in uncovered)
            counts.posts_unmatched = len(old) - counts.posts_of_expired_alerts
            self._delete_posts(old)
            counts.post_ids = sorted([*gone, *old])
            counts.media_sha256s = purge_post_media(self.conn, counts.post_ids)
        except BaseException:
            savepoint.rollback()
            raise
        if dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
        return counts

    def maintain_partitions(self, *, empty_before: datetime) -> list[str]:
        """PostgreSQL: prepare the coming months, drop empty expired ones (``store.postgres.partitions``)."""
        if self.dialect.name != "postgresql":
            return []
        partitions.ensure_partitions(self.conn)
        return partitions.drop_expired_partitions(self.conn, before_us=rows.to_micros(empty_before))

    def _ids(self, stmt: Select[Any]) -> list[int]:
        return sorted(int(i) for i in self.conn.execute(stmt).scalars())

    def _purge_cases(self, closed_before: datetime) -> list[int]:
        expired = self._ids(
            select(cases.c.id).where(
                cases.c.status == "closed",
                cases.c.closed_us < rows.to_micros(closed_before),
                cases.c.id.not_in(_held("case")),
            )
        )
        for chunk in _chunks(expired):
            self._purge_case_files(chunk)
            self.conn.execute(delete(case_alerts).where(case_alerts.c.case_id.in_(chunk)))
            self.conn.execute(delete(cases).where(cases.c.id.in_(chunk)))
        return expired

    def _purge_case_files(self, case_ids: Sequence[int]) -> None:
        """Delete the cases' tasks, notes, links and evidence (items, parts, custody chains), then every
        evidence blob no remaining part uses (blobs are shared by hash across cases)."""
        items = select(evidence_items.c.id).where(evidence_items.c.case_id.in_(case_ids))
        hashes = sorted(
            set(
                self.conn.execute(
                    select(evidence_parts.c.sha256).where(evidence_parts.c.evidence_id.in_(items))
                ).scalars()
            )
        )
        self.conn.execute(delete(custody_events).where(custody_events.c.evidence_id.in_(items)))
        self.conn.execute(delete(evidence_parts).where(evidence_parts.c.evidence_id.in_(items)))
        for table, column in (
            (evidence_items, evidence_items.c.case_id),
            (case_tasks, case_tasks.c.case_id),
            (case_notes, case_notes.c.case_id),
            (case_links, case_links.c.case_id),
        ):
            self.conn.execute(delete(table).where(column.in_(case_ids)))
        for chunk in _chunks(hashes):
            used = set(
                self.conn.execute(
                    select(evidence_parts.c.sha256).where(evidence_parts.c.sha256.in_(chunk)).distinct()
                ).scalars()
            )
            unused = [h for h in chunk if h not in used]
            if unused:
                self.conn.execute(delete(evidence_blobs).where(evidence_blobs.c.sha256.in_(unused)))

    def _purge_alerts(self, created_before: datetime) -> tuple[list[int], set[int]]:
        """Delete expired alerts in no case and not held; return their ids and the posts they covered."""
        expired = self._ids(
            select(alerts.c.id).where(
                alerts.c.created_us < rows.to_micros(created_before),
                alerts.c.id.not_in(select(case_alerts.c.alert_id)),
                not_(_alert_is_held(alerts.c.id)),
            )
        )
        covered: set[int] = set()
        bursts = _burst_hits().subquery()
        for chunk in _chunks(expired):
            for stmt in (
                select(alert_posts.c.post_id).where(alert_posts.c.alert_id.in_(chunk)),
                select(alerts.c.post_id).where(alerts.c.id.in_(chunk), alerts.c.post_id.is_not(None)),
                select(bursts.c.post_id).where(bursts.c.alert_id.in_(chunk)),
            ):
                covered.update(int(p) for p in self.conn.execute(stmt).scalars())
            self.conn.execute(delete(alert_events).where(alert_events.c.alert_id.in_(chunk)))
            self.conn.execute(delete(alert_posts).where(alert_posts.c.alert_id.in_(chunk)))
            self.conn.execute(delete(alerts).where(alerts.c.id.in_(chunk)))
        return expired, covered

    def _delete_posts(self, ids: Sequence[int]) -> None:
        """Delete posts and everything derived from them (see the module docstring)."""
        digests: set[bytes] = set()
        clusters: set[int] = set()
        for chunk in _chunks(ids):
            found = self.conn.execute(
                select(posts.c.id, posts.c.doc, posts.c.raw_digest, posts.c.cluster_id).where(
                    posts.c.id.in_(chunk)
                )
            ).all()
            digests.update(bytes(r.raw_digest) for r in found if r.raw_digest is not None)
            clusters.update(int(r.cluster_id) for r in found if r.cluster_id is not None)
            if self.dialect.name == "sqlite":
                # Ids are reused by nothing (see dialects.SqliteDialect._time_ordered_ids).
                self.dialect.insert_ignore(
                    self.conn, "retired_post_ids", ("id",), [(int(r.id),) for r in found]
                )
                # A contentless FTS5 table forgets a row only when told the exact tokens it indexed.
                self.conn.exec_driver_sql(
                    "INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', ?, ?)",
                    [(int(r.id), index_text(rows.decode_post(r.doc).searchable_text())) for r in found],
                )
            if self.dialect.name == "postgresql":  # the natural key goes too: the post may come again
                self.conn.execute(delete(post_keys).where(post_keys.c.post_id.in_(chunk)))
            for table, column in (
                (post_terms, post_terms.c.post_id),
                (rule_hits, rule_hits.c.post_id),
                (alert_posts, alert_posts.c.post_id),
                (posts, posts.c.id),
            ):
                self.conn.execute(delete(table).where(column.in_(chunk)))
        self._drop_orphans(sorted(digests), sorted(clusters))

    def _drop_orphans(self, digests: list[bytes], clusters: list[int]) -> None:
        for chunk in _chunks(digests):
            used = set(
                self.conn.execute(
                    select(posts.c.raw_digest).where(posts.c.raw_digest.in_(chunk)).distinct()
                ).scalars()
            )
            unused = [d for d in chunk if d not in used]
            if unused:
                self.conn.execute(delete(raw_payloads).where(raw_payloads.c.digest.in_(unused)))
        for chunk in _chunks(clusters):
            used_clusters = set(
                self.conn.execute(
                    select(posts.c.cluster_id).where(posts.c.cluster_id.in_(chunk)).distinct()
                ).scalars()
            )
            orphans = [c for c in chunk if c not in used_clusters]
            if orphans:
                self.conn.execute(delete(dedup_bands).where(dedup_bands.c.cluster_id.in_(orphans)))
