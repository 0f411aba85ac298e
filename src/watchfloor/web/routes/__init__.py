"""The console's routes, one module per resource (each route declares its audit action: web/audited.py)."""

from __future__ import annotations

from fastapi import APIRouter

from watchfloor.web.routes import (
    admin,
    auth,
    cases,
    dashboard,
    exports,
    graph,
    handover,
    posts,
    queue,
    rules,
    search,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    queue.router,
    posts.router,
    graph.router,
    search.router,
    rules.router,
    cases.router,
    exports.router,
    handover.router,
    dashboard.router,
    admin.router,
)
