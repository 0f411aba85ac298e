"""Accounts on a real store (SQLite and PostgreSQL) with a frozen clock and a cheap argon2 cost.

The argon2 cost is lowered only to keep the suite quick; the code paths are the production ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditEvent
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.services.credentials import totp_code
from watchfloor.services.users import add_user, enrol_totp, init_store, set_password
from watchfloor.wiring import build_context

CHEAP = {"password_hash_memory_kib": 1024, "password_hash_time_cost": 1}
PASSWORD = "correct horse battery staple"
ADMIN = Actor(name="alex", roles=frozenset({"admin"}))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    if request.param == "sqlite":
        context = build_context(Settings(database_url=str(tmp_path / "t.db"), **CHEAP), clock=clock)  # type: ignore[arg-type]
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(Settings(database_url=url, **CHEAP), clock=clock)  # type: ignore[arg-type]
        yield context
        context.store.close()


@pytest.fixture
def admin(ctx: ServiceContext) -> Actor:
    init_store(ctx, admin="alex")
    return ADMIN


def with_settings(ctx: ServiceContext, **changes: Any) -> ServiceContext:
    """The same store and clock under changed settings."""
    return replace(ctx, settings=ctx.settings.model_copy(update=changes))


def advance(ctx: ServiceContext, **delta: float) -> None:
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(**delta))


def code(ctx: ServiceContext, secret: str) -> str:
    """What the user's authenticator app shows right now."""
    return totp_code(secret, now_seconds=int(ctx.clock.now().timestamp()))


def make_user(
    ctx: ServiceContext,
    name: str,
    *,
    roles: str = "analyst",
    password: str | None = PASSWORD,
    totp: bool = True,
    demo: bool = False,
) -> str | None:
    """Add ``name`` (as admin alex), with a password and TOTP; returns the TOTP secret (or None)."""
    add_user(ctx, actor=ADMIN, name=name, roles=roles, demo=demo)
    if password is not None:
        set_password(ctx, actor=ADMIN, name=name, password=password)
    return enrol_totp(ctx, actor=ADMIN, name=name).secret if totp else None


def events(ctx: ServiceContext, action: str) -> list[AuditEvent]:
    """Audit events of ``action``, newest first."""
    with ctx.store.transaction() as tx:
        return tx.audit_events(action=action, limit=1000)
