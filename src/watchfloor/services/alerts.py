"""The triage queue: list, show ("why this alert"), claim, release, dismiss, escalate, reopen, sweep.

Transitions are single conditional updates in the store, so two analysts can never both hold a claim
and a dismissed alert cannot be dismissed again; every step is recorded with who, when and why, in
the alert's own history and as one audit event (``alerts.*``) in the same transaction. A refused
transition (someone else holds the claim, the alert is already closed, a bad disposition) is recorded
too, with outcome ``"denied"`` or ``"error"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import Alert, AlertAction, AlertEvent, AlertStatus, as_disposition
from watchfloor.domain.audit import DetailScalar, DetailValue
from watchfloor.domain.errors import Conflict, NotFound
from watchfloor.domain.rules import RuleVersion
from watchfloor.services.access import access_alert_or_raise, authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refs, refusals_recorded
from watchfloor.store.ports import AlertFilter, StoredPost, StoreTx


@dataclass(frozen=True)
class AlertView:
    """An alert with what a queue row shows: its rule's name and the post that fired."""

    alert: Alert
    rule_name: str
    post: StoredPost | None


@dataclass(frozen=True)
class AlertDetail:
    """Everything "why this alert" shows."""

    alert: Alert
    rule: RuleVersion  # the version that fired, not the current one
    post: StoredPost | None
    grouped_posts: list[StoredPost]
    events: list[AlertEvent]


