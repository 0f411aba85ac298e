"""Raising alerts and reading the queue in SQL: the write and read half of the AlertsTx port.

A post draft becomes one of three things. If its (rule, post) is already in ``alert_posts`` it is a
replay and changes nothing. If the rule already has an active alert for the post's near-duplicate
cluster, the post is folded into it. Otherwise it raises a new alert. A burst draft raises an alert
unless the rule already has one for the same window (a unique key on ``(rule_id, window_start_us)``).

Concurrency: the check-then-write steps above are only correct if no other writer raises alerts for
the same rule in between. On PostgreSQL each batch therefore row-locks its rules (``FOR NO KEY
UPDATE``, in id order so two batches cannot deadlock) before reading; a second writer for the same
rule waits for the first to commit, then sees its alerts. Row locks live in the tuple, not the shared
lock table, so big batches cannot exhaust it. The cost is that writers for one rule take turns, for
as long as their transaction lasts. On SQLite ``BEGIN IMMEDIATE`` already admits one writer at a time.
The unique keys stay as the last line of defence: a bug there fails the transaction, never duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select, tuple_, update

from watchfloor.domain.alerts import ACTIVE_STATUSES, Alert, AlertDraft
from watchfloor.store import alert_rows
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import AlertFilter, AlertWrite
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import alert_events, alert_posts, alerts, post_terms, posts, rule_hits, rules

_CHUNK = 500  # keys per IN (...) lookup
_GroupKey = tuple[int, str, int]  # (rule, "cluster" | "post", id): drafts that share one alert


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _post_key(draft: AlertDraft) -> tuple[int, int]:
    """(rule, post): what ``alert_posts`` keeps unique. Post drafts are checked to have a post first."""
    assert draft.post_id is not None
    return (draft.rule_id, draft.post_id)


def _group_key(draft: AlertDraft) -> _GroupKey:
    if draft.cluster_id is not None:
        return (draft.rule_id, "cluster", draft.cluster_id)
    return (draft.rule_id, "post", _post_key(draft)[1])


def alert_conditions(where: AlertFilter) -> list[ColumnElement[bool]]:
    """The SQL conditions of an alert filter, shared by the queue listing and the live queue.

    ``platform`` and ``lang`` look at the post that raised the alert; ``lang`` is stored as the primary
    subtag, casefolded (rows.post_terms): "en-GB" finds "en" posts.
    """
    found: list[ColumnElement[bool]] = []
    if where.statuses is not None:
        found.append(alerts.c.status.in_(where.statuses))
    if where.severities is not None:
        found.append(alerts.c.severity.in_(where.severities))
    if where.rule_id is not None:
        found.append(alerts.c.rule_id == where.rule_id)
    if where.assignee is not None:
        found.append(alerts.c.assignee == where.assignee)
    if where.platform is not None:
        found.append(alerts.c.post_id.in_(select(posts.c.id).where(posts.c.platform == where.platform)))
    if where.lang is not None:
        lang = where.lang.split("-")[0].casefold()
        in_lang = select(post_terms.c.post_id).where(post_terms.c.kind == "lang", post_terms.c.value == lang)
        found.append(alerts.c.post_id.in_(in_lang))
    if where.deadline_before is not None:
        found.append(alerts.c.deadline_us < to_micros(where.deadline_before))
    if where.created_since is not None:
        found.append(alerts.c.created_us >= to_micros(where.created_since))
    return found


class AlertsSql:
    """Alert raising, volume hits and queue reads, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    # -- raising ---------------------------------------------------------------------------------

    def write_alerts(self, drafts: Sequence[AlertDraft], *, actor: str) -> AlertWrite:
        """Raise, group or skip each draft (see the module docstring); events are recorded by ``actor``.

        A post alert's ``post_count`` is the number of posts recorded for it, so a post draft's own
        ``post_count`` is not used; a burst keeps the count its draft carries.
        """
        result = AlertWrite()
        if not drafts:
            return result
        for draft in drafts:
            if draft.kind == "post" and draft.post_id is None:
                raise ValueError(f"a post alert of rule {draft.rule_id} needs the post that fired")
            if draft.kind == "burst" and (draft.window_start is None or draft.window_end is None):
                raise ValueError(f"a burst alert of rule {draft.rule_id} needs its time window")
        self._lock_rules({d.rule_id for d in drafts})
        self._write_post_alerts([d for d in drafts if d.kind == "post"], actor, result)
        for draft in drafts:
            if draft.kind == "burst":
                self._write_burst(draft, actor, result)
        return result

    def _lock_rules(self, rule_ids: set[int]) -> None:
        # SQLAlchemy renders no FOR UPDATE on SQLite, where the write lock is already held.
        stmt = (
            select(rules.c.id)
            .where(rules.c.id.in_(sorted(rule_ids)))
            .order_by(rules.c.id)
            .with_for_update(key_share=True)
        )
        self.conn.execute(stmt).all()

    def _write_post_alerts(self, drafts: Sequence[AlertDraft], actor: str, result: AlertWrite) -> None:
        recorded = self._recorded_posts([_post_key(d) for d in drafts])
        groups: dict[_GroupKey, list[AlertDraft]] = {}
        for draft in drafts:
            if _post_key(draft) in recorded:
                result.unchanged += 1
                continue
            recorded.add(_post_key(draft))
            groups.setdefault(_group_key(draft), []).append(draft)
        active = self._active_alerts([(k[0], k[2]) for k in groups if k[1] == "cluster"])
        links: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        new_groups: list[list[AlertDraft]] = []
        joining: list[tuple[int, list[AlertDraft]]] = []
        for (rule_id, kind, key), members in groups.items():
            target = active.get((rule_id, key)) if kind == "cluster" else None
            if target is None:
                new_groups.append(members)
            else:
                joining.append((target, members))
        # Grow in id order, as mark_breaches locks: two statements locking alert rows in opposite
        # orders is how PostgreSQL deadlocks.
        for target, members in sorted(joining, key=lambda t: t[0]):
            if not self._grow(target, members):
                new_groups.append(members)
                continue
            result.grouped += len(members)
            links.extend(self._links(target, members))
            events.extend(self._grouped_events(target, members, actor))
        for alert_id, members in zip(self._insert_alerts(new_groups), new_groups, strict=True):
            result.raised.append(alert_id)
            result.grouped += len(members) - 1
            links.extend(self._links(alert_id, members))
            raised_us = to_micros(members[0].created_at)
            events.append(
                alert_rows.event_values(
                    alert_id, at_us=raised_us, actor=actor, action="raised", to_status="open"
                )
            )
            events.extend(self._grouped_events(alert_id, members[1:], actor))
        if links:
            self.conn.execute(alert_posts.insert(), links)
        if events:
            self.conn.execute(alert_events.insert(), events)

    def _insert_alerts(self, groups: Sequence[Sequence[AlertDraft]]) -> list[int]:
        """One new open alert per group, raised by its first draft and counting all its posts; new ids
        in group order (one multi-row INSERT ... RETURNING)."""
        if not groups:
            return []
        stmt = alerts.insert().returning(alerts.c.id, sort_by_parameter_order=True)
        values = [alert_rows.alert_values(g[0], post_count=len(g)) for g in groups]
        return [int(i) for i in self.conn.execute(stmt, values).scalars()]

    def _recorded_posts(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The (rule, post) pairs that already have an alert."""
        found: set[tuple[int, int]] = set()
        for chunk in _chunks(sorted(set(pairs))):
            stmt = select(alert_posts.c.rule_id, alert_posts.c.post_id).where(
                tuple_(alert_posts.c.rule_id, alert_posts.c.post_id).in_(chunk)
            )
            found.update((int(r), int(p)) for r, p in self.conn.execute(stmt))
        return found

    def _active_alerts(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """The newest active alert for each (rule, cluster) that has one."""
        found: dict[tuple[int, int], int] = {}
        for chunk in _chunks(keys):
            stmt = (
                select(alerts.c.rule_id, alerts.c.cluster_id, func.max(alerts.c.id))
                .where(
                    tuple_(alerts.c.rule_id, alerts.c.cluster_id).in_(chunk),
                    alerts.c.status.in_(ACTIVE_STATUSES),
                )
                .group_by(alerts.c.rule_id, alerts.c.cluster_id)
            )
            found.update(((int(r), int(c)), int(a)) for r, c, a in self.conn.execute(stmt))
        return found

    def _grow(self, alert_id: int, members: Sequence[AlertDraft]) -> bool:
        """Add posts to an alert if it is still active (an analyst may have dismissed it meanwhile)."""
        latest = max(to_micros(d.created_at) for d in members)
        grown = self.conn.execute(
            update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.status.in_(ACTIVE_STATUSES))
            .values(
                post_count=alerts.c.post_count + len(members),
                updated_us=case((alerts.c.updated_us < latest, latest), else_=alerts.c.updated_us),
            )
        )
        return grown.rowcount == 1

    @staticmethod
    def _links(alert_id: int, members: Sequence[AlertDraft]) -> list[dict[str, Any]]:
        return [{"alert_id": alert_id, "post_id": d.post_id, "rule_id": d.rule_id} for d in members]

    @staticmethod
    def _grouped_events(alert_id: int, members: Sequence[AlertDraft], actor: str) -> list[dict[str, Any]]:
        return [
            alert_rows.event_values(alert_id, at_us=to_micros(d.created_at), actor=actor, action="grouped")
            for d in members
        ]

    def _write_burst(self, draft: AlertDraft, actor: str, result: AlertWrite) -> None:
        stmt = (
            self.dialect.insert(alerts)
            .values(alert_rows.alert_values(draft, post_count=draft.post_count))
            .on_conflict_do_nothing(index_elements=[alerts.c.rule_id, alerts.c.window_start_us])
            .returning(alerts.c.id)
        )
        alert_id = self.conn.execute(stmt).scalar_one_or_none()
        if alert_id is None:
            result.unchanged += 1
            return
        result.raised.append(int(alert_id))
        event = alert_rows.event_values(
            int(alert_id), at_us=to_micros(draft.created_at), actor=actor, action="raised", to_status="open"
        )
        self.conn.execute(alert_events.insert().values(event))

    # -- volume rules ----------------------------------------------------------------------------

    def record_rule_hits(self, hits: Sequence[tuple[int, int, datetime]]) -> None:
        """Remember volume-rule matches; a (rule, post) already recorded is kept as it was."""
        self.dialect.insert_ignore(
            self.conn,
            "rule_hits",
            ("rule_id", "post_id", "post_us"),
            # Sorted so concurrent writers on PostgreSQL take index locks in one order (no deadlock).
            sorted({(rule_id, post_id, to_micros(at)) for rule_id, post_id, at in hits}),
        )

    def count_rule_hits(self, rule_id: int, *, since: datetime, until: datetime) -> int:
        """Matches of the rule by posts created in ``[since, until)``: a half-open window, so windows
        that follow each other count every post once."""
        stmt = select(func.count()).where(
            rule_hits.c.rule_id == rule_id,
            rule_hits.c.post_us >= to_micros(since),
            rule_hits.c.post_us < to_micros(until),
        )
        return int(self.conn.execute(stmt).scalar_one())

    def last_burst_end(self, rule_id: int) -> datetime | None:
        stmt = select(func.max(alerts.c.window_end_us)).where(
            alerts.c.rule_id == rule_id, alerts.c.kind == "burst"
        )
        value = self.conn.execute(stmt).scalar_one()
        return None if value is None else alert_rows.time_of(value)

    # -- reads -----------------------------------------------------------------------------------

    def get_alert(self, alert_id: int) -> Alert | None:
        row = self.conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return None if row is None else alert_rows.alert_from_row(row)

    def alert_posts(self, alert_id: int, *, limit: int = 100) -> list[int]:
        """The ids of an alert's posts, oldest id first: the grouped posts of a post alert; for a burst,
        the rule's recorded hits from ``window_start`` up to and including ``window_end`` (a burst's
        window ends on its latest post)."""
        head = self.conn.execute(
            select(alerts.c.kind, alerts.c.rule_id, alerts.c.window_start_us, alerts.c.window_end_us).where(
                alerts.c.id == alert_id
            )
        ).first()
        if head is None:
            return []
        if head.kind == "burst":
            stmt = (
                select(rule_hits.c.post_id)
                .where(
                    rule_hits.c.rule_id == head.rule_id,
                    rule_hits.c.post_us >= head.window_start_us,
                    rule_hits.c.post_us <= head.window_end_us,
                )
                .order_by(rule_hits.c.post_id)
            )
        else:
            stmt = (
                select(alert_posts.c.post_id)
                .where(alert_posts.c.alert_id == alert_id)
                .order_by(alert_posts.c.post_id)
            )
        return [int(p) for p in self.conn.execute(stmt.limit(limit)).scalars()]

    def list_alerts(self, where: AlertFilter, *, limit: int = 100) -> list[Alert]:
        """Alerts matching every given filter, soonest deadline first.

        ``platform`` and ``lang`` look at the post that raised the alert (a burst's sample post); other
        posts grouped into it later are not consulted.
        """
        stmt = (
            select(alerts)
            .where(*alert_conditions(where))
            .order_by(alerts.c.deadline_us, alerts.c.id)
            .limit(limit)
        )
        return [alert_rows.alert_from_row(r) for r in self.conn.execute(stmt)]
