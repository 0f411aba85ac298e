"""Console routes for admins and auditors: users, legal bases, the watch register, retention, the audit
log, the transparency report and the accuracy card (pages, and their JSON API under /api/admin/).

Each route calls one service, which checks permission and records the one audit event; a page only
hides the buttons the caller's roles would not allow (``can``), it decides nothing. A form post is
answered with a redirect back to its page (post/redirect/get), carrying a fixed notice key, never text
from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditEvent
from watchfloor.domain.errors import InputError
from watchfloor.domain.identity import ROLE_HELP, ROLES, User
from watchfloor.domain.oversight import LegalBasis, RetentionCounts
from watchfloor.services import accuracy, audit, legal, reports, retention, users, watches
from watchfloor.services.access import allowed
from watchfloor.web.audited import audit as audited
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]

NOTICES = {
    "user-added": "The account was added. Set its password next.",
    "roles": "Roles changed; the account's console sessions have ended.",
    "disabled": "The account is disabled; its sessions and API tokens have ended.",
    "enabled": "The account is enabled again.",
    "totp-reset": "The second factor was removed; the account enrols a new one before signing in.",
    "password": "The password was set; the account's console sessions have ended.",
    "basis-added": "The legal basis was added and is in force.",
    "basis-retired": "The legal basis was retired; what hangs on it stops.",
    "watch-approved": "The watch was approved and runs from now.",
    "watch-denied": "The watch was denied.",
    "purged": "The retention purge ran.",
}
# The admin index: (title, path, the operation that lets a caller read the page, what it is for).
SECTIONS = (
    ("Users and roles", "/admin/users", "users.read", "accounts, roles, second factors"),
    ("Legal bases", "/admin/bases", "basis.read", "why monitoring is lawful; add and retire"),
    ("Watch register", "/admin/watches", "watches.read", "named-account watches and approvals"),
    ("Retention", "/admin/retention", "retention.read", "periods, a dry run, the purge"),
    ("Audit log", "/admin/audit", "audit.read", "every view and change, and verification"),
    ("Transparency report", "/admin/reports/transparency", "reports.transparency", "public counts"),
    ("Accuracy card", "/admin/reports/accuracy", "reports.accuracy", "precision per rule and language"),
)


def _can(actor: Actor) -> Callable[..., bool]:
    """For templates: whether to show a control (the service decides for real)."""

    def can(operation: str, owner: str | None = None) -> bool:
        return allowed(actor, operation, owner=owner)

    return can


def _page(request: Request, who: Caller, template: str, **context: Any) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(request, template, who, can=_can(who.actor), notice=notice, **context)


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _day(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """Midnight UTC starting the day ``value`` (YYYY-MM-DD); with ``end``, the midnight after it."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name} {value!r} is not a date: write YYYY-MM-DD, e.g. 2026-10-01") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1 if end else 0)


def _plain(value: object) -> Any:
    return msgspec.to_builtins(value)


# ---- API models --------------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    name: str
    display_name: str | None = None
    roles: list[str]
    disabled: bool
    demo: bool
    has_password: bool
    has_totp: bool
    created_at: datetime
    created_by: str


class BasisOut(BaseModel):
    id: int
    title: str
    authority: str
    purpose: str
    necessity: str
    owner: str
    state: str
    review_at: datetime | None = None
    expires_at: datetime | None = None
    created_at: datetime
    created_by: str
    retired_at: datetime | None = None
    retired_by: str | None = None
    retired_reason: str | None = None


class WatchOut(BaseModel):
    id: int
    subject: str
    platform: str | None = None
    basis_id: int
    basis_title: str | None = None
    basis_state: str | None = None
    reason: str
    requester: str
    requested_at: datetime
    state: str
    in_force: bool
    stopped_by_basis: bool
    days: int
    approver: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    expires_at: datetime | None = None
    renewal_of: int | None = None


class RetentionOut(BaseModel):
    dry_run: bool
    unmatched_days: int
    alert_days: int
    case_days_after_close: int
    cases: int
    alerts: int
    posts_unmatched: int
    posts_of_expired_alerts: int
    posts_deleted_by_platform: int
    deleted_but_held: int


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    object_ids: list[str]
    basis_id: int | None = None
    purpose: str | None = None
    outcome: str
    details: dict[str, Any]
    request_id: str | None = None


