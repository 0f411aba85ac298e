"""Every route says what it records in the audit log, and every /api/ route is in the OpenAPI document.

A new page or endpoint that forgets ``openapi_extra=audit(...)`` (web/audited.py) fails here, so no
route can read or change data without saying which audit action its service call records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount

from tests.web.conftest import Web

_ACTION = re.compile(r"[a-z_]+\.[a-z_.]+")
_SKIP = {"/api/openapi.json"}  # FastAPI's own description route (public: it holds no data)


@dataclass(frozen=True)
class Route:
    """One route as the app serves it (path with any include prefix)."""

    path: str
    methods: frozenset[str]
    openapi_extra: dict[str, object] | None
    include_in_schema: bool


def walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterable[Route]:
    """Every APIRoute, through included routers (FastAPI >= 0.165 keeps them as ``_IncludedRouter``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, Mount) or prefix + getattr(route, "path", "") in _SKIP:
            continue
        else:
            assert isinstance(route, APIRoute), f"{route!r} is not a FastAPI route: how is it audited?"
            yield Route(
                prefix + route.path, frozenset(route.methods), route.openapi_extra, route.include_in_schema
            )


def _routes(web: Web) -> list[Route]:
    return list(walk(web.app.routes))


def test_every_route_declares_its_audit_action(web: Web) -> None:
    missing, malformed = [], []
    for route in _routes(web):
        declared = str((route.openapi_extra or {}).get("x-audit") or "")
        where = f"{sorted(route.methods)} {route.path}"
        if not declared:
            missing.append(where)
        elif not (_ACTION.fullmatch(declared) or declared.startswith("none: ")):
            malformed.append(f"{where}: {declared!r}")
    assert not missing, f"routes without openapi_extra=audit(...): {missing}"
    assert not malformed, f"x-audit must be an action like 'alerts.claim' or 'none: why': {malformed}"


def test_every_api_route_is_described_by_the_openapi_document(web: Web) -> None:
    document = web.anonymous().get("/api/openapi.json").json()
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    absent = [
        f"{method} {route.path}"
        for route in _routes(web)
        if route.path.startswith("/api/")
        for method in route.methods
        if (route.path, method) not in described
    ]
    assert not absent, f"/api/ routes missing from /api/openapi.json: {absent}"
    pages = [p for p in document["paths"] if not p.startswith("/api/")]
    assert not pages, f"HTML pages belong out of the API description (include_in_schema=False): {pages}"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("x-audit"), f"{method.upper()} {path} has no x-audit in the document"


def test_the_inventory_covers_the_admin_area(web: Web) -> None:
    paths = {route.path for route in _routes(web)}
    assert {"/admin/users", "/admin/audit", "/api/admin/audit/verify", "/login"} <= paths
