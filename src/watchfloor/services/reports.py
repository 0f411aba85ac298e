"""The transparency report: what the watch floor did in a period, in counts the public may read.

Santa Clara Principles "Numbers", the ACLU CCOPS model bill and reliability-accountability.md B7/B.2:
standing rules, searches, named-account watches, posts collected and purged, alerts and what analysts
decided, cases, exports and their review, and the audit log's daily roots so that outsiders can later
check the log was not rewritten. Aggregates only: every count from 1 to 4 is shown as "<5" (a small
cell can point at one person), 0 as 0; no handle, name, id or post text appears anywhere. Each metric
is defined in words in docs/transparency-and-accuracy.md and computed by one query in
``store/reports_sql.py``; a golden test checks every number against an independent query.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from jinja2 import Environment, PackageLoader, select_autoescape

from watchfloor import __version__
from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import DISPOSITIONS
from watchfloor.domain.audit import AuditEvent, format_time
from watchfloor.domain.errors import InputError
from watchfloor.domain.rules import SEVERITIES
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import DailyRoot

SUPPRESS_BELOW = 5  # counts 1..4 are published as "<5"
SEARCH_ACTIONS = ("posts.search", "posts.count")
PURGE_ACTION = "retention.purge"
_PURGED_POST_KEYS = ("posts_unmatched", "posts_of_expired_alerts", "posts_deleted_by_platform")

_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"(\d{4})")
PERIOD_HELP = "use 2026-Q4, 2026-11, 2026, or --since 2026-10-01 --until 2026-12-31"


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period ``[start, end)`` in UTC, with the label it was asked for by."""

    label: str
    start: datetime
    end: datetime


def _day(value: date) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: write YYYY-MM-DD, e.g. 2026-10-01") from None


def parse_period(
    period: str | None = None, *, since: str | None = None, until: str | None = None, now: datetime
) -> Period:
    """The period a report covers: ``2026-Q4``, ``2026-11``, ``2026``, or ``since``/``until`` dates
    (both days included); with nothing given, the quarter containing ``now``."""
    if period is not None and (since is not None or until is not None):
        raise InputError(f"give either --period or --since/--until, not both: {PERIOD_HELP}")
    if since is not None or until is not None:
        start = _day(_date(since, "--since")) if since else None
        last = _date(until, "--until") if until else (now.astimezone(UTC).date())
        if start is None:
            raise InputError(f"--until needs --since as well: {PERIOD_HELP}")
        end = _day(last) + timedelta(days=1)
        if end <= start:
            raise InputError(f"--until ({last}) is before --since ({since}): {PERIOD_HELP}")
        return Period(f"{start.date()} to {last}", start, end)
    if period is None:
        today = now.astimezone(UTC)
        period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    text = period.strip()
    if match := _QUARTER.fullmatch(text):
        year, quarter = int(match[1]), int(match[2])
        start = _month_start(year, 3 * quarter - 2)
        return Period(f"{year}-Q{quarter}", start, _month_start(year, 3 * quarter + 1))
    if (match := _MONTH.fullmatch(text)) and 1 <= int(match[2]) <= 12:
        year, month = int(match[1]), int(match[2])
        return Period(f"{year}-{month:02d}", _month_start(year, month), _month_start(year, month + 1))
    if match := _YEAR.fullmatch(text):
        year = int(match[1])
        return Period(str(year), _month_start(year, 1), _month_start(year + 1, 1))
    raise InputError(f"period {period!r} is not understood: {PERIOD_HELP}")


def shown(count: int) -> int | str:
    """A count as published: 0 and counts of at least :data:`SUPPRESS_BELOW` as they are, else "<5"."""
    return count if count == 0 or count >= SUPPRESS_BELOW else f"<{SUPPRESS_BELOW}"


@dataclass(frozen=True, slots=True)
class Metric:
    """One published cell: its key, what it counts, and the count (published through :func:`shown`)."""

    key: str
    label: str
    count: int

    @property
    def shown(self) -> int | str:
        return shown(self.count)


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    metrics: tuple[Metric, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    """The report for one period. ``count`` values are raw; publish only :meth:`as_json` / HTML."""

    period: Period
    generated_at: datetime
    sections: tuple[Section, ...]
    roots: tuple[DailyRoot, ...]
    app_version: str = __version__

    def metric(self, key: str) -> Metric:
        return next(m for s in self.sections for m in s.metrics if m.key == key)

    def as_json(self) -> dict[str, object]:
        """The publishable document: suppressed counts, no names or ids."""
        return {
            "format": "watchfloor-transparency-report/1",
            "period": {
                "label": self.period.label,
                "start": format_time(self.period.start),
                "end": format_time(self.period.end),
            },
            "generated_at": format_time(self.generated_at),
            "app_version": self.app_version,
            "suppression": f"counts from 1 to {SUPPRESS_BELOW - 1} are shown as <{SUPPRESS_BELOW}",
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "note": s.note,
                    "metrics": [{"key": m.key, "label": m.label, "value": m.shown} for m in s.metrics],
                }
                for s in self.sections
            ],
            "audit_roots": [
                {"day": r.day.date().isoformat(), "tree_size": r.size, "root_sha256": r.root.hex()}
                for r in self.roots
            ],
        }

    def json_text(self) -> str:
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2) + "\n"


