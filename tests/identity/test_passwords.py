"""Passwords (ASVS V6, reference row A7): verified exactly as received, never empty, never enumerable."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.identity.conftest import ADMIN, PASSWORD, code, events, make_user, with_settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import InputError, PermissionDenied
from watchfloor.services.auth import SIGN_IN_FAILED, authenticate
from watchfloor.services.context import ServiceContext
from watchfloor.services.credentials import MAX_PASSWORD, check_new_password
from watchfloor.services.users import set_password

BLANKS = ["", " ", "            ", "\t", "\t\t\t", "\n", " \t\r\n ", "\u00a0", "\u00a0" * 16, "\u2003" * 12,
          "\u3000" * 12, "\u200b" * 12, " \u00a0\t\u200b" * 4]  # fmt: skip


def _sessions(ctx: ServiceContext, name: str) -> int:
    with ctx.store.transaction() as tx:
        user = tx.get_user(name)
        assert user is not None
        return len(tx.list_sessions(user.id, kind="session"))


def test_auth_empty_password_matrix(ctx: ServiceContext, admin: Actor) -> None:
    """Empty and whitespace-only passwords never authenticate: with or without a stored password,
    with or without a valid second factor, for demo accounts too; and they can never be set."""
    secrets = {
        "has-password": make_user(ctx, "has-password"),
        "no-password": make_user(ctx, "no-password", password=None),
        "demo-password": make_user(ctx, "demo-password", totp=False, demo=True),
        "demo-none": make_user(ctx, "demo-none", password=None, totp=False, demo=True),
    }
    attempts = 0
    for name, secret in secrets.items():
        for blank in BLANKS:
            ctx = with_settings(ctx, auth_max_failures=10_000)  # this test is about blanks, not throttling
            with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
                authenticate(
                    ctx,
                    name=name,
                    password=blank,
                    totp_code=code(ctx, secret) if secret else None,
                    source="t",
                )
            attempts += 1
            with pytest.raises(InputError, match="empty or only spaces"):
                set_password(ctx, actor=ADMIN, name=name, password=blank)
        assert _sessions(ctx, name) == 0
    denied = [e for e in events(ctx, "auth.login") if e.outcome == "denied"]
    assert len(denied) == attempts
    assert {e.details["reason"] for e in denied} == {"empty_password"}


def test_password_policy_says_what_to_fix(ctx: ServiceContext, admin: Actor) -> None:
    make_user(ctx, "sam", password=None, totp=False)
    for bad, why in [
        ("short pass", "at least 12"),
        ("x" * (MAX_PASSWORD + 1), "at most 1,024"),
        ("Password1234", "most common"),
        ("QWERTYUIOPAS", "most common"),
        ("123456789012", "most common"),
        ("abcabcabcabcabc", "most common"),
        ("my name is sam, ok?", "account name"),
    ]:
        with pytest.raises(InputError, match=why):
            set_password(ctx, actor=ADMIN, name="sam", password=bad)
    denied = [e for e in events(ctx, "users.password") if e.outcome == "error"]
    assert len(denied) == 7
    assert all(bad not in str(e.details) for e in denied for bad in ("short pass", "Password1234"))
    for good in (
        "twelve chars",
        "Ünïcødé ✓ pässwörd 🔑",
        "tab\there and  two spaces",
        "  padded on both ends  ",
    ):
        set_password(ctx, actor=ADMIN, name="sam", password=good)


def test_no_user_enumeration(ctx: ServiceContext, admin: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown name, account without password, wrong password: the same argon2 work, the same message."""
    make_user(ctx, "sam")
    make_user(ctx, "nopw", password=None)
    calls: list[str] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        calls.append(str(hash)[:9])
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    messages = []
    for name in ("nobody", "nopw", "sam", "Not A Valid Name!"):
        with pytest.raises(PermissionDenied) as raised:
            authenticate(ctx, name=name, password="wrong password entirely", totp_code="000000", source="t")
        messages.append(str(raised.value))
    assert messages == [SIGN_IN_FAILED] * 4
    assert calls == ["$argon2id"] * 4  # every path verified one argon2id hash (a dummy one when needed)
    reasons = [e.details["reason"] for e in reversed(events(ctx, "auth.login"))]
    assert reasons == ["unknown_user", "no_password", "wrong_password", "unknown_user"]
    assert "(invalid-name)" in {e.actor for e in events(ctx, "auth.login")}  # a mistyped name is not logged


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(min_size=12, max_size=MAX_PASSWORD))
def test_any_unicode_password_round_trips_exactly(ctx: ServiceContext, password: str) -> None:
    """Any Unicode password of 12 to 1024 characters works exactly as typed: case, spaces and every
    character count, nothing is trimmed, folded or truncated."""
    try:
        check_new_password(password, user_name="uni")
    except InputError:
        assume(False)
    ctx = with_settings(ctx, auth_max_failures=10_000)
    with ctx.store.transaction() as tx:
        if tx.count_users() == 0:
            tx.create_user(name="alex", roles=frozenset({"admin"}), created_by="alex", at=ctx.clock.now())
            tx.create_user(
                name="uni", roles=frozenset({"analyst"}), created_by="alex", at=ctx.clock.now(), demo=True
            )
    set_password(ctx, actor=ADMIN, name="uni", password=password)
    assert authenticate(ctx, name="uni", password=password, totp_code=None, source="t").user.name == "uni"
    variants = {password + " ", " " + password, password[:-1], password.swapcase(), password.upper(),
                password.strip(), password + "\n", password[: len(password) // 2]} - {password}  # fmt: skip
    for variant in variants:
        with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
            authenticate(ctx, name="uni", password=variant, totp_code=None, source="t")


def test_long_passwords_are_not_truncated(ctx: ServiceContext, admin: Actor) -> None:
    make_user(ctx, "lenny", totp=False, demo=True)
    long = "long passphrase " * 64  # 1024 characters
    set_password(ctx, actor=ADMIN, name="lenny", password=long)
    assert authenticate(ctx, name="lenny", password=long, totp_code=None, source="t")
    for near in (long[:-1], long[:72], long[:64], long[:-1] + "X"):
        with pytest.raises(PermissionDenied):
            authenticate(ctx, name="lenny", password=near, totp_code=None, source="t")
    with pytest.raises(PermissionDenied):  # longer than any password can be: refused before hashing
        authenticate(ctx, name="lenny", password=long + "!", totp_code=None, source="t")


def test_hash_is_upgraded_when_the_cost_changes(ctx: ServiceContext, admin: Actor) -> None:
    secret = make_user(ctx, "sam")
    assert secret is not None
    with ctx.store.transaction() as tx:
        found = tx.user_credentials("sam")
    assert found is not None and found[1] is not None and "m=1024,t=1" in found[1]
    assert PASSWORD not in found[1]
    costlier = with_settings(ctx, password_hash_memory_kib=2048, password_hash_time_cost=2)
    issued = authenticate(costlier, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="t")
    with ctx.store.transaction() as tx:
        found = tx.user_credentials("sam")
    assert found is not None and found[1] is not None and "m=2048,t=2" in found[1]
    assert events(ctx, "auth.login")[0].details["rehashed"] is True
    assert issued.user.name == "sam"
