"""Playwright harness: the real console served by uvicorn on loopback, driven by Debian's Chromium.

``live`` starts the app (on a fresh store from :func:`tests.web.conftest.make_web`) with uvicorn in a
background thread on 127.0.0.1 and a port the kernel picks; ``chromium`` launches ``/usr/bin/chromium``
(never a browser Playwright downloads) once per session. Without Chromium or the playwright package
the tests skip, unless ``WATCHFLOOR_REQUIRE_SERVICES=1`` (CI), where they fail: ``.ci/run`` installs
Chromium. Test modules import the fixtures they use::

    from tests.web.browser import chromium_fixture, live_fixture  # noqa: F401  (pytest fixtures)

:meth:`Live.sign_in` opens a browser context signed in through the login form, and :func:`watch` hooks
the page so that anything a hostile post might make run is caught: a dialog, a changed title, a
request to an ``xss-beacon`` URL or another host, or a Content-Security-Policy violation.
:func:`screenshot` saves a PNG under tests/artifacts/screenshots/ (git-ignored) for review.
"""

from __future__ import annotations

import atexit
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import pytest
import uvicorn

from tests.web.conftest import PASSWORD, Web, make_web

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
BEACON = "xss-beacon"  # payloads that manage to load anything point at this path
TITLE_MARK = "XSS-EXECUTED"  # payloads that manage to run set the title to this
# Collects CSP violations from the page's own event (Playwright injects this; the CSP does not apply).
_CSP_HOOK = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def _missing(reason: str) -> None:
    if os.environ.get("WATCHFLOOR_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (WATCHFLOOR_REQUIRE_SERVICES=1: .ci/run installs it)")
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


_SHARED: dict[str, Any] = {}  # one Playwright driver and browser per test process


def _stop() -> None:
    browser, driver = _SHARED.pop("browser", None), _SHARED.pop("driver", None)
    if browser is not None:
        browser.close()
    if driver is not None:
        driver.stop()


@pytest.fixture(scope="session", name="chromium")
def chromium_fixture() -> Browser:
    """One headless Chromium for the process (Debian's binary, through Playwright).

    Each test module imports this fixture, which makes one fixture per module; they share the one
    driver (Playwright allows a single sync driver per thread), stopped when the process exits.
    """
    if "browser" in _SHARED:
        return cast("Browser", _SHARED["browser"])
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
        raise
    path = chromium_path()
    if path is None:
        _missing("Debian's chromium is not installed (apt-get install chromium)")
        raise AssertionError("unreachable")
    driver = sync_playwright().start()
    _SHARED["driver"] = driver
    _SHARED["browser"] = driver.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
    atexit.register(_stop)
    return cast("Browser", _SHARED["browser"])


@dataclass
class Hooks:
    """What a watched page did that no page of ours should ever do."""

    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def problems(self, page: Page, title: str | None = None) -> list[str]:
        found = [f"dialog: {d}" for d in self.dialogs] + [f"request: {r}" for r in self.requests]
        found += [f"CSP violation: {v}" for v in page.evaluate("window.__cspViolations || []")]
        if TITLE_MARK in page.title() or (title is not None and page.title() != title):
            found.append(f"title changed to {page.title()!r}")
        return found


def watch(page: Page, origin: str) -> Hooks:
    """Hook ``page`` (see the module docstring); call before navigating."""
    hooks = Hooks()

    def on_dialog(dialog: Any) -> None:
        hooks.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_request(request: Any) -> None:
        url = request.url
        parts = urlsplit(url)
        if BEACON in url or (parts.scheme in ("http", "https", "ws") and not url.startswith(origin)):
            hooks.requests.append(url)

    def on_console(message: Any) -> None:
        if message.type == "error":
            hooks.console_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("console", on_console)
    page.add_init_script(_CSP_HOOK)
    return hooks


@dataclass
class Live:
    """The console served on loopback (``url``), with the in-process fixtures' store and users."""

    web: Web
    url: str
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    def sign_in(self, name: str, *, basis: bool = True) -> Page:
        """A new browser context signed in as ``name`` through the login form."""
        context = self.browser.new_context(base_url=self.url, viewport={"width": 1400, "height": 900})
        self.contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        assert "/login" not in page.url, f"{name} could not sign in: {page.url}"
        if basis:
            host = urlsplit(self.url).hostname or "127.0.0.1"
            context.add_cookies(
                [{"name": "wf_basis", "value": str(self.web.basis), "domain": host, "path": "/"}]
            )
        return page


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner's thread owns the signals
        pass


@pytest.fixture(name="live")
def live_fixture(tmp_path: Path, chromium: Browser) -> Iterator[Live]:
    """The console on 127.0.0.1 (a port the kernel picks) for one test, on a fresh store."""
    web = make_web(tmp_path)
    server = _Server(
        uvicorn.Config(web.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none")
    )
    thread = threading.Thread(target=server.run, name="console-under-test", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the console did not start")
        threading.Event().wait(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    environment = Live(web=web, url=f"http://127.0.0.1:{port}", browser=chromium)
    try:
        yield environment
    finally:
        for context in environment.contexts:
            context.close()
        server.should_exit = True
        thread.join(timeout=10)
        web.ctx.store.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of ``page`` as tests/artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
