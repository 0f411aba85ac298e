"""The console's live alert queue: the page, the live stream behind it, and bulk dismissal of a cluster.

Each function is one use case in one transaction with one audit event, like services/alerts.py:

- :func:`queue_page` is everything the queue page shows at once (alerts with their rule names and
  posts, which alerts share a near-duplicate cluster, the rules to filter by, the open cases an alert
  can be added to), recorded as ``alerts.list``.
- :func:`watch_queue` opens a live stream (``alerts.watch``): it says where the stream starts.
- :func:`new_alerts` is one poll of that stream. A poll that finds nothing shows nothing and records
  nothing (the stream polls twice a second; the log would fill with empty reads); a poll that finds
  alerts is a listing like any other and records ``alerts.list`` naming them, with ``live: true``.
- :func:`dismiss_alerts` closes several alerts (a cluster of near-duplicates) with one disposition in
  one transaction and one ``alerts.dismiss`` event naming every alert it closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import ACTIVE_STATUSES, Alert, as_disposition
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import Conflict, InputError
from watchfloor.domain.oversight import Case
from watchfloor.services.access import alert_owner, allowed, authorize
from watchfloor.services.alerts import AlertView
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refs, refusals_recorded
from watchfloor.store.ports import AlertFilter, StoreTx

MAX_BULK = 500  # alerts one bulk dismissal may close


@dataclass(frozen=True)
class QueueRow:
    """One queue row: the alert, and the active alerts (any rule) in its near-duplicate cluster."""

    view: AlertView
    cluster: list[int] = field(default_factory=list)  # active alert ids sharing the cluster, itself included


@dataclass(frozen=True)
class QueuePage:
    """What the queue page shows."""

    rows: list[QueueRow]
    rules: list[tuple[int, str]]  # (id, name) for the rule filter
    cases: list[Case]  # open cases an alert can be added to (empty without cases.read)
    latest_id: int  # the live stream starts after this alert


@dataclass(frozen=True)
class LiveBatch:
    """New alerts for a live queue, with the open cases their rows offer."""

    rows: list[QueueRow]
    cases: list[Case]


@dataclass(frozen=True)
class BulkDismissal:
    """What a bulk dismissal did: the alerts it closed and those it left (held by others, or closed)."""

    dismissed: list[Alert]
    skipped: list[int]


def _filter_details(where: AlertFilter) -> dict[str, DetailValue]:
    return {
        "statuses": None if where.statuses is None else list(where.statuses),
        "severities": None if where.severities is None else list(where.severities),
        "rule_id": where.rule_id,
        "assignee": where.assignee,
        "platform": where.platform,
        "lang": where.lang,
    }


def _rows(tx: StoreTx, alerts: Sequence[Alert]) -> list[QueueRow]:
    posts = {p.id: p for p in tx.get_posts([a.post_id for a in alerts if a.post_id is not None])}
    names = {r.id: r.current.name for r in tx.list_rules()}
    clusters = tx.cluster_alerts(
        [a.cluster_id for a in alerts if a.cluster_id is not None], statuses=ACTIVE_STATUSES
    )
    return [
        QueueRow(
            view=AlertView(
                alert=a, rule_name=names.get(a.rule_id, f"rule {a.rule_id}"), post=posts.get(a.post_id or -1)
            ),
            cluster=clusters.get(a.cluster_id, []) if a.cluster_id is not None else [],
        )
        for a in alerts
    ]


def _shown(rows: Sequence[QueueRow]) -> tuple[tuple[str, ...], dict[str, DetailValue]]:
    alert_refs, alert_digest = object_refs("alert", [r.view.alert.id for r in rows])
    post_refs, post_digest = object_refs("post", sorted({r.view.post.id for r in rows if r.view.post}))
    return alert_refs + post_refs, {"count": len(rows), **alert_digest, **post_digest}


def queue_page(ctx: ServiceContext, *, actor: Actor, where: AlertFilter, limit: int = 200) -> QueuePage:
    """The alerts matching ``where`` (soonest deadline first) with what the queue page needs beside them."""
    with refusals_recorded(ctx, actor=actor, action="alerts.list"), ctx.store.transaction() as tx:
        authorize(actor, "alerts.read")
        rows = _rows(tx, tx.list_alerts(where, limit=limit))
        rules = sorted(((r.id, r.current.name) for r in tx.list_rules()), key=lambda r: r[1].casefold())
        cases = tx.list_cases(status="open") if allowed(actor, "cases.read") else []
        page = QueuePage(rows=rows, rules=rules, cases=cases, latest_id=tx.latest_alert_id())
        objects, shown = _shown(rows)
        record(
            tx,
            actor=actor,
            action="alerts.list",
            at=ctx.clock.now(),
            object_ids=objects,
            details={**_filter_details(where), "limit": limit, "cases": len(cases), **shown},
        )
        return page


def watch_queue(ctx: ServiceContext, *, actor: Actor, where: AlertFilter, after_id: int | None) -> int:
    """Open a live view of new alerts matching ``where``; returns the alert id it starts after.

    ``after_id`` is where the browser left off (the page it loaded, or the last event it got before
    reconnecting); without it the stream starts at the newest alert.
    """
    with refusals_recorded(ctx, actor=actor, action="alerts.watch"), ctx.store.transaction() as tx:
        authorize(actor, "alerts.read")
        latest = tx.latest_alert_id()
        start = latest if after_id is None else max(0, min(after_id, latest))
        record(
            tx,
            actor=actor,
            action="alerts.watch",
            at=ctx.clock.now(),
            details={**_filter_details(where), "after_id": start},
        )
        return start


def new_alerts(
    ctx: ServiceContext, *, actor: Actor, where: AlertFilter, after_id: int, limit: int = 50
) -> LiveBatch:
    """Alerts above ``after_id`` matching ``where``, oldest first; recorded only when there are some.

    Most polls find nothing: a read-only snapshot answers those without taking the write lock.
    """
    with ctx.store.snapshot() as peek:
        if peek.latest_alert_id() <= after_id:
            return LiveBatch(rows=[], cases=[])
    with (
        refusals_recorded(ctx, actor=actor, action="alerts.list", details={"live": True}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "alerts.read")
        found = tx.alerts_after(after_id, where, limit=limit)
        if not found:
            return LiveBatch(rows=[], cases=[])
        rows = _rows(tx, found)
        cases = tx.list_cases(status="open") if allowed(actor, "cases.read") else []
        objects, shown = _shown(rows)
        record(
            tx,
            actor=actor,
            action="alerts.list",
            at=ctx.clock.now(),
            object_ids=objects,
            details={**_filter_details(where), "live": True, "after_id": after_id, "limit": limit, **shown},
        )
        return LiveBatch(rows=rows, cases=cases)


def dismiss_alerts(
    ctx: ServiceContext,
    *,
    actor: Actor,
    alert_ids: Sequence[int],
    disposition: str,
    note: str | None = None,
) -> BulkDismissal:
    """Dismiss every alert in ``alert_ids`` that ``actor`` may work and that is still active.

    Alerts someone else holds (for an analyst) or that are already closed are skipped and named in
    the event; if none could be dismissed the call is refused (Conflict) and recorded as such.
    """
    wanted = sorted(set(alert_ids))
    details: dict[str, DetailValue] = {"bulk": True, "disposition": disposition, "note": note}
    with (
        refusals_recorded(
            ctx, actor=actor, action="alerts.dismiss", object_ids=refs("alert", wanted[:100]), details=details
        ),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "alerts.work", owner=actor.name)  # may work unclaimed alerts at all
        if not wanted or len(wanted) > MAX_BULK:
            raise InputError(f"a bulk dismissal takes 1-{MAX_BULK} alert ids, not {len(wanted)}")
        code = as_disposition(disposition)
        now = ctx.clock.now()
        done: list[Alert] = []
        skipped: list[int] = []
        for alert_id in wanted:  # id order, as the store locks alert rows elsewhere (no deadlock)
            before = tx.get_alert(alert_id)
            if before is None or not allowed(actor, "alerts.work", owner=alert_owner(before, actor)):
                skipped.append(alert_id)
                continue
            after = tx.transition_alert(
                alert_id,
                allowed_from=ACTIVE_STATUSES,
                to_status="dismissed",
                action="dismissed",
                actor=actor.name,
                at=now,
                assignee=actor.name,
                disposition=code,
                note=note,
                require_assignee=before.assignee if before.status == "claimed" else None,
            )
            if after is None:
                skipped.append(alert_id)
            else:
                done.append(after)
        if not done:
            raise Conflict(
                f"none of the {len(wanted)} alerts could be dismissed: they are closed already or held "
                "by someone else (a supervisor can dismiss those)"
            )
        objects, digest = object_refs("alert", [a.id for a in done])
        record(
            tx,
            actor=actor,
            action="alerts.dismiss",
            at=now,
            object_ids=objects,
            details={
                **details,
                "disposition": code,
                "dismissed": len(done),
                "skipped": len(skipped),
                **digest,
            },
        )
        return BulkDismissal(dismissed=done, skipped=skipped)
