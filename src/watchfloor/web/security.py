"""Browser-facing protections: security headers (a strict CSP), the session cookie, and CSRF tokens.

Everything a page shows may be attacker-controlled (post text, names, URLs), so the Content-Security-
Policy allows scripts, styles, images and connections from this origin only: no inline script or
style, no plugins, no framing, forms post only here. The session cookie is HttpOnly and SameSite=Strict.
Every state-changing request made with the cookie must carry the CSRF token (a form field or the
``X-CSRF-Token`` header that htmx sends): an HMAC of the session token, so it needs no server state
and changes whenever the session does. Requests authenticated with an API token (``Authorization:
Bearer``) carry no cookie and need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac

SESSION_COOKIE = "wf_session"
BASIS_COOKIE = "wf_basis"  # the legal basis the analyst last picked (a convenience; always re-checked)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def csrf_token(session_token: str) -> str:
    """The CSRF token that goes with a session (HMAC-SHA256 of a fixed label, keyed by the session)."""
    return hmac.new(session_token.encode("utf-8"), b"watchfloor-csrf-v1", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, presented: str | None) -> bool:
    """Whether ``presented`` is the session's CSRF token (constant-time comparison)."""
    return presented is not None and hmac.compare_digest(csrf_token(session_token), presented)
