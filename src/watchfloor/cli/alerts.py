"""`watchfloor alerts ...` and `watchfloor handover`: work the triage queue and hand over shifts."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.cli.search import OutputFormat
from watchfloor.domain.alerts import Alert
from watchfloor.services.alerts import (
    AlertView,
    claim_alert,
    dismiss_alert,
    escalate_alert,
    list_alerts,
    release_alert,
    reopen_alert,
    show_alert,
    sweep_breaches,
)
from watchfloor.services.handover import add_handover_note, handover_summary
from watchfloor.store.ports import AlertFilter

alerts_app = typer.Typer(
    help="The alert queue: list, show, claim, dismiss, escalate, reopen.", no_args_is_help=True
)
handover_app = typer.Typer(
    help="Shift handover summary (run without a subcommand) and notes.", invoke_without_command=True
)
app.add_typer(alerts_app, name="alerts")
app.add_typer(handover_app, name="handover")

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def time_left(alert: Alert, now: datetime) -> str:
    """``12m left`` / ``3m OVERDUE``: what the queue's countdown shows."""
    delta = alert.deadline - now
    overdue = delta < timedelta(0)
    minutes = int(abs(delta).total_seconds() // 60)
    text = f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
    return f"{text} OVERDUE" if overdue else f"{text} left"


def _row(view: AlertView, now: datetime) -> list[Text | str]:
    a = view.alert
    excerpt = view.post.post.searchable_text().replace("\n", " ")[:90] if view.post else ""
    count = f" (+{a.post_count - 1})" if a.post_count > 1 else ""
    return [
        str(a.id),
        Text(a.severity, style=_SEVERITY_STYLE.get(a.severity, "")),
        a.status,
        time_left(a, now) if a.status in ("open", "claimed") else "",
        Text(view.rule_name + count),
        Text(a.assignee or ""),
        Text(excerpt),
    ]


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None, typer.Option(help="open, claimed, dismissed, escalated (repeatable).")
    ] = None,
    severity: Annotated[
        list[str] | None, typer.Option(help="critical, high, medium, low (repeatable).")
    ] = None,
    rule: Annotated[int | None, typer.Option(help="Only this rule's alerts.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only alerts held by this user.")] = None,
    platform: Annotated[str | None, typer.Option(help="Only alerts on posts from this platform.")] = None,
    lang: Annotated[str | None, typer.Option(help="Only alerts on posts in this language.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    output: Annotated[OutputFormat | None, typer.Option("--format", help="table or ndjson.")] = None,
) -> None:
    """The queue, soonest deadline first (default: open and claimed alerts).

    Example: watchfloor alerts list --status open --format ndjson
    """
    state = state_of(ctx)
    where = AlertFilter(
        statuses=tuple(status or ("open", "claimed")),  # type: ignore[arg-type]
        severities=tuple(severity) if severity else None,
        rule_id=rule,
        assignee=assignee,
        platform=platform,
        lang=lang,
    )
    service = state.context()
    views = list_alerts(service, actor=state.actor(), where=where, limit=limit)
    if (
        output or (OutputFormat.table if sys.stdout.isatty() else OutputFormat.ndjson)
    ) is not OutputFormat.table:
        for view in views:
            record = {"alert": view.alert, "rule_name": view.rule_name}
            sys.stdout.buffer.write(msgspec.json.encode(record) + b"\n")
        return
    now = service.clock.now()
    table = Table("id", "severity", "status", "deadline", "rule", "assignee", "post", box=None)
    for view in views:
        table.add_row(*_row(view, now))
    out.print(table)
    err.print(f"{len(views):,} alerts")


@alerts_app.command("show")
def alerts_show(ctx: typer.Context, alert_id: Annotated[int, typer.Argument(help="Alert id.")]) -> None:
    """Why this alert: the post with matched words highlighted, the rule version that fired, the history.

    Example: watchfloor alerts show 12
    """
    state = state_of(ctx)
    service = state.context()
    d = show_alert(service, actor=state.actor(), alert_id=alert_id)
    a = d.alert
    out.print(
        Text(f"alert {a.id} · {a.severity} · {a.status} · {time_left(a, service.clock.now())}", style="bold")
    )
    out.print(Text(f"rule {d.rule.rule_id} v{d.rule.version} “{d.rule.name}”: {d.rule.query}"))
    if a.fields:
        out.print(Text("fields that matched: " + ", ".join(a.fields)))
    if a.kind == "burst" and a.window_start and a.window_end:
        out.print(
            Text(
                f"burst: {a.post_count:,} posts between {a.window_start:%Y-%m-%d %H:%M} "
                f"and {a.window_end:%H:%M} UTC"
            )
        )
    if d.post is not None:
        post = d.post.post
        text = Text(post.searchable_text())
        for start, end in a.spans:
            text.stylize("bold black on yellow", start, end)
        out.print(
            Text(
                f"\n{post.platform} · {post.author_handle or post.author_id or '—'} · "
                f"{post.created_at:%Y-%m-%d %H:%M} UTC"
            )
        )
        if post.url:
            out.print(Text(post.url))
        out.print(text)
    if d.grouped_posts:
        out.print(Text(f"\n{len(d.grouped_posts)} near-duplicate posts grouped under this alert"))
    out.print(Text("\nhistory:"))
    for e in d.events:
        detail = " ".join(x for x in (e.disposition or "", e.note or "") if x)
        out.print(Text(f"  {e.at:%Y-%m-%d %H:%M} {e.actor} {e.action} {detail}".rstrip()))


def _done(alert: Alert) -> None:
    holder = f" by {alert.assignee}" if alert.assignee else ""
    out.print(Text(f"alert {alert.id} is now {alert.status}{holder}"))


@alerts_app.command("claim")
def alerts_claim(ctx: typer.Context, alert_id: Annotated[int, typer.Argument(help="Alert id.")]) -> None:
    """Take an alert (only one analyst can hold it).

    Example: watchfloor --as maria alerts claim 12
    """
    state = state_of(ctx)
    _done(claim_alert(state.context(), actor=state.actor(), alert_id=alert_id))


@alerts_app.command("release")
def alerts_release(ctx: typer.Context, alert_id: Annotated[int, typer.Argument(help="Alert id.")]) -> None:
    """Give a claimed alert back to the queue.

    Example: watchfloor --as maria alerts release 12
    """
    state = state_of(ctx)
    _done(release_alert(state.context(), actor=state.actor(), alert_id=alert_id))


@alerts_app.command("dismiss")
def alerts_dismiss(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    reason: Annotated[
        str, typer.Option(help="false_positive, duplicate, out_of_scope, not_actionable, resolved.")
    ],
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """Close an alert with a disposition.

    Example: watchfloor alerts dismiss 12 --reason false_positive --note "song lyrics"
    """
    state = state_of(ctx)
    _done(
        dismiss_alert(
            state.context(),
            actor=state.actor(),
            alert_id=alert_id,
            disposition=reason.replace("-", "_"),
            note=note,
        )
    )


@alerts_app.command("escalate")
def alerts_escalate(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    note: Annotated[str | None, typer.Option(help="What the supervisor should know.")] = None,
) -> None:
    """Escalate an alert.

    Example: watchfloor alerts escalate 12 --note "credible threat, named location"
    """
    state = state_of(ctx)
    _done(escalate_alert(state.context(), actor=state.actor(), alert_id=alert_id, note=note))


@alerts_app.command("reopen")
def alerts_reopen(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Put a dismissed or escalated alert back on the queue.

    Example: watchfloor alerts reopen 12 --note "dismissed by mistake"
    """
    state = state_of(ctx)
    _done(reopen_alert(state.context(), actor=state.actor(), alert_id=alert_id, note=note))


@alerts_app.command("sweep")
def alerts_sweep(ctx: typer.Context) -> None:
    """Record deadline breaches now (the runner does this continuously; handover does it too).

    Example: watchfloor alerts sweep
    """
    state = state_of(ctx)
    breached = sweep_breaches(state.context(), actor=state.actor())
    out.print(Text(f"{len(breached):,} alerts newly past their deadline"))


@handover_app.callback()
def handover(
    ctx: typer.Context,
    hours: Annotated[
        int | None, typer.Option(min=1, max=72, help="Look back this many hours (default: one shift).")
    ] = None,
) -> None:
    """Shift handover: open alerts by severity and time left, breaches, untouched claims, notes.

    Example: watchfloor handover;  watchfloor handover note "rule 7 is noisy tonight"
    """
    if ctx.invoked_subcommand is not None:
        return
    state = state_of(ctx)
    service = state.context()
    h = handover_summary(service, actor=state.actor(), hours=hours)
    out.print(Text(f"Handover {h.now:%Y-%m-%d %H:%M} UTC (shift since {h.shift_start:%H:%M})", style="bold"))
    out.print(
        Text(f"raised this shift: {h.raised_in_shift:,}, dismissed or escalated: {h.closed_in_shift:,}")
    )
    for severity, alerts in h.open_by_severity.items():
        if alerts:
            soonest = min(alerts, key=lambda a: a.deadline)
            out.print(
                Text(
                    f"  {severity}: {len(alerts):,} open, "
                    f"next deadline {time_left(soonest, h.now)} (alert {soonest.id})",
                    style=_SEVERITY_STYLE.get(severity, ""),
                )
            )
    out.print(Text(f"deadlines breached this shift: {len(h.breached_in_shift):,}"))
    for a in h.breached_in_shift[:10]:
        out.print(Text(f"  alert {a.id} ({a.severity}) {a.status}"))
    out.print(Text(f"claimed but untouched: {len(h.claimed_untouched):,}"))
    for a in h.claimed_untouched[:10]:
        out.print(Text(f"  alert {a.id} held by {a.assignee}"))
    out.print(Text("notes:"))
    for note in h.notes:
        out.print(Text(f"  {note.at:%H:%M} {note.author}: {note.text}"))
    if not h.notes:
        out.print(Text("  none"))


@handover_app.command("note")
def handover_note(ctx: typer.Context, text: Annotated[str, typer.Argument(help="The note.")]) -> None:
    """Leave a note for the next shift.

    Example: watchfloor handover note "flood rule noisy after the storm warning; consider pausing"
    """
    state = state_of(ctx)
    note = add_handover_note(state.context(), actor=state.actor(), text=text)
    out.print(Text(f"note saved at {note.at:%H:%M} UTC"))
