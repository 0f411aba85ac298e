"""Jinja2 rendering for the console: autoescaped templates with the caller, CSRF token and navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from watchfloor import __version__
from watchfloor.web.deps import Caller

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True  # every template, whatever its name: post text is hostile
# Templates ship inside the package and do not change while the console runs; Jinja's default checked
# each template file's modification time on every use (200 times per queue page, one per row).
TEMPLATES.env.auto_reload = False
TEMPLATES.env.globals["version"] = __version__

# (label, path, roles that see it); a link is only a convenience: every route checks permission itself.
NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("Queue", "/", frozenset({"analyst", "supervisor"})),
    ("Search", "/search", frozenset({"analyst", "supervisor"})),
    ("Rules", "/rules", frozenset({"analyst", "supervisor", "auditor"})),
    ("Cases", "/cases", frozenset({"analyst", "supervisor"})),
    ("Exports", "/exports", frozenset({"analyst", "supervisor", "reviewer", "auditor"})),
    ("Handover", "/handover", frozenset({"analyst", "supervisor"})),
    ("Dashboard", "/dashboard", frozenset({"analyst", "supervisor", "auditor"})),
    ("Admin", "/admin", frozenset({"admin", "supervisor", "auditor"})),
)


def render(
    request: Request, template: str, caller: Caller | None = None, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the caller, their CSRF token and the navigation they may see."""
    nav = [(label, path) for label, path, roles in NAV if caller is not None and caller.actor.roles & roles]
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"caller": caller, "csrf": caller.csrf if caller else None, "nav": nav, **context},
        status_code=status_code,
    )
