"""The alert queue (home page), its live stream, the triage actions, and their JSON API under /api/.

Actions post with htmx and get back the row's state cell (status, holder, buttons), which replaces
the one they came from; without JavaScript the same forms post normally and redirect. A bulk dismissal
reloads the queue. The live stream is server-sent events: see :func:`queue_events`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from watchfloor.domain.alerts import DISPOSITIONS, SEVERITY_ORDER, Alert, AlertStatus
from watchfloor.domain.errors import InputError, WatchfloorError
from watchfloor.services.alerts import claim_alert, dismiss_alert, escalate_alert, release_alert
from watchfloor.services.cases import add_alert_to_case
from watchfloor.services.console_queue import LiveBatch, dismiss_alerts, new_alerts, queue_page, watch_queue
from watchfloor.store.ports import AlertFilter
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.live import AlertSignal
from watchfloor.web.routes.alert_models import (
    AlertOut,
    BulkDismissIn,
    BulkDismissOut,
    DismissIn,
    NoteIn,
    QueueRowOut,
)
from watchfloor.web.templating import TEMPLATES, render

router = APIRouter()

QUEUE_PAGE = 100  # alerts the queue page shows at first; "Show more" adds as many (200 cost twice the CPU)
STREAM_SECONDS = 300  # a stream ends after this; the browser reconnects (re-authenticated, resumes by id)
KEEPALIVE_SECONDS = 15
_STATUSES: dict[str, tuple[AlertStatus, ...] | None] = {
    "active": ("open", "claimed"),
    "open": ("open",),
    "claimed": ("claimed",),
    "dismissed": ("dismissed",),
    "escalated": ("escalated",),
    "in_case": ("in_case",),
    "all": None,
}


def alert_filter(
    severity: str | None = None,
    rule: str | None = None,
    platform: str | None = None,
    lang: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
) -> AlertFilter:
    """The queue filter from query parameters (blank means any; status defaults to open and claimed)."""
    chosen = (status or "active").strip()
    if chosen not in _STATUSES:
        raise InputError(f"status must be one of {', '.join(_STATUSES)}, not {chosen!r}")
    if severity and severity not in SEVERITY_ORDER:
        raise InputError(f"severity must be one of {', '.join(SEVERITY_ORDER)}, not {severity!r}")
    if rule and not rule.strip().isdigit():
        raise InputError(f"rule must be a rule id (a number), not {rule!r}")
    return AlertFilter(
        statuses=_STATUSES[chosen],
        severities=(severity,) if severity else None,
        rule_id=int(rule) if rule else None,
        platform=platform.strip().casefold() if platform and platform.strip() else None,
        lang=lang.strip() if lang and lang.strip() else None,
        assignee=assignee.strip() if assignee and assignee.strip() else None,
    )


Filter = Annotated[AlertFilter, Depends(alert_filter)]
Who = Annotated[Caller, Depends(caller)]


@router.get("/", include_in_schema=False, openapi_extra=audit("alerts.list"))
def queue(
    request: Request, who: Who, where: Filter, limit: Annotated[int, Query(ge=1, le=1000)] = QUEUE_PAGE
) -> Response:
    """The queue: alerts by time left, filters, actions, and the live stream of new ones.

    The first :data:`QUEUE_PAGE` alerts are shown; "Show more" asks for that many more each time."""
    page = queue_page(service(request), actor=who.actor, where=where, limit=limit)
    more = None
    if len(page.rows) >= limit and limit < 1000:
        wider = {**request.query_params, "limit": str(min(1000, limit + QUEUE_PAGE))}
        more = "/?" + urlencode(wider)
    return render(
        request,
        "queue.html",
        who,
        page=page,
        rows=page.rows,
        cases=page.cases,
        filters=dict(request.query_params),
        query=urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "limit"]),
        more=more,
        severities=SEVERITY_ORDER,
        statuses=tuple(_STATUSES),
        dispositions=DISPOSITIONS,
    )


def _event(name: str, html: str, event_id: int) -> str:
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines())
    return f"id: {event_id}\nevent: {name}\n{data}\n"


async def _stream(request: Request, who: Caller, where: AlertFilter, after_id: int) -> AsyncIterator[str]:
    ctx = service(request)
    row = TEMPLATES.get_template("fragments/queue_row.html")
    loop = asyncio.get_running_loop()
    ends, ping = loop.time() + STREAM_SECONDS, loop.time() + KEEPALIVE_SECONDS
    yield f"retry: 2000\nid: {after_id}\n\n"  # an id-only message: the browser resumes from here
    signal: AlertSignal = request.app.state.alert_signal
    while loop.time() < ends and not await request.is_disconnected():
        ticket = signal.ticket()  # before the query: a notice during it still wakes the wait below
        try:
            batch: LiveBatch = await run_in_threadpool(
                new_alerts, ctx, actor=who.actor, where=where, after_id=after_id
            )
        except WatchfloorError:
            return  # refused or the store failed: end; the browser's reconnect re-checks everything
        for item in batch.rows:
            html = row.render(
                row=item, cases=batch.cases, dispositions=DISPOSITIONS, csrf=who.csrf, caller=who, live=True
            )
            after_id = item.view.alert.id
            yield _event("alert", html, after_id)
        if loop.time() >= ping:
            ping = loop.time() + KEEPALIVE_SECONDS
            yield ": keep-alive\n\n"
        if not batch.rows:
            await signal.wait(ticket)


@router.get("/events/queue", include_in_schema=False, openapi_extra=audit("alerts.watch"))
def queue_events(request: Request, who: Who, where: Filter, after: int | None = None) -> StreamingResponse:
    """New alerts as server-sent events (``event: alert``, the rendered row; ``id``: the alert id).

    Opening the stream records ``alerts.watch``. Every poll that finds new alerts is a listing and
    records ``alerts.list`` (``live: true``) naming the alerts and posts it pushed; empty polls
    record nothing. The stream ends when the browser goes away, or after STREAM_SECONDS: the browser
    then reconnects through the normal sign-in check with ``Last-Event-ID``, so a signed-out or
    disabled account stops receiving within minutes and no alert is missed across the gap.
    """
    resume = request.headers.get("Last-Event-ID", "")
    start = int(resume) if resume.isdigit() else after
    first = watch_queue(service(request), actor=who.actor, where=where, after_id=start)
    return StreamingResponse(
        _stream(request, who, where, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _state(request: Request, who: Caller, alert: Alert, alert_id: int) -> Response:
    if request.headers.get("HX-Request"):
        return render(request, "fragments/queue_state.html", who, alert=alert, dispositions=DISPOSITIONS)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/claim", include_in_schema=False, openapi_extra=audit("alerts.claim"))
def claim(request: Request, who: Who, alert_id: int) -> Response:
    return _state(request, who, claim_alert(service(request), actor=who.actor, alert_id=alert_id), alert_id)


@router.post("/alerts/{alert_id}/release", include_in_schema=False, openapi_extra=audit("alerts.release"))
def release(request: Request, who: Who, alert_id: int) -> Response:
    return _state(request, who, release_alert(service(request), actor=who.actor, alert_id=alert_id), alert_id)


@router.post("/alerts/{alert_id}/dismiss", include_in_schema=False, openapi_extra=audit("alerts.dismiss"))
def dismiss(
    request: Request,
    who: Who,
    alert_id: int,
    disposition: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    done = dismiss_alert(
        service(request),
        actor=who.actor,
        alert_id=alert_id,
        disposition=disposition,
        note=note.strip() or None,
    )
    return _state(request, who, done, alert_id)


@router.post("/alerts/{alert_id}/escalate", include_in_schema=False, openapi_extra=audit("alerts.escalate"))
def escalate(request: Request, who: Who, alert_id: int, note: Annotated[str, Form()] = "") -> Response:
    done = escalate_alert(service(request), actor=who.actor, alert_id=alert_id, note=note.strip() or None)
    return _state(request, who, done, alert_id)


@router.post("/alerts/{alert_id}/case", include_in_schema=False, openapi_extra=audit("cases.work"))
def add_to_case(request: Request, who: Who, alert_id: int, case_id: Annotated[int, Form()]) -> Response:
    case = add_alert_to_case(service(request), actor=who.actor, case_id=case_id, alert_id=alert_id)
    if request.headers.get("HX-Request"):
        return render(request, "fragments/queue_case_added.html", who, case=case, alert_id=alert_id)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/dismiss", include_in_schema=False, openapi_extra=audit("alerts.dismiss"))
def dismiss_many(
    request: Request,
    who: Who,
    alert_ids: Annotated[list[int], Form()],
    disposition: Annotated[str, Form()],
) -> Response:
    """Dismiss a group of near-duplicate alerts with one disposition, then show the queue again."""
    dismiss_alerts(service(request), actor=who.actor, alert_ids=alert_ids, disposition=disposition)
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return RedirectResponse("/", status_code=303)


# -- JSON API ------------------------------------------------------------------------------------


@router.get("/api/alerts", response_model=list[QueueRowOut], openapi_extra=audit("alerts.list"))
def api_alerts(
    request: Request, who: Who, where: Filter, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[QueueRowOut]:
    """Alerts matching the filters, soonest deadline first, with rule names and posts."""
    page = queue_page(service(request), actor=who.actor, where=where, limit=limit)
    return [QueueRowOut.of(row) for row in page.rows]


@router.post("/api/alerts/{alert_id}/claim", response_model=AlertOut, openapi_extra=audit("alerts.claim"))
def api_claim(request: Request, who: Who, alert_id: int) -> AlertOut:
    """Claim an open alert (exactly one analyst wins when several claim at once)."""
    return AlertOut.of(claim_alert(service(request), actor=who.actor, alert_id=alert_id))


@router.post("/api/alerts/{alert_id}/dismiss", response_model=AlertOut, openapi_extra=audit("alerts.dismiss"))
def api_dismiss(request: Request, who: Who, alert_id: int, body: DismissIn) -> AlertOut:
    """Close an alert with a disposition (see DISPOSITIONS: false_positive, duplicate, ...)."""
    done = dismiss_alert(
        service(request), actor=who.actor, alert_id=alert_id, disposition=body.disposition, note=body.note
    )
    return AlertOut.of(done)


@router.post(
    "/api/alerts/{alert_id}/escalate", response_model=AlertOut, openapi_extra=audit("alerts.escalate")
)
def api_escalate(request: Request, who: Who, alert_id: int, body: NoteIn | None = None) -> AlertOut:
    """Hand an alert up; it leaves the open queue."""
    note = body.note if body else None
    return AlertOut.of(escalate_alert(service(request), actor=who.actor, alert_id=alert_id, note=note))


@router.post("/api/alerts/dismiss", response_model=BulkDismissOut, openapi_extra=audit("alerts.dismiss"))
def api_dismiss_many(request: Request, who: Who, body: BulkDismissIn) -> BulkDismissOut:
    """Dismiss several alerts (a near-duplicate cluster) with one disposition; one audit event."""
    done = dismiss_alerts(
        service(request),
        actor=who.actor,
        alert_ids=body.alert_ids,
        disposition=body.disposition,
        note=body.note,
    )
    return BulkDismissOut.of(done)
