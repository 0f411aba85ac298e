"""Console routes: cases — list, detail (tasks, typed notes, account links, deadline), evidence capture
and viewing with its custody chain, re-verification, and the case report sent for review (pages, and
their JSON API under /api/cases).

Each route calls one service, which checks permission and records the one audit event. Form posts
answer with a redirect back (post/redirect/get) carrying a fixed notice key, never request text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from watchfloor.domain.actor import Actor
from watchfloor.domain.casework import EvidenceItem
from watchfloor.domain.oversight import Case
from watchfloor.services import case_report, casefile, cases, evidence
from watchfloor.services.access import allowed
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.routes.exports import ExportOut, export_out
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]
Status = Literal["open", "closed"]
TEXT_PARTS = ("application/json", "application/x-ndjson", "text/csv", "application/xml", "text/plain")

NOTICES = {
    "opened": "The case is open. Capture evidence from a post, add notes and tasks.",
    "note": "The note was added to the timeline.",
    "task": "The task was added.",
    "task-done": "The task is done.",
    "deadline": "The deadline was changed.",
    "link": "The account was linked to the case, with your reason.",
    "captured": "The post was captured as evidence: its parts are stored write-once with their SHA-256.",
    "closed": "The case is closed; its retention period starts now.",
}


def _can(actor: Actor) -> Callable[..., bool]:
    def can(operation: str, owner: str | None = None) -> bool:
        return allowed(actor, operation, owner=owner)

    return can


def _page(request: Request, who: Caller, template: str, **context: Any) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(request, template, who, can=_can(who.actor), notice=notice, **context)


def _back(case_id: int, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}?done={done}{anchor}", status_code=303)


# ---- pages --------------------------------------------------------------------------------------


@router.get("/cases", include_in_schema=False, openapi_extra=audit("cases.read"))
def cases_page(request: Request, who: Who, status: Status | None = None) -> Response:
    rows = cases.case_overview(service(request), actor=who.actor, status=status)
    return _page(request, who, "cases.html", rows=rows, status=status)


@router.post("/cases", include_in_schema=False, openapi_extra=audit("cases.open"))
def open_case_form(
    request: Request, who: Who, title: Annotated[str, Form()], basis: Annotated[int | None, Form()] = None
) -> Response:
    basis_id = basis if basis is not None else who.basis_id
    case = cases.open_case(service(request), actor=who.actor, title=title, basis_id=basis_id)
    return _back(case.id, "opened")


@router.get("/cases/{case_id}", include_in_schema=False, openapi_extra=audit("cases.read"))
def case_page(request: Request, who: Who, case_id: int) -> Response:
    view = cases.show_case(service(request), actor=who.actor, case_id=case_id)
    return _page(request, who, "case.html", view=view, case=view.case)


@router.post("/cases/{case_id}/notes", include_in_schema=False, openapi_extra=audit("cases.work"))
def note_form(
    request: Request, who: Who, case_id: int, kind: Annotated[str, Form()], body: Annotated[str, Form()]
) -> Response:
    casefile.add_note(service(request), actor=who.actor, case_id=case_id, kind=kind, body=body)
    return _back(case_id, "note", "#notes")


@router.post("/cases/{case_id}/tasks", include_in_schema=False, openapi_extra=audit("cases.work"))
def task_form(request: Request, who: Who, case_id: int, text: Annotated[str, Form()]) -> Response:
    casefile.add_task(service(request), actor=who.actor, case_id=case_id, text=text)
    return _back(case_id, "task", "#tasks")


@router.post(
    "/cases/{case_id}/tasks/{task_id}/done", include_in_schema=False, openapi_extra=audit("cases.work")
)
def task_done_form(request: Request, who: Who, case_id: int, task_id: int) -> Response:
    casefile.complete_task(service(request), actor=who.actor, case_id=case_id, task_id=task_id)
    return _back(case_id, "task-done", "#tasks")


@router.post("/cases/{case_id}/deadline", include_in_schema=False, openapi_extra=audit("cases.work"))
def deadline_form(request: Request, who: Who, case_id: int, due: Annotated[str, Form()] = "") -> Response:
    when = casefile.parse_due(due)
    casefile.set_deadline(service(request), actor=who.actor, case_id=case_id, due=when)
    return _back(case_id, "deadline")


@router.post("/cases/{case_id}/links", include_in_schema=False, openapi_extra=audit("cases.work"))
def link_form(
    request: Request,
    who: Who,
    case_id: int,
    handle: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    platform: Annotated[str, Form()] = "",
) -> Response:
    casefile.link_account(
        service(request), actor=who.actor, case_id=case_id, handle=handle, reason=reason, platform=platform
    )
    return _back(case_id, "link", "#links")


@router.post("/cases/{case_id}/close", include_in_schema=False, openapi_extra=audit("cases.work"))
def close_form(request: Request, who: Who, case_id: int, summary: Annotated[str, Form()] = "") -> Response:
    cases.close_case(service(request), actor=who.actor, case_id=case_id, summary=summary.strip() or None)
    return _back(case_id, "closed")


@router.post("/cases/{case_id}/evidence", include_in_schema=False, openapi_extra=audit("evidence.capture"))
def capture_form(request: Request, who: Who, case_id: int, post_id: Annotated[int, Form()]) -> Response:
    item = evidence.capture_evidence(service(request), actor=who.actor, case_id=case_id, post_id=post_id)
    return RedirectResponse(f"/cases/{case_id}/evidence/{item.id}?done=captured", status_code=303)


@router.get(
    "/cases/{case_id}/evidence/{evidence_id}", include_in_schema=False, openapi_extra=audit("evidence.view")
)
def evidence_page(
    request: Request, who: Who, case_id: int, evidence_id: int, show: str | None = None
) -> Response:
    """The item, its parts and hashes, its custody chain; ``?show=raw.json`` also shows a text part."""
    view = evidence.view_evidence(
        service(request), actor=who.actor, case_id=case_id, evidence_id=evidence_id, part=show
    )
    text = None
    if view.content is not None and view.part is not None and view.part.media_type in TEXT_PARTS:
        text = view.content.decode("utf-8", errors="replace")
    return _page(
        request, who, "case_evidence.html", view=view, item=view.item, text=text, text_parts=TEXT_PARTS
    )


@router.get(
    "/cases/{case_id}/evidence/{evidence_id}/parts/{name}",
    include_in_schema=False,
    openapi_extra=audit("evidence.view"),
)
def evidence_part(request: Request, who: Who, case_id: int, evidence_id: int, name: str) -> Response:
    """One stored part as a download (never rendered by the console: a snapshot is HTML from a post)."""
    view = evidence.view_evidence(
        service(request), actor=who.actor, case_id=case_id, evidence_id=evidence_id, part=name
    )
    assert view.part is not None and view.content is not None
    filename = f"evidence-{evidence_id}-{view.part.name}"
    return Response(
        view.content,
        media_type=view.part.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Evidence-SHA256": view.part.sha256,
        },
    )


@router.get("/cases/{case_id}/verify", include_in_schema=False, openapi_extra=audit("evidence.verify"))
def verify_page(request: Request, who: Who, case_id: int) -> Response:
    checks = evidence.verify_evidence(service(request), actor=who.actor, case_id=case_id)
    return _page(request, who, "case_verify.html", case_id=case_id, checks=checks)


@router.get("/cases/{case_id}/report", include_in_schema=False, openapi_extra=audit("cases.read"))
def report_page(request: Request, who: Who, case_id: int) -> Response:
    report = case_report.preview_case_report(service(request), actor=who.actor, case_id=case_id)
    return _page(request, who, "case_report.html", report=report, case=report.case)


@router.post("/cases/{case_id}/report", include_in_schema=False, openapi_extra=audit("exports.request"))
def report_form(
    request: Request,
    who: Who,
    case_id: int,
    recipient: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
) -> Response:
    pending = case_report.request_case_report(
        service(request), actor=who.actor, case_id=case_id, recipient=recipient, title=title.strip() or None
    )
    return RedirectResponse(f"/exports/{pending.id}?done=requested", status_code=303)


# ---- JSON API ---------------------------------------------------------------------------------------


class CaseOut(BaseModel):
    id: int
    title: str
    basis_id: int
    basis_title: str | None = None
    owner: str
    status: str
    opened_at: datetime
    closed_at: datetime | None = None
    due_at: datetime | None = None
    summary: str | None = None


class PartOut(BaseModel):
    name: str
    media_type: str
    sha256: str
    size: int


class EvidenceOut(BaseModel):
    id: int
    case_id: int
    post_id: int
    platform: str
    native_id: str
    url: str | None = None
    captured_at: datetime
    captured_by: str
    basis_id: int
    tool_version: str
    parts: list[PartOut]


class CustodyOut(BaseModel):
    action: str
    actor: str
    at: datetime
    note: str | None = None


class EvidenceDetailOut(EvidenceOut):
    custody: list[CustodyOut]


class NoteOut(BaseModel):
    id: int
    kind: str
    body: str
    author: str
    at: datetime


class TaskOut(BaseModel):
    id: int
    text: str
    done: bool
    created_by: str
    done_by: str | None = None


class LinkOut(BaseModel):
    id: int
    platform: str | None = None
    handle: str
    reason: str
    linked_by: str
    at: datetime


class CaseDetailOut(CaseOut):
    alert_ids: list[int]
    notes: list[NoteOut]
    tasks: list[TaskOut]
    links: list[LinkOut]
    evidence: list[EvidenceOut]
    report_ids: list[int]


class NewCase(BaseModel):
    title: str
    basis_id: int | None = None  # default: the caller's ?basis=


class NewEvidence(BaseModel):
    post_id: int


class NewNote(BaseModel):
    kind: Literal["fact", "assessment"]
    body: str


class NewReport(BaseModel):
    recipient: str
    title: str | None = None


def _case_out(case: Case, basis_title: str | None = None) -> CaseOut:
    return CaseOut(
        **{f: getattr(case, f) for f in CaseOut.model_fields if f != "basis_title"}, basis_title=basis_title
    )


def _evidence_out(item: EvidenceItem) -> EvidenceOut:
    fields = {f: getattr(item, f) for f in EvidenceOut.model_fields if f != "parts"}
    return EvidenceOut(**fields, parts=[PartOut(**vars_of(p)) for p in item.parts])


def vars_of(record: Any) -> dict[str, Any]:
    return {f: getattr(record, f) for f in record.__struct_fields__}


@router.get("/api/cases", response_model=list[CaseOut], openapi_extra=audit("cases.read"))
def api_cases(request: Request, who: Who, status: Status | None = None) -> list[CaseOut]:
    rows = cases.case_overview(service(request), actor=who.actor, status=status)
    return [_case_out(r.case, r.basis_title) for r in rows]


@router.post("/api/cases", response_model=CaseOut, status_code=201, openapi_extra=audit("cases.open"))
def api_open_case(request: Request, who: Who, body: NewCase) -> CaseOut:
    basis_id = body.basis_id if body.basis_id is not None else who.basis_id
    return _case_out(cases.open_case(service(request), actor=who.actor, title=body.title, basis_id=basis_id))


@router.get("/api/cases/{case_id}", response_model=CaseDetailOut, openapi_extra=audit("cases.read"))
def api_case(request: Request, who: Who, case_id: int) -> CaseDetailOut:
    view = cases.show_case(service(request), actor=who.actor, case_id=case_id)
    return CaseDetailOut(
        **_case_out(view.case, view.basis.title if view.basis else None).model_dump(),
        alert_ids=view.alert_ids,
        notes=[NoteOut(**{k: v for k, v in vars_of(n).items() if k != "case_id"}) for n in view.notes],
        tasks=[
            TaskOut(id=t.id, text=t.text, done=t.done, created_by=t.created_by, done_by=t.done_by)
            for t in view.tasks
        ],
        links=[LinkOut(**{k: v for k, v in vars_of(link).items() if k != "case_id"}) for link in view.links],
        evidence=[_evidence_out(e) for e in view.evidence],
        report_ids=[d.id for d in view.reports],
    )


@router.post(
    "/api/cases/{case_id}/notes", response_model=NoteOut, status_code=201, openapi_extra=audit("cases.work")
)
def api_note(request: Request, who: Who, case_id: int, body: NewNote) -> NoteOut:
    note = casefile.add_note(
        service(request), actor=who.actor, case_id=case_id, kind=body.kind, body=body.body
    )
    return NoteOut(id=note.id, kind=note.kind, body=note.body, author=note.author, at=note.at)


@router.post(
    "/api/cases/{case_id}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    openapi_extra=audit("evidence.capture"),
)
def api_capture(request: Request, who: Who, case_id: int, body: NewEvidence) -> EvidenceOut:
    item = evidence.capture_evidence(service(request), actor=who.actor, case_id=case_id, post_id=body.post_id)
    return _evidence_out(item)


@router.get(
    "/api/cases/{case_id}/evidence/{evidence_id}",
    response_model=EvidenceDetailOut,
    openapi_extra=audit("evidence.view"),
)
def api_evidence(request: Request, who: Who, case_id: int, evidence_id: int) -> EvidenceDetailOut:
    view = evidence.view_evidence(service(request), actor=who.actor, case_id=case_id, evidence_id=evidence_id)
    custody = [CustodyOut(action=c.action, actor=c.actor, at=c.at, note=c.note) for c in view.custody]
    return EvidenceDetailOut(**_evidence_out(view.item).model_dump(), custody=custody)


@router.post(
    "/api/cases/{case_id}/report",
    response_model=ExportOut,
    status_code=201,
    openapi_extra=audit("exports.request"),
)
def api_report(request: Request, who: Who, case_id: int, body: NewReport) -> ExportOut:
    pending = case_report.request_case_report(
        service(request), actor=who.actor, case_id=case_id, recipient=body.recipient, title=body.title
    )
    return export_out(pending)