def _require(tx: StoreTx, alert_id: int) -> Alert:
    alert = tx.get_alert(alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist (see `watchfloor alerts list`)")
    return alert


def _fired_version(tx: StoreTx, alert: Alert) -> RuleVersion:
    for version in tx.rule_history(alert.rule_id):
        if version.version == alert.rule_version:
            return version
    raise NotFound(f"rule {alert.rule_id} version {alert.rule_version} is missing")


def _filter_details(where: AlertFilter) -> dict[str, DetailValue]:
    def listed(values: tuple[str, ...] | None) -> list[DetailScalar] | None:
        return None if values is None else list(values)

    return {
        "statuses": listed(where.statuses),
        "severities": listed(where.severities),
        "rule_id": where.rule_id,
        "assignee": where.assignee,
        "platform": where.platform,
        "lang": where.lang,
        "deadline_before": where.deadline_before.isoformat() if where.deadline_before else None,
        "created_since": where.created_since.isoformat() if where.created_since else None,
    }


def list_alerts(
    ctx: ServiceContext, *, actor: Actor, where: AlertFilter, limit: int = 100
) -> list[AlertView]:
    """Alerts matching ``where``, soonest deadline first, with rule names and posts."""
    with refusals_recorded(ctx, actor=actor, action="alerts.list"), ctx.store.transaction() as tx:
        authorize(actor, "alerts.read")
        alerts = tx.list_alerts(where, limit=limit)
        posts = {p.id: p for p in tx.get_posts([a.post_id for a in alerts if a.post_id is not None])}
        names = {r.id: r.current.name for r in tx.list_rules()}
        views = [
            AlertView(
                alert=a, rule_name=names.get(a.rule_id, f"rule {a.rule_id}"), post=posts.get(a.post_id or -1)
            )
            for a in alerts
        ]
        alert_refs, alert_digest = object_refs("alert", [a.id for a in alerts])
        post_refs, post_digest = object_refs("post", list(posts))
        record(
            tx,
            actor=actor,
            action="alerts.list",
            at=ctx.clock.now(),
            object_ids=alert_refs + post_refs,
            details={
                **_filter_details(where),
                "limit": limit,
                "count": len(alerts),
                **alert_digest,
                **post_digest,
            },
        )
        return views


def show_alert(ctx: ServiceContext, *, actor: Actor, alert_id: int) -> AlertDetail:
    """The alert, the rule version that fired, its post(s) and its history."""
    with (
        refusals_recorded(ctx, actor=actor, action="alerts.show", object_ids=[f"alert:{alert_id}"]),
        ctx.store.transaction() as tx,
    ):
        alert = access_alert_or_raise(tx, actor, alert_id, "alerts.read")
        post_ids = tx.alert_posts(alert_id)
        posts = tx.get_posts(post_ids)
        first = next((p for p in posts if p.id == alert.post_id), None)
        detail = AlertDetail(
            alert=alert,
            rule=_fired_version(tx, alert),
            post=first,
            grouped_posts=[p for p in posts if p.id != alert.post_id],
            events=tx.alert_events(alert_id),
        )
        post_refs, post_digest = object_refs("post", [p.id for p in posts])
        record(
            tx,
            actor=actor,
            action="alerts.show",
            at=ctx.clock.now(),
            object_ids=(f"alert:{alert_id}", f"rule:{alert.rule_id}", *post_refs),
            details={
                "rule_version": alert.rule_version,
                "status": alert.status,
                "posts": len(posts),
                "history": len(detail.events),
                **post_digest,
            },
        )
        return detail


_AUDIT_ACTIONS: dict[AlertAction, str] = {
    "claimed": "alerts.claim",
    "released": "alerts.release",
    "dismissed": "alerts.dismiss",
    "escalated": "alerts.escalate",
    "reopened": "alerts.reopen",
}


_OPERATIONS: dict[AlertAction, str] = {"claimed": "alerts.claim", "reopened": "alerts.reopen"}


def _transition(
    ctx: ServiceContext,
    *,
    actor: Actor,
    alert_id: int,
    allowed_from: tuple[AlertStatus, ...],
    to_status: AlertStatus,
    action: AlertAction,
    assignee: str | None = None,
    disposition: str | None = None,
    note: str | None = None,
    holder_only: bool = False,
) -> Alert:
    """Move one alert from ``allowed_from`` to ``to_status``, recorded (or its refusal recorded)."""
    audit_action = _AUDIT_ACTIONS[action]
    with (
        refusals_recorded(
            ctx,
            actor=actor,
            action=audit_action,
            object_ids=refs("alert", [alert_id]),
            details={"disposition": disposition, "note": note},
        ),
        ctx.store.transaction() as tx,
    ):
        code = as_disposition(disposition) if disposition is not None else None
        before = access_alert_or_raise(tx, actor, alert_id, _OPERATIONS.get(action, "alerts.work"))
        after = tx.transition_alert(
            alert_id,
            allowed_from=allowed_from,
            to_status=to_status,
            action=action,
            actor=actor.name,
            at=ctx.clock.now(),
            assignee=assignee,
            disposition=code,
            note=note,
            # The holder checked above must still hold it (a supervisor may release someone's claim).
            require_assignee=(before.assignee or actor.name) if holder_only else None,
        )
        if after is None:
            current = _require(tx, alert_id)
            held = f" by {current.assignee}" if current.status == "claimed" and current.assignee else ""
            raise Conflict(
                f"alert {alert_id} is {current.status}{held}; cannot {action.removesuffix('ed')} it"
            )
        record(
            tx,
            actor=actor,
            action=audit_action,
            at=ctx.clock.now(),
            object_ids=refs("alert", [alert_id]),
            details={
                "from_status": before.status,
                "to_status": after.status,
                "assignee": after.assignee,
                "disposition": code,
                "note": note,
            },
        )
        return after


def claim_alert(ctx: ServiceContext, *, actor: Actor, alert_id: int) -> Alert:
    """Take an open alert; exactly one analyst wins when several claim at once."""
    return _transition(
        ctx,
        actor=actor,
        alert_id=alert_id,
        allowed_from=("open",),
        to_status="claimed",
        action="claimed",
        assignee=actor.name,
    )


def release_alert(ctx: ServiceContext, *, actor: Actor, alert_id: int) -> Alert:
    """Give a claimed alert back to the queue (only its holder can)."""
    return _transition(
        ctx,
        actor=actor,
        alert_id=alert_id,
        allowed_from=("claimed",),
        to_status="open",
        action="released",
        holder_only=True,
    )


def dismiss_alert(
    ctx: ServiceContext, *, actor: Actor, alert_id: int, disposition: str, note: str | None = None
) -> Alert:
    """Close an alert with a disposition code (false_positive, duplicate, ...) and an optional note."""
    return _transition(
        ctx,
        actor=actor,
        alert_id=alert_id,
        allowed_from=("open", "claimed"),
        to_status="dismissed",
        action="dismissed",
        assignee=actor.name,
        disposition=disposition,
        note=note,
    )


def escalate_alert(ctx: ServiceContext, *, actor: Actor, alert_id: int, note: str | None = None) -> Alert:
    """Hand an alert up (to a supervisor or another desk); it leaves the open queue."""
    return _transition(
        ctx,
        actor=actor,
        alert_id=alert_id,
        allowed_from=("open", "claimed"),
        to_status="escalated",
        action="escalated",
        assignee=actor.name,
        note=note,
    )


def reopen_alert(ctx: ServiceContext, *, actor: Actor, alert_id: int, note: str | None = None) -> Alert:
    """Put a dismissed or escalated alert back on the queue, unassigned."""
    return _transition(
        ctx,
        actor=actor,
        alert_id=alert_id,
        allowed_from=("dismissed", "escalated"),
        to_status="open",
        action="reopened",
        note=note,
    )


def sweep_breaches(ctx: ServiceContext, *, actor: Actor, now: datetime | None = None) -> list[Alert]:
    """Record, once each, the active alerts whose deadline has passed (the escalation event)."""
    as_of = now or ctx.clock.now()
    with refusals_recorded(ctx, actor=actor, action="alerts.sweep"), ctx.store.transaction() as tx:
        authorize(actor, "alerts.sweep")
        breached = tx.mark_breaches(now=as_of, actor=actor.name)
        objects, digest = object_refs("alert", [a.id for a in breached])
        record(
            tx,
            actor=actor,
            action="alerts.sweep",
            at=ctx.clock.now(),
            object_ids=objects,
            details={"as_of": as_of.isoformat(), "breached": len(breached), **digest},
        )
    return breached
