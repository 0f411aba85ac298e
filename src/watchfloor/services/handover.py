"""Shift handover: what the next shift must know, and free-text notes from the one leaving.

Both record one audit event: the summary names the alerts it showed (and records the breaches it
marked on the way); a note is recorded by id, length and SHA-256, not its text, which stays in the
handover table where retention can reach it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import SEVERITY_ORDER, Alert, AlertEvent, HandoverNote
from watchfloor.domain.errors import InputError
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import AlertFilter


@dataclass
class Handover:
    """The shift summary: open work by severity and time left, what went wrong, what was said."""

    now: datetime
    shift_start: datetime
    open_by_severity: dict[str, list[Alert]] = field(default_factory=dict)
    breached_in_shift: list[Alert] = field(default_factory=list)
    claimed_untouched: list[Alert] = field(default_factory=list)
    raised_in_shift: int = 0
    closed_in_shift: int = 0
    notes: list[HandoverNote] = field(default_factory=list)


def handover_summary(ctx: ServiceContext, *, actor: Actor, hours: int | None = None) -> Handover:
    """Summarise the last shift (``hours``, default the configured shift length) for the next one."""
    now = ctx.clock.now()
    start = now - timedelta(hours=hours or ctx.settings.shift_hours)
    with refusals_recorded(ctx, actor=actor, action="handover.summary"), ctx.store.transaction() as tx:
        authorize(actor, "handover.read")
        newly_breached = tx.mark_breaches(now=now, actor=actor.name)
        active = tx.list_alerts(AlertFilter(statuses=("open", "claimed")), limit=10_000)
        events = tx.events_since(start)
        notes = tx.handover_notes(since=start)
        breached_ids = {e.alert_id for e in events if e.action == "breached"}
        breached = [a for a in (tx.get_alert(i) for i in sorted(breached_ids)) if a is not None]
        summary = _summarise(ctx, now, start, active, events, notes, breached)
        objects, digest = object_refs("alert", sorted({a.id for a in active} | breached_ids))
        record(
            tx,
            actor=actor,
            action="handover.summary",
            at=now,
            object_ids=objects,
            details={
                "hours": hours or ctx.settings.shift_hours,
                "open": len(active),
                "breached_in_shift": len(breached),
                "newly_breached": len(newly_breached),
                "claimed_untouched": len(summary.claimed_untouched),
                "raised_in_shift": summary.raised_in_shift,
                "closed_in_shift": summary.closed_in_shift,
                "notes": len(notes),
                **digest,
            },
        )
    return summary


def _summarise(
    ctx: ServiceContext,
    now: datetime,
    start: datetime,
    active: list[Alert],
    events: list[AlertEvent],
    notes: list[HandoverNote],
    breached: list[Alert],
) -> Handover:
    untouched_since = now - timedelta(minutes=ctx.settings.untouched_minutes)
    summary = Handover(now=now, shift_start=start, notes=notes, breached_in_shift=breached)
    for severity in SEVERITY_ORDER:
        summary.open_by_severity[severity] = [a for a in active if a.severity == severity]
    last_touch = _last_touch(events)
    summary.claimed_untouched = [
        a for a in active if a.status == "claimed" and last_touch.get(a.id, a.updated_at) < untouched_since
    ]
    summary.raised_in_shift = sum(1 for e in events if e.action == "raised")
    summary.closed_in_shift = sum(1 for e in events if e.action in ("dismissed", "escalated"))
    return summary


def _last_touch(events: list[AlertEvent]) -> dict[int, datetime]:
    touched: dict[int, datetime] = {}
    for event in events:
        if event.action != "breached":
            touched[event.alert_id] = max(event.at, touched.get(event.alert_id, event.at))
    return touched


def add_handover_note(ctx: ServiceContext, *, actor: Actor, text: str) -> HandoverNote:
    """Leave a note for the next shift."""
    with refusals_recorded(ctx, actor=actor, action="handover.note"):
        authorize(actor, "handover.note")
        clean = text.strip()
        if not clean:
            raise InputError("a handover note needs some text")
        with ctx.store.transaction() as tx:
            note = tx.add_handover_note(author=actor.name, text=clean, at=ctx.clock.now())
            record(
                tx,
                actor=actor,
                action="handover.note",
                at=ctx.clock.now(),
                object_ids=(f"handover_note:{note.id}",),
                details={"chars": len(clean), "sha256": hashlib.sha256(clean.encode("utf-8")).hexdigest()},
            )
        return note
