"""Alert transitions, their event trail, deadline breaches and handover notes in SQL.

Claims must be exclusive without any lock held between requests, so every transition is a single
conditional UPDATE: the database, not Python, decides whether the alert was still in a state the move
is allowed from. Two analysts claiming at once both send the UPDATE; PostgreSQL makes the second wait
for the first and re-check the condition, which then fails; SQLite runs one writer at a time anyway.
Each successful change writes its event in the same transaction (fail closed: no event, no change).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from watchfloor.domain.alerts import (
    ACTIVE_STATUSES,
    Alert,
    AlertAction,
    AlertEvent,
    AlertStatus,
    Disposition,
    HandoverNote,
)
from watchfloor.store import alert_rows
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import alert_events, alerts, handover_notes

# Re-reads when the alert moved between our read and our UPDATE into another allowed state; more than
# a couple in a row means it is being fought over, and "someone else changed it" is the right answer.
_ATTEMPTS = 3


def _new_values(
    to_status: AlertStatus, actor: str, assignee: str | None, disposition: Disposition | None
) -> dict[str, Any]:
    """What a transition sets besides status and time.

    An open alert is held by nobody, so moving to ``open`` (release, reopen) clears the assignee; a
    claim without an explicit assignee is the actor's own. An active alert has no disposition, so
    moving to an active state clears it unless one is given. Otherwise unspecified values are kept:
    dismissing a claimed alert leaves on record who held it.
    """
    values: dict[str, Any] = {"status": to_status}
    if to_status == "open":
        values["assignee"] = None
    elif to_status == "claimed":
        values["assignee"] = assignee or actor
    elif assignee is not None:
        values["assignee"] = assignee
    if disposition is not None:
        values["disposition"] = disposition
    elif to_status in ACTIVE_STATUSES:
        values["disposition"] = None
    return values


class TriageSql:
    """Transitions, events, breaches and notes, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    def transition_alert(
        self,
        alert_id: int,
        *,
        allowed_from: tuple[AlertStatus, ...],
        to_status: AlertStatus,
        action: AlertAction,
        actor: str,
        at: datetime,
        assignee: str | None = None,
        disposition: Disposition | None = None,
        note: str | None = None,
        require_assignee: str | None = None,
    ) -> Alert | None:
        """Move the alert to ``to_status`` if it is in ``allowed_from`` (and held by ``require_assignee``),
        recording the event; ``None``, with nothing changed, if it is not (or does not exist)."""
        at_us = to_micros(at)
        values = _new_values(to_status, actor, assignee, disposition) | {"updated_us": at_us}
        for _ in range(_ATTEMPTS):
            seen = self.conn.execute(
                select(alerts.c.status, alerts.c.assignee).where(alerts.c.id == alert_id)
            ).first()
            if seen is None or seen.status not in allowed_from:
                return None
            if require_assignee is not None and seen.assignee != require_assignee:
                return None
            # Compare-and-set on the status just read: the UPDATE is the decision, and the event's
            # from_status is exactly the state we moved from even when several were allowed.
            stmt = update(alerts).where(alerts.c.id == alert_id, alerts.c.status == seen.status)
            if require_assignee is not None:
                stmt = stmt.where(alerts.c.assignee == require_assignee)
            row = self.conn.execute(stmt.values(values).returning(*alerts.c)).first()
            if row is not None:
                event = alert_rows.event_values(
                    alert_id,
                    at_us=at_us,
                    actor=actor,
                    action=action,
                    from_status=seen.status,
                    to_status=to_status,
                    disposition=disposition,
                    note=note,
                )
                self.conn.execute(alert_events.insert().values(event))
                return alert_rows.alert_from_row(row)
        return None

    def alert_events(self, alert_id: int) -> list[AlertEvent]:
        """The alert's whole trail, in the order it happened."""
        stmt = (
            select(alert_events)
            .where(alert_events.c.alert_id == alert_id)
            .order_by(alert_events.c.at_us, alert_events.c.id)
        )
        return [alert_rows.event_from_row(r) for r in self.conn.execute(stmt)]

    def events_since(
        self, since: datetime, *, actions: tuple[AlertAction, ...] | None = None
    ) -> list[AlertEvent]:
        """Events of every alert at or after ``since``, oldest first, optionally only some actions."""
        stmt = (
            select(alert_events)
            .where(alert_events.c.at_us >= to_micros(since))
            .order_by(alert_events.c.at_us, alert_events.c.id)
        )
        if actions is not None:
            stmt = stmt.where(alert_events.c.action.in_(actions))
        return [alert_rows.event_from_row(r) for r in self.conn.execute(stmt)]

    def mark_breaches(self, *, now: datetime, actor: str) -> list[Alert]:
        """Stamp ``breached_at`` on active alerts whose deadline passed, once each; return them.

        The UPDATE only touches rows still unstamped: if two sweepers run at once on PostgreSQL the
        second waits on the rows the first stamped, re-checks ``breached_us IS NULL`` and skips them.
        Rows are locked in id order (as ``write_alerts`` grows alerts), so a sweep and a batch of
        grouped posts cannot deadlock.
        """
        now_us = to_micros(now)
        overdue = (
            alerts.c.status.in_(ACTIVE_STATUSES),
            alerts.c.deadline_us < now_us,
            alerts.c.breached_us.is_(None),
        )
        # SQLAlchemy leaves FOR UPDATE out on SQLite, whose single writer needs no row locks.
        locked = select(alerts.c.id).where(*overdue).order_by(alerts.c.id).with_for_update()
        stmt = (
            update(alerts)
            .where(alerts.c.id.in_(locked.scalar_subquery()), *overdue)
            .values(breached_us=now_us)
            .returning(*alerts.c)
        )
        breached = sorted(
            (alert_rows.alert_from_row(r) for r in self.conn.execute(stmt)), key=lambda a: (a.deadline, a.id)
        )
        if breached:
            self.conn.execute(
                alert_events.insert(),
                [
                    alert_rows.event_values(a.id, at_us=now_us, actor=actor, action="breached")
                    for a in breached
                ],
            )
        return breached

    def add_handover_note(self, *, author: str, text: str, at: datetime) -> HandoverNote:
        inserted = self.conn.execute(
            handover_notes.insert()
            .values(at_us=to_micros(at), author=author, body=text)
            .returning(handover_notes.c.id)
        )
        note_id = int(inserted.scalar_one())
        return HandoverNote(id=note_id, at=alert_rows.time_of(to_micros(at)), author=author, text=text)

    def handover_notes(self, *, since: datetime) -> list[HandoverNote]:
        """Notes written at or after ``since``, oldest first."""
        stmt = (
            select(handover_notes)
            .where(handover_notes.c.at_us >= to_micros(since))
            .order_by(handover_notes.c.at_us, handover_notes.c.id)
        )
        return [
            HandoverNote(id=int(r.id), at=alert_rows.time_of(r.at_us), author=r.author, text=r.body)
            for r in self.conn.execute(stmt)
        ]
