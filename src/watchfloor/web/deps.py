"""Who is calling: the one dependency every protected route takes.

A browser is identified by its session cookie (then every unsafe request must carry the CSRF token),
a script by ``Authorization: Bearer <API token>``. Either way the user's roles are read from the store
on every request, so a role change or a disabled account takes effect at once (ASVS 8.3.2). A request
that is neither is refused with :class:`NotSignedIn`, which the app turns into a redirect to the login
page (HTML) or a 401 (the JSON API).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import PermissionDenied
from watchfloor.services.auth import session_actor, token_actor
from watchfloor.services.context import ServiceContext
from watchfloor.web.security import (
    BASIS_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    csrf_ok,
    csrf_token,
)


class NotSignedIn(Exception):
    """No valid session or API token; ``reason`` is shown on the login page."""

    def __init__(self, reason: str = "Please sign in.") -> None:
        super().__init__(reason)
        self.reason = reason


class CsrfRejected(Exception):
    """A state-changing browser request without the session's CSRF token (``actor`` sent it)."""

    def __init__(self, actor: Actor) -> None:
        super().__init__("missing or wrong CSRF token")
        self.actor = actor


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user of one request, with what the templates and services need about them."""

    actor: Actor
    session_key: str  # one per console session or API token: the repeated-viewing rule counts these
    csrf: str | None  # None for API-token callers
    basis_id: int | None  # the legal basis picked (query ?basis=, else the last one picked)

    def has(self, *roles: str) -> bool:
        return bool(self.actor.roles & set(roles))


def service(request: Request) -> ServiceContext:
    """The service context the app was built with."""
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServiceContext)
    return ctx


def _basis(request: Request) -> int | None:
    raw = request.query_params.get("basis") or request.cookies.get(BASIS_COOKIE)
    return int(raw) if raw and raw.isdigit() else None


async def caller(request: Request) -> Caller:
    """The caller of ``request`` (see the module docstring); raises NotSignedIn or CsrfRejected."""
    ctx = service(request)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
        try:
            actor = await run_in_threadpool(token_actor, ctx, token)
        except PermissionDenied as exc:
            raise NotSignedIn(str(exc)) from None
        key = "api-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
        return Caller(actor=actor, session_key=key, csrf=None, basis_id=_basis(request))
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotSignedIn()
    token = cookie
    try:
        actor = await run_in_threadpool(session_actor, ctx, token)
    except PermissionDenied as exc:
        raise NotSignedIn(str(exc)) from None
    if request.method in UNSAFE_METHODS:
        presented: str | None = request.headers.get(CSRF_HEADER)
        if presented is None and "form" in request.headers.get("content-type", ""):
            presented = str((await request.form()).get(CSRF_FIELD) or "") or None
        if not csrf_ok(token, presented):
            raise CsrfRejected(actor)
    key = "web-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
    return Caller(actor=actor, session_key=key, csrf=csrf_token(token), basis_id=_basis(request))
