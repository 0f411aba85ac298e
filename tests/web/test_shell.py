"""The console's shell: signing in and out, the session cookie, CSRF, security headers, errors."""

from __future__ import annotations

import time

from tests.web.conftest import PASSWORD, Web
from watchfloor.services.credentials import totp_code
from watchfloor.web.security import SESSION_COOKIE


def _events(web: Web, action: str) -> list[tuple[str, str]]:
    with web.ctx.store.transaction() as tx:
        return [
            (e.actor, e.outcome) for e in tx.audit_events(actor=None, action=action, before=None, limit=50)
        ]


def test_pages_need_a_session_and_the_api_says_401(web: Web) -> None:
    browser = web.anonymous()
    page = browser.get("/search?q=flood")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/search")
    assert browser.get("/api/openapi.json").status_code == 200  # the description is public
    assert browser.get("/docs").status_code == 404  # Swagger's page loads scripts from a CDN: not served


def test_sign_in_with_password_and_second_factor(web: Web) -> None:
    browser = web.anonymous()
    form = browser.get("/login")
    assert form.status_code == 200 and 'name="code"' in form.text
    refused = browser.post("/login", data={"name": "totp-user", "password": PASSWORD, "code": "000000"})
    assert refused.status_code == 401 and "wrong name, password or code" in refused.text.lower()
    code = totp_code(web.totp_secret, now_seconds=int(time.time()))
    done = browser.post(
        "/login", data={"name": "totp-user", "password": PASSWORD, "code": code, "next": "/cases"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/cases"
    cookie = done.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert ("totp-user", "ok") in _events(web, "auth.login")


def test_blank_and_wrong_passwords_never_sign_in(web: Web) -> None:
    browser = web.anonymous()
    for password in ("", " ", "\t", "wrong password entirely"):
        done = browser.post("/login", data={"name": "ana", "password": password})
        assert done.status_code in (401, 422) and SESSION_COOKIE not in browser.cookies


def test_no_open_redirect_after_sign_in(web: Web) -> None:
    browser = web.anonymous()
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        done = browser.post("/login", data={"name": "ana", "password": PASSWORD, "next": target})
        assert done.headers["location"] == "/"


def test_every_response_carries_a_strict_content_security_policy(web: Web) -> None:
    for response in (web.anonymous().get("/login"), web.anonymous().get("/static/app.css")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_form_without_the_csrf_token_is_refused_and_recorded(web: Web) -> None:
    browser = web.client("ana")
    refused = browser.post("/logout")
    assert refused.status_code == 403
    assert ("ana", "denied") in _events(web, "auth.csrf")
    assert browser.post_form("/logout").status_code == 303
    assert browser.get("/search").status_code == 303  # signed out on the server: the cookie is dead


def test_vendored_assets_are_served_locally(web: Web) -> None:
    browser = web.anonymous()
    assert browser.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert browser.get("/static/vendor/uPlot-1.6.32.iife.min.js").status_code == 200
    page = browser.get("/login").text
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page


def test_each_role_lands_where_it_works(web: Web) -> None:
    for name, page in (
        ("ana", "/"),
        ("sam", "/"),
        ("rita", "/exports"),
        ("audrey", "/admin"),
        ("root", "/admin"),
    ):
        done = web.anonymous().post("/login", data={"name": name, "password": PASSWORD, "next": "/"})
        assert done.headers["location"] == page, name