class VerifyOut(BaseModel):
    verified: bool
    size: int
    root_sha256: str
    problems: list[str]
    more_problems: int
    passed: list[str]


class NewUser(BaseModel):
    name: str
    roles: list[str]
    display_name: str | None = None


class NewBasis(BaseModel):
    title: str
    authority: str
    purpose: str
    necessity: str
    owner: str | None = None
    review_at: date | None = None
    expires_at: date | None = None


class Note(BaseModel):
    note: str | None = None


class Reason(BaseModel):
    reason: str


def _user(user: User) -> UserOut:
    return UserOut.model_validate(_plain(user))


def _basis(basis: LegalBasis, now: datetime) -> BasisOut:
    return BasisOut.model_validate({**_plain(basis), "state": basis.state(now)})


def _watch(view: watches.WatchView) -> WatchOut:
    fields = {k: v for k, v in _plain(view.watch).items() if k in WatchOut.model_fields}
    return WatchOut.model_validate(
        {
            **fields,
            "state": view.state,
            "in_force": view.in_force,
            "stopped_by_basis": view.stopped_by_basis,
            "basis_title": view.basis_title,
            "basis_state": view.basis_state,
        }
    )


def _retention(request: Request, counts: RetentionCounts, *, dry_run: bool) -> RetentionOut:
    settings = service(request).settings
    return RetentionOut(
        dry_run=dry_run,
        unmatched_days=settings.retention_unmatched_days,
        alert_days=settings.retention_alert_days,
        case_days_after_close=settings.retention_case_days_after_close,
        cases=counts.cases,
        alerts=counts.alerts,
        posts_unmatched=counts.posts_unmatched,
        posts_of_expired_alerts=counts.posts_of_expired_alerts,
        posts_deleted_by_platform=counts.posts_deleted_by_platform,
        deleted_but_held=counts.deleted_but_held,
    )


