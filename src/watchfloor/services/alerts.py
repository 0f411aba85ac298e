"""The triage queue: list, show ("why this alert"), claim, release, dismiss, escalate, reopen, sweep.

Transitions are single conditional updates in the store, so two analysts can never both hold a claim
and a dismissed alert cannot be dismissed again; every step is recorded with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import Alert, AlertAction, AlertEvent, AlertStatus, Disposition, as_disposition
from watchfloor.domain.errors import Conflict, NotFound
from watchfloor.domain.rules import RuleVersion
from watchfloor.services.context import ServiceContext
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


def list_alerts(
    ctx: ServiceContext, *, actor: Actor, where: AlertFilter, limit: int = 100
) -> list[AlertView]:
    """Alerts matching ``where``, soonest deadline first, with rule names and posts."""
    with ctx.store.transaction() as tx:
        alerts = tx.list_alerts(where, limit=limit)
        posts = {p.id: p for p in tx.get_posts([a.post_id for a in alerts if a.post_id is not None])}
        names = {r.id: r.current.name for r in tx.list_rules()}
        return [
            AlertView(
                alert=a, rule_name=names.get(a.rule_id, f"rule {a.rule_id}"), post=posts.get(a.post_id or -1)
            )
            for a in alerts
        ]


def show_alert(ctx: ServiceContext, *, actor: Actor, alert_id: int) -> AlertDetail:
    """The alert, the rule version that fired, its post(s) and its history."""
    with ctx.store.transaction() as tx:
        alert = _require(tx, alert_id)
        post_ids = tx.alert_posts(alert_id)
        posts = tx.get_posts(post_ids)
        first = next((p for p in posts if p.id == alert.post_id), None)
        return AlertDetail(
            alert=alert,
            rule=_fired_version(tx, alert),
            post=first,
            grouped_posts=[p for p in posts if p.id != alert.post_id],
            events=tx.alert_events(alert_id),
        )


def _transition(
    ctx: ServiceContext,
    *,
    actor: Actor,
    alert_id: int,
    allowed_from: tuple[AlertStatus, ...],
    to_status: AlertStatus,
    action: AlertAction,
    assignee: str | None = None,
    disposition: Disposition | None = None,
    note: str | None = None,
    holder_only: bool = False,
) -> Alert:
    with ctx.store.transaction() as tx:
        before = _require(tx, alert_id)
        if before.status == "claimed" and before.assignee not in (None, actor.name) and to_status != "open":
            raise Conflict(f"alert {alert_id} is claimed by {before.assignee}; ask them or a supervisor")
        after = tx.transition_alert(
            alert_id,
            allowed_from=allowed_from,
            to_status=to_status,
            action=action,
            actor=actor.name,
            at=ctx.clock.now(),
            assignee=assignee,
            disposition=disposition,
            note=note,
            require_assignee=actor.name if holder_only else None,
        )
        if after is None:
            current = _require(tx, alert_id)
            held = f" by {current.assignee}" if current.status == "claimed" and current.assignee else ""
            raise Conflict(
                f"alert {alert_id} is {current.status}{held}; cannot {action.removesuffix('ed')} it"
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
        disposition=as_disposition(disposition),
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
    with ctx.store.transaction() as tx:
        return tx.mark_breaches(now=now or ctx.clock.now(), actor=actor.name)
