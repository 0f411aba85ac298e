"""Signing in and out, and picking the legal basis to work under."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from watchfloor.domain.errors import PermissionDenied
from watchfloor.services.auth import authenticate, logout
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.security import BASIS_COOKIE, SESSION_COOKIE
from watchfloor.web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, host or protocol-relative //): no open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def landing_page(roles: frozenset[str]) -> str:
    """Where a user lands after signing in: the queue for analysts, else the page their role works in."""
    if roles & {"analyst", "supervisor"}:
        return "/"
    if "reviewer" in roles:
        return "/exports"
    return "/admin"


def _cookie_secure(request: Request) -> bool:
    return bool(service(request).settings.web_secure_cookies) or request.url.scheme == "https"


@router.get("/login", include_in_schema=False, openapi_extra=audit(None, "the sign-in form"))
def login_form(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next), reason=reason)


@router.post("/login", include_in_schema=False, openapi_extra=audit("auth.login"))
def login(
    request: Request,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check name, password and TOTP code; on success set the session cookie and go on."""
    ctx = service(request)
    source = request.client.host if request.client else "unknown"
    try:
        issued = authenticate(ctx, name=name, password=password, totp_code=code or None, source=source)
    except PermissionDenied as exc:
        return render(
            request, "login.html", status_code=401, next=_safe_next(next), error=str(exc), name=name
        )
    target = _safe_next(next)
    if target == "/":
        target = landing_page(frozenset(issued.user.roles))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
        path="/",
    )
    return response


@router.post("/logout", include_in_schema=False, openapi_extra=audit("auth.logout"))
async def sign_out(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(logout, service(request), token)
    response = RedirectResponse("/login?reason=Signed+out.", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post(
    "/basis", include_in_schema=False, openapi_extra=audit(None, "remembers a choice; checked on use")
)
def pick_basis(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    basis: Annotated[int, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Remember the legal basis the analyst works under (every service call re-checks it)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        BASIS_COOKIE, str(basis), httponly=True, samesite="strict", secure=_cookie_secure(request), path="/"
    )
    return response