def _event(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut.model_validate(_plain(event))


def _verified(report: Any) -> VerifyOut:
    return VerifyOut(
        verified=report.ok,
        size=report.size,
        root_sha256=report.root.hex(),
        problems=list(report.problems),
        more_problems=report.more_problems,
        passed=list(report.passed),
    )


# ---- index ------------------------------------------------------------------------------------------


@router.get("/admin", include_in_schema=False, openapi_extra=audited(None, "links only; no data shown"))
def admin_index(request: Request, who: Who) -> Response:
    shown = [s for s in SECTIONS if allowed(who.actor, s[2])]
    return _page(request, who, "admin.html", sections=shown)


# ---- users ------------------------------------------------------------------------------------------


@router.get("/admin/users", include_in_schema=False, openapi_extra=audited("users.list"))
def users_page(request: Request, who: Who) -> Response:
    found = users.list_users(service(request), actor=who.actor)
    return _page(request, who, "admin_users.html", users=found, roles=ROLES, role_help=ROLE_HELP)


@router.post("/admin/users", include_in_schema=False, openapi_extra=audited("users.add"))
def users_add(
    request: Request,
    who: Who,
    name: Annotated[str, Form()],
    roles: Annotated[list[str], Form()],
    display_name: Annotated[str, Form()] = "",
) -> Response:
    users.add_user(
        service(request),
        actor=who.actor,
        name=name.strip(),
        roles=",".join(roles),
        display_name=display_name.strip() or None,
    )
    return _back("/admin/users", "user-added")


@router.post("/admin/users/{name}/roles", include_in_schema=False, openapi_extra=audited("users.roles"))
def users_roles(
    request: Request, who: Who, name: str, roles: Annotated[list[str] | None, Form()] = None
) -> Response:
    users.set_roles(service(request), actor=who.actor, name=name, roles=",".join(roles or []))
    return _back("/admin/users", "roles")


@router.post("/admin/users/{name}/disable", include_in_schema=False, openapi_extra=audited("users.disable"))
def users_disable(request: Request, who: Who, name: str) -> Response:
    users.disable_user(service(request), actor=who.actor, name=name)
    return _back("/admin/users", "disabled")


@router.post("/admin/users/{name}/enable", include_in_schema=False, openapi_extra=audited("users.enable"))
def users_enable(request: Request, who: Who, name: str) -> Response:
    users.enable_user(service(request), actor=who.actor, name=name)
    return _back("/admin/users", "enabled")


@router.post("/admin/users/{name}/totp-reset", include_in_schema=False, openapi_extra=audited("users.totp"))
def users_totp_reset(request: Request, who: Who, name: str) -> Response:
    users.reset_totp(service(request), actor=who.actor, name=name)
    return _back("/admin/users", "totp-reset")


@router.post("/admin/users/{name}/password", include_in_schema=False, openapi_extra=audited("users.password"))
def users_password(request: Request, who: Who, name: str, password: Annotated[str, Form()]) -> Response:
    users.set_password(service(request), actor=who.actor, name=name, password=password)
    return _back("/admin/users", "password")


@router.get("/api/admin/users", openapi_extra=audited("users.list"), response_model=list[UserOut])
def api_users(request: Request, who: Who) -> list[UserOut]:
    return [_user(u) for u in users.list_users(service(request), actor=who.actor)]


@router.post("/api/admin/users", openapi_extra=audited("users.add"), response_model=UserOut)
def api_users_add(request: Request, who: Who, body: NewUser) -> UserOut:
    added = users.add_user(
        service(request),
        actor=who.actor,
        name=body.name,
        roles=",".join(body.roles),
        display_name=body.display_name,
    )
    return _user(added)


@router.post(
    "/api/admin/users/{name}/disable", openapi_extra=audited("users.disable"), response_model=UserOut
)
def api_users_disable(request: Request, who: Who, name: str) -> UserOut:
    return _user(users.disable_user(service(request), actor=who.actor, name=name))


# ---- legal bases ------------------------------------------------------------------------------------


@router.get("/admin/bases", include_in_schema=False, openapi_extra=audited("basis.list"))
def bases_page(request: Request, who: Who) -> Response:
    found = legal.list_bases(service(request), actor=who.actor)
    now = service(request).clock.now()
    return _page(request, who, "admin_bases.html", bases=[(b, b.state(now)) for b in found])


@router.post("/admin/bases", include_in_schema=False, openapi_extra=audited("basis.add"))
def bases_add(
    request: Request,
    who: Who,
    title: Annotated[str, Form()],
    authority: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
    necessity: Annotated[str, Form()],
    owner: Annotated[str, Form()] = "",
    review_at: Annotated[str, Form()] = "",
    expires_at: Annotated[str, Form()] = "",
) -> Response:
    legal.add_basis(
        service(request),
        actor=who.actor,
        title=title,
        authority=authority,
        purpose=purpose,
        necessity=necessity,
        owner=owner.strip() or None,
        review_at=_day(review_at, "the review date"),
        expires_at=_day(expires_at, "the expiry"),
    )
    return _back("/admin/bases", "basis-added")


@router.post("/admin/bases/{basis_id}/retire", include_in_schema=False, openapi_extra=audited("basis.retire"))
def bases_retire(request: Request, who: Who, basis_id: int, reason: Annotated[str, Form()]) -> Response:
    legal.retire_basis(service(request), actor=who.actor, basis_id=basis_id, reason=reason)
    return _back("/admin/bases", "basis-retired")


@router.get("/api/admin/bases", openapi_extra=audited("basis.list"), response_model=list[BasisOut])
def api_bases(request: Request, who: Who) -> list[BasisOut]:
    now = service(request).clock.now()
    return [_basis(b, now) for b in legal.list_bases(service(request), actor=who.actor)]


@router.post("/api/admin/bases", openapi_extra=audited("basis.add"), response_model=BasisOut)
def api_bases_add(request: Request, who: Who, body: NewBasis) -> BasisOut:
    added = legal.add_basis(
        service(request),
        actor=who.actor,
        title=body.title,
        authority=body.authority,
        purpose=body.purpose,
        necessity=body.necessity,
        owner=body.owner,
        review_at=_day(body.review_at.isoformat() if body.review_at else None, "review_at"),
        expires_at=_day(body.expires_at.isoformat() if body.expires_at else None, "expires_at"),
    )
    return _basis(added, service(request).clock.now())


@router.post(
    "/api/admin/bases/{basis_id}/retire", openapi_extra=audited("basis.retire"), response_model=BasisOut
)
def api_bases_retire(request: Request, who: Who, basis_id: int, body: Reason) -> BasisOut:
    retired = legal.retire_basis(service(request), actor=who.actor, basis_id=basis_id, reason=body.reason)
    return _basis(retired, service(request).clock.now())


# ---- the watch register -------------------------------------------------------------------------------


@router.get("/admin/watches", include_in_schema=False, openapi_extra=audited("watches.list"))
def watches_page(request: Request, who: Who, state: str | None = None) -> Response:
    found = watches.list_watches(service(request), actor=who.actor, state=state or None)
    return _page(
        request, who, "admin_watches.html", watches=found, state=state or "", states=watches.WATCH_STATES
    )


@router.post(
    "/admin/watches/{watch_id}/approve", include_in_schema=False, openapi_extra=audited("watches.approve")
)
def watches_approve(request: Request, who: Who, watch_id: int, note: Annotated[str, Form()] = "") -> Response:
    watches.approve_watch(service(request), actor=who.actor, watch_id=watch_id, note=note or None)
    return _back("/admin/watches", "watch-approved")


@router.post("/admin/watches/{watch_id}/deny", include_in_schema=False, openapi_extra=audited("watches.deny"))
def watches_deny(request: Request, who: Who, watch_id: int, note: Annotated[str, Form()] = "") -> Response:
    watches.deny_watch(service(request), actor=who.actor, watch_id=watch_id, note=note)
    return _back("/admin/watches", "watch-denied")


@router.get("/api/admin/watches", openapi_extra=audited("watches.list"), response_model=list[WatchOut])
def api_watches(request: Request, who: Who, state: str | None = None) -> list[WatchOut]:
    return [_watch(v) for v in watches.list_watches(service(request), actor=who.actor, state=state)]


@router.post(
    "/api/admin/watches/{watch_id}/approve", openapi_extra=audited("watches.approve"), response_model=Note
)
def api_watches_approve(request: Request, who: Who, watch_id: int, body: Note) -> Note:
    decided = watches.approve_watch(service(request), actor=who.actor, watch_id=watch_id, note=body.note)
    return Note(note=decided.decision_note)


@router.post("/api/admin/watches/{watch_id}/deny", openapi_extra=audited("watches.deny"), response_model=Note)
def api_watches_deny(request: Request, who: Who, watch_id: int, body: Note) -> Note:
    decided = watches.deny_watch(service(request), actor=who.actor, watch_id=watch_id, note=body.note or "")
    return Note(note=decided.decision_note)


# ---- retention --------------------------------------------------------------------------------------


@router.get("/admin/retention", include_in_schema=False, openapi_extra=audited("retention.read"))
def retention_page(request: Request, who: Who) -> Response:
    counts = retention.purge(service(request), actor=who.actor, dry_run=True)
    return _page(request, who, "admin_retention.html", r=_retention(request, counts, dry_run=True))


@router.post("/admin/retention/purge", include_in_schema=False, openapi_extra=audited("retention.purge"))
def retention_run(request: Request, who: Who) -> Response:
    retention.purge(service(request), actor=who.actor, dry_run=False)
    return _back("/admin/retention", "purged")


@router.get("/api/admin/retention", openapi_extra=audited("retention.read"), response_model=RetentionOut)
def api_retention(request: Request, who: Who) -> RetentionOut:
    counts = retention.purge(service(request), actor=who.actor, dry_run=True)
    return _retention(request, counts, dry_run=True)


@router.post(
    "/api/admin/retention/purge", openapi_extra=audited("retention.purge"), response_model=RetentionOut
)
def api_retention_run(request: Request, who: Who) -> RetentionOut:
    counts = retention.purge(service(request), actor=who.actor, dry_run=False)
    return _retention(request, counts, dry_run=False)


# ---- the audit log ----------------------------------------------------------------------------------

AuditFilters = dict[str, str | int | None]


@router.get("/admin/audit", include_in_schema=False, openapi_extra=audited("audit.read"))
def audit_page(
    request: Request,
    who: Who,
    by: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    events = audit.list_audit_events(
        service(request), actor=who.actor, by=by or None, action=action or None, before=before, limit=limit
    )
    filters: AuditFilters = {"by": by or "", "action": action or "", "limit": limit}
    older = events[-1].seq if len(events) == limit else None
    return _page(request, who, "admin_audit.html", events=events, filters=filters, older=older)


@router.get("/admin/audit/verify", include_in_schema=False, openapi_extra=audited("audit.verify"))
def audit_verify_page(request: Request, who: Who) -> Response:
    report = _verified(audit.verify_log(service(request), actor=who.actor))
    if request.headers.get("HX-Request"):
        return render(request, "fragments/admin_verify.html", who, v=report)
    return _page(request, who, "admin_verify.html", v=report)


@router.get(
    "/api/admin/audit/events", openapi_extra=audited("audit.read"), response_model=list[AuditEventOut]
)
def api_audit_events(
    request: Request,
    who: Who,
    by: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> list[AuditEventOut]:
    found = audit.list_audit_events(
        service(request), actor=who.actor, by=by, action=action, before=before, limit=limit
    )
    return [_event(e) for e in found]


@router.get("/api/admin/audit/verify", openapi_extra=audited("audit.verify"), response_model=VerifyOut)
def api_audit_verify(request: Request, who: Who) -> VerifyOut:
    return _verified(audit.verify_log(service(request), actor=who.actor))


# ---- reports ----------------------------------------------------------------------------------------


def _period(request: Request, period: str | None, since: str | None, until: str | None) -> reports.Period:
    return reports.parse_period(
        period or None, since=since or None, until=until or None, now=service(request).clock.now()
    )


@router.get(
    "/admin/reports/transparency", include_in_schema=False, openapi_extra=audited("reports.transparency")
)
def transparency_page(
    request: Request,
    who: Who,
    period: str | None = None,
    since: str | None = None,
    until: str | None = None,
    download: str | None = None,
) -> Response:
    chosen = _period(request, period, since, until)
    report = reports.transparency_report(service(request), actor=who.actor, period=chosen)
    if download == "html":  # a self-contained file to publish (its inline CSS works outside the console)
        name = f"transparency-{report.period.label.replace(' ', '_')}.html"
        return Response(
            reports.render_html(report),
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    asked = urlencode({k: v for k, v in (("period", period), ("since", since), ("until", until)) if v})
    doc = report.as_json()
    return _page(request, who, "admin_transparency.html", doc=doc, period=report.period.label, asked=asked)


@router.get(
    "/api/admin/reports/transparency",
    openapi_extra=audited("reports.transparency"),
    response_model=dict[str, Any],
)
def api_transparency(
    request: Request,
    who: Who,
    period: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    chosen = _period(request, period, since, until)
    return reports.transparency_report(service(request), actor=who.actor, period=chosen).as_json()


@router.get("/admin/reports/accuracy", include_in_schema=False, openapi_extra=audited("reports.accuracy"))
def accuracy_page(request: Request, who: Who, since: str | None = None, until: str | None = None) -> Response:
    card = accuracy.accuracy_card(
        service(request),
        actor=who.actor,
        since=_day(since, "since"),
        until=_day(until, "until", end=True),
    )
    return _page(
        request, who, "admin_accuracy.html", card=card.as_json(), since=since or "", until=until or ""
    )


@router.get(
    "/api/admin/reports/accuracy", openapi_extra=audited("reports.accuracy"), response_model=dict[str, Any]
)
def api_accuracy(
    request: Request, who: Who, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    card = accuracy.accuracy_card(
        service(request), actor=who.actor, since=_day(since, "since"), until=_day(until, "until", end=True)
    )
    return card.as_json()
