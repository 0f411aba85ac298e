"""How a route declares the audit action its service call records.

``audit("alerts.claim")`` goes into a route's ``openapi_extra``; a test walks every route and fails on
one without it, so no new page can read or change data without saying what it records. Routes that
touch no protected data say why: ``audit(None, "the login form")``.
"""

from __future__ import annotations


def audit(action: str | None, why_none: str | None = None) -> dict[str, object]:
    """``openapi_extra`` naming the audit action a route records (or why it records none)."""
    if action is None and not why_none:
        raise ValueError("a route that records no audit event must say why")
    return {"x-audit": action or f"none: {why_none}"}
