"""Console routes: reviewed exports and case reports — the list, one review, the reviewer's reading of
the exact bytes with approve (bound to the SHA-256 shown) or reject, and the author's release as a
download with its manifest (pages, and their JSON API under /api/exports).

Each route calls one service, which checks permission (the author can neither read the content as a
review nor approve it) and records the one audit event.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from watchfloor.domain.oversight import Dissemination
from watchfloor.services import dissemination as exports
from watchfloor.services import release
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]
Status = Literal["pending", "approved", "rejected", "released"]
PREVIEW_BYTES = 200_000  # the reviewer page shows this much text; the whole file is downloadable

NOTICES = {
    "requested": "Sent for review. A reviewer who is not you must approve the exact bytes before release.",
    "approved": "Approved: the author can now release exactly these bytes.",
    "rejected": "Refused: the held content was deleted, and the author was told why.",
}


def _page(request: Request, who: Caller, template: str, **context: Any) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(request, template, who, notice=notice, **context)


def _attachment(content: bytes, media_type: str, filename: str, **headers: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **headers},
    )


# ---- pages --------------------------------------------------------------------------------------


@router.get("/exports", include_in_schema=False, openapi_extra=audit("exports.read"))
def exports_page(request: Request, who: Who, status: Status | None = None) -> Response:
    found = exports.list_exports(service(request), actor=who.actor, status=status)
    return _page(request, who, "exports.html", exports=found, status=status)


@router.get("/exports/{export_id}", include_in_schema=False, openapi_extra=audit("exports.read"))
def export_page(request: Request, who: Who, export_id: int) -> Response:
    found = exports.show_export(service(request), actor=who.actor, dissemination_id=export_id)
    return _page(request, who, "export.html", d=found, fmt=release.release_format(found))


@router.get("/exports/{export_id}/review", include_in_schema=False, openapi_extra=audit("exports.review"))
def review_page(request: Request, who: Who, export_id: int) -> Response:
    """The exact bytes under review, for a reviewer who is not the author, with their SHA-256."""
    found, content = exports.review_content(service(request), actor=who.actor, dissemination_id=export_id)
    fmt = release.release_format(found)
    preview = None if fmt == "pdf" else content[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return _page(
        request,
        who,
        "export_review.html",
        d=found,
        fmt=fmt,
        preview=preview,
        truncated=len(content) > PREVIEW_BYTES,
        size=len(content),
        sha256=exports.sha256_hex(content),
    )


@router.get(
    "/exports/{export_id}/review/content", include_in_schema=False, openapi_extra=audit("exports.review")
)
def review_download(request: Request, who: Who, export_id: int) -> Response:
    """The content under review as a file, for the reviewer to read (a PDF report): not a release."""
    found, content = exports.review_content(service(request), actor=who.actor, dissemination_id=export_id)
    name = f"under-review-{release.download_name(found)}"
    sha = exports.sha256_hex(content)
    return _attachment(content, _media_type(found), name, **{"X-Content-SHA256": sha})


@router.post("/exports/{export_id}/approve", include_in_schema=False, openapi_extra=audit("exports.decide"))
def approve_form(
    request: Request,
    who: Who,
    export_id: int,
    content_sha256: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    exports.approve_export(
        service(request),
        actor=who.actor,
        dissemination_id=export_id,
        content_sha256=content_sha256,
        note=note.strip() or None,
    )
    return RedirectResponse(f"/exports/{export_id}?done=approved", status_code=303)


@router.post("/exports/{export_id}/reject", include_in_schema=False, openapi_extra=audit("exports.decide"))
def reject_form(request: Request, who: Who, export_id: int, note: Annotated[str, Form()] = "") -> Response:
    exports.reject_export(service(request), actor=who.actor, dissemination_id=export_id, note=note)
    return RedirectResponse(f"/exports/{export_id}?done=rejected", status_code=303)


@router.post("/exports/{export_id}/release", include_in_schema=False, openapi_extra=audit("exports.release"))
def release_form(request: Request, who: Who, export_id: int) -> Response:
    """Release an approved export to its author as a download (the manifest is the second download)."""
    out = release.release_export_bytes(service(request), actor=who.actor, dissemination_id=export_id)
    sha = out.dissemination.content_sha256
    return _attachment(out.content, out.media_type, out.filename, **{"X-Content-SHA256": sha})


@router.get("/exports/{export_id}/manifest", include_in_schema=False, openapi_extra=audit("exports.read"))
def manifest_download(request: Request, who: Who, export_id: int) -> Response:
    found, manifest = release.export_manifest(service(request), actor=who.actor, dissemination_id=export_id)
    return _attachment(manifest, "application/json", release.download_name(found) + ".manifest.json")


def _media_type(found: Dissemination) -> str:
    return {"pdf": "application/pdf", "csv": "text/csv"}.get(
        release.release_format(found), "application/x-ndjson"
    )


# ---- JSON API ---------------------------------------------------------------------------------------


class ExportOut(BaseModel):
    id: int
    kind: str
    title: str
    author: str
    basis_id: int
    recipient: str
    format: str
    content_sha256: str
    item_count: int
    status: str
    created_at: datetime
    reviewer: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    released_at: datetime | None = None
    case_id: int | None = None


class ReviewOut(BaseModel):
    export: ExportOut
    content_sha256: str
    bytes: int
    content_base64: str


class Approval(BaseModel):
    content_sha256: str
    note: str | None = None


class Rejection(BaseModel):
    note: str


class ReleaseOut(BaseModel):
    export: ExportOut
    filename: str
    media_type: str
    content_base64: str
    manifest: dict[str, Any]


def export_out(found: Dissemination) -> ExportOut:
    """The API form of a review (also used by the case report route)."""
    case_id = found.spec.get("case_id")
    fields = {f: getattr(found, f) for f in ExportOut.model_fields if f not in ("format", "case_id")}
    return ExportOut(
        **fields,
        format=release.release_format(found),
        case_id=case_id if isinstance(case_id, int) else None,
    )


@router.get("/api/exports", response_model=list[ExportOut], openapi_extra=audit("exports.read"))
def api_exports(request: Request, who: Who, status: Status | None = None) -> list[ExportOut]:
    return [export_out(d) for d in exports.list_exports(service(request), actor=who.actor, status=status)]


@router.get("/api/exports/{export_id}", response_model=ExportOut, openapi_extra=audit("exports.read"))
def api_export(request: Request, who: Who, export_id: int) -> ExportOut:
    return export_out(exports.show_export(service(request), actor=who.actor, dissemination_id=export_id))


@router.get(
    "/api/exports/{export_id}/review", response_model=ReviewOut, openapi_extra=audit("exports.review")
)
def api_review(request: Request, who: Who, export_id: int) -> ReviewOut:
    found, content = exports.review_content(service(request), actor=who.actor, dissemination_id=export_id)
    return ReviewOut(
        export=export_out(found),
        content_sha256=exports.sha256_hex(content),
        bytes=len(content),
        content_base64=base64.b64encode(content).decode("ascii"),
    )


@router.post(
    "/api/exports/{export_id}/approve", response_model=ExportOut, openapi_extra=audit("exports.decide")
)
def api_approve(request: Request, who: Who, export_id: int, body: Approval) -> ExportOut:
    decided = exports.approve_export(
        service(request),
        actor=who.actor,
        dissemination_id=export_id,
        content_sha256=body.content_sha256,
        note=body.note,
    )
    return export_out(decided)


@router.post(
    "/api/exports/{export_id}/reject", response_model=ExportOut, openapi_extra=audit("exports.decide")
)
def api_reject(request: Request, who: Who, export_id: int, body: Rejection) -> ExportOut:
    decided = exports.reject_export(
        service(request), actor=who.actor, dissemination_id=export_id, note=body.note
    )
    return export_out(decided)


@router.post(
    "/api/exports/{export_id}/release", response_model=ReleaseOut, openapi_extra=audit("exports.release")
)
def api_release(request: Request, who: Who, export_id: int) -> ReleaseOut:
    out = release.release_export_bytes(service(request), actor=who.actor, dissemination_id=export_id)
    return ReleaseOut(
        export=export_out(out.dissemination),
        filename=out.filename,
        media_type=out.media_type,
        content_base64=base64.b64encode(out.content).decode("ascii"),
        manifest=json.loads(out.manifest_bytes),
    )