def _outcomes(events: Iterable[AuditEvent]) -> tuple[int, int, int]:
    """(searches done, searches refused for want of permission, posts purged) from audit events."""
    searches = blocked = purged = 0
    for event in events:
        if event.action == PURGE_ACTION:
            if event.outcome == "ok" and not event.details.get("dry_run"):
                purged += _purged_posts(event.details)
        elif event.outcome == "ok":
            searches += 1
        elif event.outcome == "denied" and event.details.get("error") == "permission_denied":
            blocked += 1
    return searches, blocked, purged


def _purged_posts(details: Mapping[str, object]) -> int:
    """Posts one purge event says it removed: ``posts`` if recorded, else the sum of the post classes."""
    total = details.get("posts")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    return sum(v for k in _PURGED_POST_KEYS if isinstance(v := details.get(k), int))


def _sections(
    counts: dict[str, int], in_force: dict[str, int], outcomes: dict[str, int], audit: tuple[int, int, int]
) -> tuple[Section, ...]:
    searches, blocked, purged = audit

    def m(key: str, label: str) -> Metric:
        return Metric(key, label, counts[key])

    still_open = outcomes.get("open", 0) + outcomes.get("claimed", 0)
    return (
        Section(
            "rules",
            "Standing rules",
            (
                *(
                    Metric(f"rules_in_force_{s}", f"In force at period end, {s}", in_force.get(s, 0))
                    for s in SEVERITIES
                ),
                m("rules_added", "Added"),
                m("rule_versions_sensitive", "Versions keyed on sensitive terms, with a justification"),
                m("rule_versions_approved", "Sensitive versions approved by a second person"),
            ),
        ),
        Section(
            "searches",
            "Searches",
            (
                Metric("searches", "Searches and counts run", searches),
                Metric(
                    "searches_refused", "Searches refused (no permission or watch authorisation)", blocked
                ),
            ),
        ),
        Section(
            "watches",
            "Named-account watches",
            (
                m("watches_requested", "Requested"),
                m("watches_renewals", "Of which renewals"),
                m("watches_approved", "Approved"),
                m("watches_denied", "Denied"),
                m("watches_cancelled", "Cancelled"),
                m("watches_expired", "Expired"),
            ),
        ),
        Section(
            "posts",
            "Posts",
            (
                m("posts_collected", "Collected (still stored)"),
                m("posts_imported", "Imported"),
                Metric("posts_purged", "Purged under retention", purged),
                m("holds_placed", "Legal holds placed"),
                m("holds_released", "Legal holds released"),
            ),
        ),
        Section(
            "alerts",
            "Alerts",
            (
                m("alerts_raised", "Raised"),
                m("alerts_breached", "Past their deadline"),
                *(
                    Metric(f"alerts_{d}", f"Closed as {d.replace('_', ' ')}", outcomes.get(d, 0))
                    for d in DISPOSITIONS
                ),
                Metric("alerts_escalated", "Escalated", outcomes.get("escalated", 0)),
                Metric("alerts_in_case", "Added to a case", outcomes.get("in_case", 0)),
                Metric("alerts_open", "Still open", still_open),
            ),
            note="Alerts raised in the period, by where each one is now.",
        ),
        Section("cases", "Cases", (m("cases_opened", "Opened"), m("cases_closed", "Closed"))),
        Section(
            "exports",
            "Exports and reports leaving the system",
            (
                m("exports_requested", "Requested"),
                m("exports_approved", "Approved by a reviewer"),
                m("exports_rejected", "Refused at review"),
                m("exports_released", "Released"),
            ),
        ),
        Section(
            "audit",
            "Audit log",
            (m("audit_events", "Events recorded"), m("checkpoints_signed", "Checkpoints signed")),
            note="With the daily roots below, anyone holding a later checkpoint can check the log's history.",
        ),
    )


def transparency_report(ctx: ServiceContext, *, actor: Actor, period: Period) -> TransparencyReport:
    """Compute the transparency report for ``period`` (op ``reports.transparency``; one audit event)."""
    details: dict[str, str | int | bool | None] = {"period": period.label}
    with (
        refusals_recorded(ctx, actor=actor, action="reports.transparency", details=details),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "reports.transparency")
        now = ctx.clock.now()
        start, end = period.start, period.end
        events = tx.audit_events_between(start=start, end=end, actions=(*SEARCH_ACTIONS, PURGE_ACTION))
        report = TransparencyReport(
            period=period,
            generated_at=now,
            sections=_sections(
                tx.transparency_counts(start=start, end=end, now=now),
                tx.rules_in_force(at=min(end, now)),
                tx.alert_outcomes(start=start, end=end),
                _outcomes(events),
            ),
            roots=tuple(tx.daily_roots(start=start, end=end)),
        )
        digest = hashlib.sha256(report.json_text().encode("utf-8")).hexdigest()
        record(
            tx,
            actor=actor,
            action="reports.transparency",
            at=now,
            details={
                **details,
                "start": format_time(start),
                "end": format_time(end),
                "report_sha256": digest,
            },
        )
        return report


_templates = Environment(
    loader=PackageLoader("watchfloor.services", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: TransparencyReport) -> str:
    """The report as one self-contained HTML page (inline CSS, no scripts, no external assets)."""
    return _templates.get_template("transparency.html.j2").render(doc=report.as_json())
