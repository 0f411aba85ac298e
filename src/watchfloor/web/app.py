"""The console's app factory: security headers, one audit request scope per request, error pages, routes.

``create_app`` takes the same Settings (or a ready service context, for tests) as the CLI and builds
one FastAPI app: HTML pages for the browser and a JSON API under ``/api/`` for scripts, both calling the
same services. Every request runs inside :func:`~watchfloor.accountability.auditlog.request_scope`, so
the audit event its service call writes carries the request id (returned as ``X-Request-ID``). Errors
become pages or JSON with the right status and the message the service gave, never a traceback; a
failing store or audit log is a generic 503 (fail closed).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from watchfloor import __version__
from watchfloor.accountability.auditlog import request_scope
from watchfloor.config import Settings
from watchfloor.domain.clock import Clock
from watchfloor.domain.errors import (
    Conflict,
    InputError,
    NotFound,
    PermissionDenied,
    QuerySyntaxError,
    WatchfloorError,
)
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record_failure
from watchfloor.web.deps import CsrfRejected, NotSignedIn
from watchfloor.web.live import AlertSignal, lifespan_for
from watchfloor.web.routes import ROUTERS
from watchfloor.web.security import SECURITY_HEADERS
from watchfloor.web.templating import render
from watchfloor.wiring import build_context

log = logging.getLogger("watchfloor.web")
STATIC = Path(__file__).parent / "static"
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (Conflict, 409),
    (QuerySyntaxError, 422),
    (InputError, 422),
)


def wants_json(request: Request) -> bool:
    """API callers get JSON; browsers get pages (htmx requests get a fragment)."""
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _message(exc: Exception) -> str:
    return exc.render() if isinstance(exc, QuerySyntaxError) else str(exc)


def _error(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    if request.headers.get("HX-Request"):
        return render(request, "fragments/error.html", status_code=status, message=message)
    return render(request, "error.html", status_code=status, message=message)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, context: ServiceContext | None = None
) -> FastAPI:
    """The console on the store ``settings`` name (or on an existing service ``context``)."""
    ctx = context or build_context(settings or Settings(), clock=clock)
    ctx.store.prefer_prompt_writes()  # page views write audit events while people wait for them
    signal = AlertSignal()
    app = FastAPI(
        lifespan=lifespan_for(ctx.settings, signal),
        title="watchfloor",
        version=__version__,
        description="The watchfloor console's JSON API. Every call is recorded in the audit log.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the Swagger and ReDoc pages load scripts from CDNs: not here
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.alert_signal = signal

    @app.middleware("http")
    async def _scope_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = uuid.uuid4().hex
        request.state.request_id = request_id
        with request_scope(request_id):
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():  # a route may only set a stricter one (media files)
            response.headers.setdefault(name, value)
        response.headers["X-Request-ID"] = request_id
        if "Cache-Control" not in response.headers and not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"  # pages hold personal data
        return response

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if wants_json(request):
            return JSONResponse({"error": exc.reason}, status_code=401)
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": f"/login?next={target}"})
        return RedirectResponse(f"/login?next={target}&reason={quote(exc.reason)}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        await run_in_threadpool(
            record_failure,
            ctx,
            actor=exc.actor,
            action="auth.csrf",
            outcome="denied",
            details={
                "error": "permission_denied",
                "reason": "missing or wrong CSRF token",
                "path": request.url.path,
            },
        )
        return _error(request, 403, "This form has expired or did not come from this site; reload the page.")

    @app.exception_handler(WatchfloorError)
    async def _domain(request: Request, exc: WatchfloorError) -> Response:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), None)
        if status is None:  # the store or the audit log failed: say nothing about internals
            log.error("request %s failed: %s", getattr(request.state, "request_id", "?"), exc)
            return _error(
                request, 503, "The service is unavailable right now; nothing was changed. Try again."
            )
        return _error(request, status, _message(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return _error(request, 422, f"Some fields are missing or invalid: {problems}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in request %s", getattr(request.state, "request_id", "?"))
        return _error(request, 500, "Something went wrong on our side; nothing was changed. Try again.")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
