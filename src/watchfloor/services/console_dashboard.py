"""The watch-floor dashboard: volume over time, SLA performance, top hashtags and domains, imports.

Aggregate counts only (no post, no person), so it needs ``posts.stats`` (analysts, supervisors,
auditors, admins); rule names are shown to those who may read rules, others see rule ids. One event,
``dashboard.view``, records the period and the headline numbers.

SLA performance is measured on the alerts raised in the period: time to claim is from raising to the
first claim (alerts never claimed are counted apart), and breaches are the deadline breaches recorded
in the period (the sweep and handover record them, so a breach nobody has swept yet is not counted).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from watchfloor.domain.actor import Actor
from watchfloor.services.access import allowed, authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import Facet, ImportRun, StoreTx

MAX_HOURS = 24 * 31
SERIES_LIMIT = 8  # series per chart; the rest are summed as "other"


@dataclass(frozen=True)
class Series:
    """One line of a chart: a label and a count per bucket."""

    label: str
    counts: list[int]


@dataclass(frozen=True)
class Chart:
    """Counts per time bucket for several series; ``starts`` are the buckets' start times."""

    starts: list[datetime]
    series: list[Series]

    @property
    def total(self) -> int:
        return sum(sum(s.counts) for s in self.series)


@dataclass(frozen=True)
class Sla:
    """How fast alerts raised in the period were claimed, and the deadline breaches recorded in it."""

    raised: int
    claimed: int
    median_seconds_to_claim: float | None
    claimed_within_deadline: int
    breaches: int


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    until: datetime
    bucket_seconds: int
    alerts_by_rule: Chart
    posts_by_platform: Chart
    posts_by_language: Chart
    sla: Sla
    top_hashtags: list[Facet] = field(default_factory=list)
    top_domains: list[Facet] = field(default_factory=list)
    imports: list[ImportRun] = field(default_factory=list)


def _chart(since: datetime, buckets: int, bucket_seconds: int, counts: list[tuple[int, str, int]]) -> Chart:
    per: dict[str, list[int]] = defaultdict(lambda: [0] * buckets)
    for bucket, label, count in counts:
        if 0 <= bucket < buckets:
            per[label][bucket] += count
    ranked = sorted(per.items(), key=lambda item: (-sum(item[1]), item[0]))
    series = [Series(label=label, counts=values) for label, values in ranked[:SERIES_LIMIT]]
    if len(ranked) > SERIES_LIMIT:
        other = [sum(values[i] for _, values in ranked[SERIES_LIMIT:]) for i in range(buckets)]
        series.append(Series(label="other", counts=other))
    starts = [since + timedelta(seconds=i * bucket_seconds) for i in range(buckets)]
    return Chart(starts=starts, series=series)


def _sla(tx: StoreTx, since: datetime, until: datetime) -> Sla:
    events = [e for e in tx.events_since(since, actions=("raised", "claimed", "breached")) if e.at < until]
    raised = {e.alert_id: e.at for e in events if e.action == "raised"}
    first_claim: dict[int, datetime] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.action == "claimed" and event.alert_id in raised:
            first_claim.setdefault(event.alert_id, event.at)
    waits = [(first_claim[i] - raised[i]).total_seconds() for i in first_claim]
    within = 0
    for alert_id, claimed_at in first_claim.items():
        alert = tx.get_alert(alert_id)
        if alert is not None and claimed_at <= alert.deadline:
            within += 1
    return Sla(
        raised=len(raised),
        claimed=len(first_claim),
        median_seconds_to_claim=statistics.median(waits) if waits else None,
        claimed_within_deadline=within,
        breaches=sum(1 for e in events if e.action == "breached"),
    )


def dashboard(ctx: ServiceContext, *, actor: Actor, hours: int = 24) -> Dashboard:
    """The dashboard for the last ``hours`` (1 to 744) up to now, in hourly buckets (daily beyond two
    days) aligned to whole UTC hours or days."""
    with (
        refusals_recorded(ctx, actor=actor, action="dashboard.view", details={"hours": hours}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.stats")
        hours = max(1, min(hours, MAX_HOURS))
        bucket_seconds = 3600 if hours <= 48 else 86400
        now = ctx.clock.now()
        # Whole UTC hours (or days), the last one the current, partial one: it includes "now".
        buckets = -(-hours * 3600 // bucket_seconds)
        current = datetime.fromtimestamp(int(now.timestamp()) // bucket_seconds * bucket_seconds, tz=UTC)
        since = current - timedelta(seconds=(buckets - 1) * bucket_seconds)
        until = now + timedelta(microseconds=1)
        names = {r.id: r.current.name for r in tx.list_rules()} if allowed(actor, "rules.read") else {}
        by_rule = [
            (b, names.get(rule_id, f"rule {rule_id}"), n)
            for b, rule_id, n in tx.alert_volume(since=since, until=until, bucket_seconds=bucket_seconds)
        ]
        kinds: tuple[Literal["platform", "lang"], ...] = ("platform", "lang")
        volume = {
            by: tx.post_volume(since=since, until=until, bucket_seconds=bucket_seconds, by=by) for by in kinds
        }
        stats = tx.stats(top=10)
        board = Dashboard(
            since=since,
            until=now,
            bucket_seconds=bucket_seconds,
            alerts_by_rule=_chart(since, buckets, bucket_seconds, by_rule),
            posts_by_platform=_chart(since, buckets, bucket_seconds, volume["platform"]),
            posts_by_language=_chart(since, buckets, bucket_seconds, volume["lang"]),
            sla=_sla(tx, since, until),
            top_hashtags=stats.top_hashtags,
            top_domains=stats.top_domains,
            imports=tx.list_imports(limit=20),
        )
        record(
            tx,
            actor=actor,
            action="dashboard.view",
            at=now,
            details={
                "hours": hours,
                "alerts": board.alerts_by_rule.total,
                "posts": board.posts_by_platform.total,
                "breaches": board.sla.breaches,
                "imports": len(board.imports),
            },
        )
        return board
