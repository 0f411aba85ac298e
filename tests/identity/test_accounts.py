"""Account administration: roles, disabling, passwords, and never locking every admin out."""

from __future__ import annotations

import pytest

from tests.identity.conftest import ADMIN, PASSWORD, code, events, make_user
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from watchfloor.services.auth import authenticate
from watchfloor.services.context import ServiceContext
from watchfloor.services.users import (
    add_user,
    disable_user,
    enable_user,
    list_users,
    reset_totp,
    set_password,
    set_roles,
)

SAM = Actor(name="sam", roles=frozenset({"analyst"}))


def test_last_enabled_admin_is_protected(ctx: ServiceContext, admin: Actor) -> None:
    with pytest.raises(Conflict, match="last enabled admin"):
        set_roles(ctx, actor=ADMIN, name="alex", roles="analyst")
    with pytest.raises(Conflict, match="last enabled admin"):
        disable_user(ctx, actor=ADMIN, name="alex")
    set_roles(ctx, actor=ADMIN, name="alex", roles="admin,auditor")  # keeping admin is fine

    make_user(ctx, "bo", roles="admin")
    bo = Actor(name="bo", roles=frozenset({"admin"}))
    disable_user(ctx, actor=bo, name="bo")  # another admin (alex) remains enabled
    with pytest.raises(Conflict, match="last enabled admin"):  # a disabled admin does not count
        set_roles(ctx, actor=ADMIN, name="alex", roles="analyst")
    enable_user(ctx, actor=ADMIN, name="bo")
    assert set_roles(ctx, actor=ADMIN, name="alex", roles="analyst").roles == frozenset({"analyst"})
    with pytest.raises(Conflict, match="last enabled admin"):
        disable_user(ctx, actor=bo, name="bo")
    refused = [e for e in events(ctx, "users.roles") if e.outcome == "denied"]
    assert len(refused) == 2 and all(e.details["error"] == "conflict" for e in refused)


def test_only_admins_manage_accounts(ctx: ServiceContext, admin: Actor) -> None:
    make_user(ctx, "sam")
    for attempt in (
        lambda: set_roles(ctx, actor=SAM, name="sam", roles="admin"),
        lambda: disable_user(ctx, actor=SAM, name="alex"),
        lambda: enable_user(ctx, actor=SAM, name="sam"),
        lambda: reset_totp(ctx, actor=SAM, name="sam"),
        lambda: set_password(ctx, actor=SAM, name="alex", password="sam owns this account now"),
        lambda: add_user(ctx, actor=SAM, name="eve", roles="admin"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    with ctx.store.transaction() as tx:
        assert tx.get_user("sam") is not None and tx.get_user("eve") is None
    assert {u.name: u.roles for u in list_users(ctx, actor=ADMIN)} == {
        "alex": frozenset({"admin"}),
        "sam": frozenset({"analyst"}),
    }


def test_own_password_change(ctx: ServiceContext, admin: Actor) -> None:
    secret = make_user(ctx, "sam")
    assert secret is not None
    set_password(ctx, actor=SAM, name="sam", password="my very own passphrase")
    issued = authenticate(
        ctx, name="sam", password="my very own passphrase", totp_code=code(ctx, secret), source="t"
    )
    assert issued.user.name == "sam"
    ok = events(ctx, "users.password")
    assert ok[0].details["own"] is True and ok[0].actor == "sam"


def test_account_changes_are_audited_without_secrets(ctx: ServiceContext, admin: Actor) -> None:
    secret = make_user(ctx, "sam")
    assert secret is not None
    set_roles(ctx, actor=ADMIN, name="sam", roles="analyst,reviewer")
    disable_user(ctx, actor=ADMIN, name="sam")
    enable_user(ctx, actor=ADMIN, name="sam")
    authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="t")
    with pytest.raises(PermissionDenied):
        authenticate(ctx, name="sam", password=PASSWORD + "x", totp_code=code(ctx, secret), source="t")
    with ctx.store.transaction() as tx:
        everything = tx.audit_events(limit=1000)
    actions = {e.action for e in everything}
    assert {
        "users.add",
        "users.password",
        "users.totp",
        "users.roles",
        "users.disable",
        "users.enable",
    } <= actions
    assert "auth.login" in actions
    text = " ".join(repr(e) for e in everything)
    assert PASSWORD not in text and secret not in text
    roles = next(e for e in everything if e.action == "users.roles")
    assert roles.details["roles_before"] == "analyst" and roles.details["roles"] == "analyst,reviewer"


def test_errors_name_the_problem(ctx: ServiceContext, admin: Actor) -> None:
    with pytest.raises(NotFound, match="users list"):
        set_roles(ctx, actor=ADMIN, name="nobody", roles="analyst")
    with pytest.raises(InputError, match="unknown role 'root'"):
        set_roles(ctx, actor=ADMIN, name="alex", roles="root")
    with pytest.raises(InputError, match="at least one role"):
        set_roles(ctx, actor=ADMIN, name="alex", roles="")
    with pytest.raises(Conflict, match="already enabled"):
        enable_user(ctx, actor=ADMIN, name="alex")
