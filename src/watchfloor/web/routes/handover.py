"""Shift handover: the summary for the incoming shift and notes from the outgoing one (pages and API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from watchfloor.domain.alerts import SEVERITY_ORDER
from watchfloor.services.handover import add_handover_note, handover_summary
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.routes.alert_models import HandoverNoteIn, HandoverNoteOut, HandoverOut
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]
Hours = Annotated[int | None, Query(ge=1, le=72, description="Length of the shift summarised, in hours.")]


@router.get("/handover", include_in_schema=False, openapi_extra=audit("handover.summary"))
def handover(request: Request, who: Who, hours: Hours = None) -> Response:
    """Open work by severity, breaches and untouched claims in the shift, and the shift's notes."""
    summary = handover_summary(service(request), actor=who.actor, hours=hours)
    return render(request, "handover.html", who, summary=summary, severities=SEVERITY_ORDER)


@router.post("/handover/notes", include_in_schema=False, openapi_extra=audit("handover.note"))
def add_note(request: Request, who: Who, text: Annotated[str, Form()]) -> Response:
    """Leave a note for the next shift, then show the handover again."""
    add_handover_note(service(request), actor=who.actor, text=text)
    return RedirectResponse("/handover", status_code=303)


@router.get("/api/handover", response_model=HandoverOut, openapi_extra=audit("handover.summary"))
def api_handover(request: Request, who: Who, hours: Hours = None) -> HandoverOut:
    """The shift summary (open alerts by severity, breaches, untouched claims, counts, notes)."""
    return HandoverOut.of(handover_summary(service(request), actor=who.actor, hours=hours))


@router.post("/api/handover/notes", response_model=HandoverNoteOut, openapi_extra=audit("handover.note"))
def api_add_note(request: Request, who: Who, body: HandoverNoteIn) -> HandoverNoteOut:
    """Leave a note for the next shift."""
    return HandoverNoteOut.of(add_handover_note(service(request), actor=who.actor, text=body.text))
