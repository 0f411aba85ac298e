"""In SQL: aggregate counts for the transparency report and accuracy card (ReportsTx); a mixin of SqlTx.

Every metric is one ``count(*)`` (or sum) over one table with a time window ``[start, end)`` on one of
its time columns; docs/transparency-and-accuracy.md states each one in words, and the golden test
repeats each as an independent query. Nothing here
returns a name, handle, id or text: only counts, severities, statuses, languages and platforms.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, literal, or_, select

from watchfloor.domain.audit import AuditEvent, decode_leaf
from watchfloor.domain.errors import StoreError
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import AccuracyCount, DailyRoot
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import (
    alerts,
    audit_checkpoints,
    audit_events,
    cases,
    disseminations,
    imports,
    legal_holds,
    post_terms,
    posts,
    rule_versions,
    rules,
    watches,
)

_DAY_US = 86_400_000_000


def _within(column: ColumnElement[Any], start_us: int, end_us: int) -> ColumnElement[bool]:
    return and_(column >= start_us, column < end_us)


class ReportsSql:
    """SqlTx mixin: aggregate counts for the transparency report and accuracy card."""

    conn: Connection
    dialect: Dialect

    def _count(self, table: Table, *where: ColumnElement[bool]) -> int:
        return int(self.conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    def _sum(self, column: ColumnElement[Any], *where: ColumnElement[bool]) -> int:
        return int(self.conn.execute(select(func.coalesce(func.sum(column), 0)).where(*where)).scalar_one())

    def transparency_counts(self, *, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
        """Counts of what happened in ``[start, end)``, one per metric key (see the module docstring)."""
        s, e, n = to_micros(start), to_micros(end), to_micros(now)
        w = watches.c
        decided = and_(w.approver.is_not(None), w.status != "denied")
        expired_until = min(e, n)  # an expiry still in the future has not happened
        d, cp = disseminations.c, audit_checkpoints.c
        renewal = w.renewal_of.is_not(None)
        return {
            "rules_added": self._count(rules, _within(rules.c.created_us, s, e)),
            "rule_versions_sensitive": self._count(
                rule_versions,
                _within(rule_versions.c.created_us, s, e),
                rule_versions.c.sensitive_terms.is_not(None),
            ),
            "rule_versions_approved": self._count(rule_versions, _within(rule_versions.c.approved_us, s, e)),
            "watches_requested": self._count(watches, _within(w.requested_us, s, e)),
            "watches_renewals": self._count(watches, _within(w.requested_us, s, e), renewal),
            "watches_approved": self._count(watches, _within(w.decided_us, s, e), decided),
            "watches_denied": self._count(watches, _within(w.decided_us, s, e), w.status == "denied"),
            "watches_cancelled": self._count(watches, _within(w.cancelled_us, s, e)),
            "watches_expired": self._count(
                watches,
                decided,
                _within(w.expires_us, s, expired_until),
                or_(w.cancelled_us.is_(None), w.cancelled_us > w.expires_us),
            ),
            "posts_collected": self._count(posts, _within(posts.c.collected_us, s, e)),
            "posts_imported": self._sum(imports.c.inserted, _within(imports.c.started_us, s, e)),
            "holds_placed": self._count(legal_holds, _within(legal_holds.c.placed_us, s, e)),
            "holds_released": self._count(legal_holds, _within(legal_holds.c.released_us, s, e)),
            "alerts_raised": self._count(alerts, _within(alerts.c.created_us, s, e)),
            "alerts_breached": self._count(alerts, _within(alerts.c.breached_us, s, e)),
            "cases_opened": self._count(cases, _within(cases.c.opened_us, s, e)),
            "cases_closed": self._count(cases, _within(cases.c.closed_us, s, e)),
            "exports_requested": self._count(disseminations, _within(d.created_us, s, e)),
            "exports_approved": self._count(
                disseminations, _within(d.decided_us, s, e), d.reviewer.is_not(None), d.status != "rejected"
            ),
            "exports_rejected": self._count(
                disseminations, _within(d.decided_us, s, e), d.status == "rejected"
            ),
            "exports_released": self._count(disseminations, _within(d.released_us, s, e)),
            "audit_events": self._count(audit_events, _within(audit_events.c.at_us, s, e)),
            "checkpoints_signed": self._count(audit_checkpoints, _within(cp.signed_us, s, e)),
        }

    def alert_outcomes(self, *, start: datetime, end: datetime) -> dict[str, int]:
        """Alerts raised in ``[start, end)`` by where they are now: a disposition, or their status."""
        s, e = to_micros(start), to_micros(end)
        outcome = func.coalesce(alerts.c.disposition, alerts.c.status)
        stmt = (
            select(outcome.label("outcome"), func.count())
            .where(_within(alerts.c.created_us, s, e))
            .group_by(outcome)
        )
        return {str(row[0]): int(row[1]) for row in self.conn.execute(stmt)}

    def rules_in_force(self, *, at: datetime) -> dict[str, int]:
        """Rules in force at ``at`` by the severity of their version then: created before it, active now,
        and (if that version has sensitive terms) approved before it."""
        at_us = to_micros(at)
        rv = rule_versions.c
        latest = (
            select(rv.rule_id, func.max(rv.version).label("version"))
            .where(rv.created_us < at_us)
            .group_by(rv.rule_id)
            .subquery()
        )
        stmt = (
            select(rv.severity, func.count())
            .select_from(
                rules.join(latest, latest.c.rule_id == rules.c.id).join(
                    rule_versions, and_(rv.rule_id == latest.c.rule_id, rv.version == latest.c.version)
                )
            )
            .where(
                rules.c.status == "active",
                rules.c.created_us < at_us,
                or_(rv.sensitive_terms.is_(None), rv.approved_us < at_us),
            )
            .group_by(rv.severity)
        )
        return {str(row[0]): int(row[1]) for row in self.conn.execute(stmt)}

    def audit_events_between(
        self, *, start: datetime, end: datetime, actions: Sequence[str]
    ) -> Iterator[AuditEvent]:
        """Decoded events of ``actions`` recorded in ``[start, end)``, in log order (for outcome counts)."""
        stmt = (
            select(audit_events.c.seq, audit_events.c.leaf)
            .where(
                audit_events.c.action.in_(list(actions)),
                _within(audit_events.c.at_us, to_micros(start), to_micros(end)),
            )
            .order_by(audit_events.c.seq)
        )
        for row in self.conn.execute(stmt):
            try:
                yield decode_leaf(bytes(row.leaf) if not isinstance(row.leaf, str) else row.leaf.encode())
            except ValueError:
                raise StoreError(
                    f"audit event {row.seq:,} cannot be read (damaged or altered); "
                    "run `watchfloor audit verify` to check the whole log"
                ) from None

    def daily_roots(self, *, start: datetime, end: datetime) -> list[DailyRoot]:
        """For each UTC day in ``[start, end)`` with a signed checkpoint, the last one signed that day."""
        s, e = to_micros(start), to_micros(end)
        cp = audit_checkpoints.c
        stmt = select(cp.signed_us, cp.size, cp.root).where(_within(cp.signed_us, s, e)).order_by(cp.size)
        last: dict[int, DailyRoot] = {}
        for row in self.conn.execute(stmt):
            day_number = int(row.signed_us) // _DAY_US
            day = datetime.fromtimestamp(day_number * 86_400, tz=UTC)
            last[day_number] = DailyRoot(day=day, size=int(row.size), root=bytes(row.root))
        return [last[k] for k in sorted(last)]

    def accuracy_counts(self, *, start: datetime | None, end: datetime | None) -> list[AccuracyCount]:
        """Alerts (raised in ``[start, end)`` if given) counted by rule, status, disposition, and the
        language and platform of the post that fired them (``None`` when the post is gone or untagged).

        A post tagged with several languages counts under the alphabetically first primary subtag.
        """
        lang = (
            select(func.min(post_terms.c.value))
            .where(post_terms.c.kind == "lang", post_terms.c.post_id == alerts.c.post_id)
            .scalar_subquery()
        )
        platform = select(posts.c.platform).where(posts.c.id == alerts.c.post_id).scalar_subquery()
        per_alert = select(
            alerts.c.rule_id,
            alerts.c.status,
            func.coalesce(alerts.c.disposition, literal("")).label("disposition"),
            func.coalesce(lang, literal("")).label("lang"),
            func.coalesce(platform, literal("")).label("platform"),
        )
        if start is not None:
            per_alert = per_alert.where(alerts.c.created_us >= to_micros(start))
        if end is not None:
            per_alert = per_alert.where(alerts.c.created_us < to_micros(end))
        inner = per_alert.subquery()
        keys = (inner.c.rule_id, inner.c.status, inner.c.disposition, inner.c.lang, inner.c.platform)
        stmt = select(*keys, func.count()).group_by(*keys)
        return [
            AccuracyCount(
                rule_id=int(r[0]),
                status=str(r[1]),
                disposition=str(r[2]) or None,
                lang=str(r[3]) or None,
                platform=str(r[4]) or None,
                count=int(r[5]),
            )
            for r in self.conn.execute(stmt)
        ]
