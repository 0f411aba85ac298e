"""The console in-process (Starlette's TestClient over the real app and a real SQLite store).

Users are created with passwords; most are *demo* accounts so tests can sign in repeatedly without a
TOTP code (a code works once); ``totp-user`` is a normal account with a second factor, for the tests of
signing in itself. ``Web.client(name)`` signs in through the real login form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.people import make_basis
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.services.context import ServiceContext
from watchfloor.services.users import add_user, enrol_totp, set_password
from watchfloor.web.app import create_app
from watchfloor.web.security import SESSION_COOKIE, csrf_token
from watchfloor.wiring import build_context

PASSWORD = "correct horse battery staple 42"
ROLES = {
    "ana": "analyst",
    "bo": "analyst",
    "sam": "supervisor",
    "rita": "reviewer",
    "audrey": "auditor",
    "root": "admin",
}


class Client(TestClient):
    """A signed-in browser: sends the CSRF token with every form post, like the console's pages do."""

    csrf: str = ""

    def post_form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx2.Response:
        return self.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)

    def hx(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        """An htmx request: the CSRF token in its header, as base.html sets it."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.request(method, url, headers=headers, **kwargs)


@dataclass
class Web:
    app: FastAPI
    ctx: ServiceContext
    basis: int
    totp_secret: str = ""
    clients: list[Client] = field(default_factory=list)

    def anonymous(self) -> Client:
        client = Client(self.app, base_url="http://testserver", follow_redirects=False)
        self.clients.append(client)
        return client

    def client(self, name: str) -> Client:
        """A client signed in as ``name`` through the login form, working under the test basis."""
        client = self.anonymous()
        done = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/"})
        assert done.status_code == 303, done.text
        client.csrf = csrf_token(client.cookies[SESSION_COOKIE])
        client.cookies.set("wf_basis", str(self.basis))
        return client


def make_web(tmp_path: Path, **overrides: Any) -> Web:
    """The console on a fresh store (SQLite in ``tmp_path`` unless ``database_url`` is overridden)."""
    values: dict[str, Any] = {
        "database_url": str(tmp_path / "web.db"),
        "password_hash_memory_kib": 32,
        "password_hash_time_cost": 1,
        **overrides,
    }
    settings = Settings(**values)
    ctx = build_context(settings)
    setup = Actor.system("setup")
    for name, role in ROLES.items():
        add_user(ctx, actor=setup, name=name, roles=role, demo=True)
        set_password(ctx, actor=setup, name=name, password=PASSWORD)
    add_user(ctx, actor=setup, name="totp-user", roles="analyst")
    set_password(ctx, actor=setup, name="totp-user", password=PASSWORD)
    enrolled = enrol_totp(ctx, actor=Actor(name="root", roles=frozenset({"admin"})), name="totp-user")
    return Web(app=create_app(context=ctx), ctx=ctx, basis=make_basis(ctx), totp_secret=enrolled.secret)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    environment = make_web(tmp_path)
    yield environment
    for client in environment.clients:
        client.close()
    environment.ctx.store.close()
