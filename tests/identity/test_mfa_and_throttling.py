"""Second factor and brute-force throttling (ASVS 6.3.1, 6.3.3; reference row A7)."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.identity.conftest import ADMIN, PASSWORD, advance, code, events, make_user
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, PermissionDenied
from watchfloor.services.auth import SIGN_IN_FAILED, authenticate, session_actor
from watchfloor.services.context import ServiceContext
from watchfloor.services.credentials import totp_code
from watchfloor.services.users import disable_user, enrol_totp, reset_totp


def _live_sessions(ctx: ServiceContext, name: str) -> int:
    with ctx.store.transaction() as tx:
        user = tx.get_user(name)
        assert user is not None
        return len(tx.list_sessions(user.id, kind="session"))


def test_mfa_required(ctx: ServiceContext, admin: Actor) -> None:
    """No session without the second factor, for every account that is not a demo account."""
    make_user(ctx, "sam", totp=False)
    with pytest.raises(PermissionDenied, match="`watchfloor users totp sam`"):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=None, source="t")
    assert _live_sessions(ctx, "sam") == 0

    secret = enrol_totp(ctx, actor=ADMIN, name="sam").secret
    now = int(ctx.clock.now().timestamp())
    other = "000000" if code(ctx, secret) != "000000" else "111111"
    early, late = totp_code(secret, now_seconds=now - 90), totp_code(secret, now_seconds=now + 90)
    wrong = [None, "", other, early, late, code(ctx, secret) + "0", "12345a"]
    for bad in wrong:
        with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
            authenticate(ctx, name="sam", password=PASSWORD, totp_code=bad, source="t")
    assert _live_sessions(ctx, "sam") == 0
    with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):  # the right code with a wrong password
        authenticate(ctx, name="sam", password=PASSWORD + "!", totp_code=code(ctx, secret), source="t")

    issued = authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="t")
    assert session_actor(ctx, issued.token) == Actor(name="sam", roles=frozenset({"analyst"}))
    assert events(ctx, "auth.login")[0].details["factors"] == "password+totp"

    reset_totp(ctx, actor=ADMIN, name="sam")
    advance(ctx, seconds=30)
    with pytest.raises(PermissionDenied, match="has no second factor"):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="t")
    with pytest.raises(PermissionDenied):  # resetting the factor ended the session it had opened
        session_actor(ctx, issued.token)


def test_demo_accounts_sign_in_without_a_second_factor(ctx: ServiceContext, admin: Actor) -> None:
    make_user(ctx, "demo-analyst", totp=False, demo=True)
    issued = authenticate(ctx, name="demo-analyst", password=PASSWORD, totp_code=None, source="t")
    assert issued.user.demo
    assert events(ctx, "auth.login")[0].details["factors"] == "password"


def test_a_code_works_once(ctx: ServiceContext, admin: Actor) -> None:
    secret = make_user(ctx, "sam")
    assert secret is not None
    first = code(ctx, secret)
    authenticate(ctx, name="sam", password=PASSWORD, totp_code=first, source="t")
    with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=first, source="t")
    advance(ctx, seconds=30)  # the old code is still inside the window, but was used
    with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=first, source="t")
    authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="t")
    reasons = [e.details["reason"] for e in events(ctx, "auth.login") if e.outcome == "denied"]
    assert reasons == ["code_reused", "code_reused"]


def test_disabled_accounts_cannot_sign_in(ctx: ServiceContext, admin: Actor) -> None:
    secret = make_user(ctx, "sam")
    assert secret is not None
    disable_user(ctx, actor=ADMIN, name="sam")
    with pytest.raises(PermissionDenied, match="disabled"):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="t")
    with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):  # and no hint without the password
        authenticate(ctx, name="sam", password="not the password", totp_code=code(ctx, secret), source="t")


def test_throttling(ctx: ServiceContext, admin: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    """10 failures in 15 minutes: the account is refused from every source, without checking."""
    secret = make_user(ctx, "sam")
    assert secret is not None
    for _ in range(10):
        with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
            authenticate(ctx, name="sam", password="guess guess guess", totp_code=None, source="203.0.113.7")
    verified: list[str] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        verified.append("called")
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    for source in ("203.0.113.7", "198.51.100.9"):  # the attacker's source, then the user's own
        with pytest.raises(PermissionDenied, match="too many failed sign-ins"):
            authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source=source)
    assert verified == []  # refused without checking anything
    advance(ctx, minutes=14)  # still within the window of all ten failures ...
    with pytest.raises(PermissionDenied, match="too many failed sign-ins"):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="198.51.100.9")
    advance(ctx, minutes=1)  # ... until they leave it
    assert authenticate(
        ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="198.51.100.9"
    )
    assert verified == ["called"]
    reasons = [e.details["reason"] for e in events(ctx, "auth.login") if e.outcome == "denied"]
    assert reasons[:3] == ["throttled"] * 3


def test_throttling_per_source(ctx: ServiceContext, admin: Actor) -> None:
    """Ten failures from one source against many names: that source is refused for everyone."""
    secret = make_user(ctx, "sam")
    assert secret is not None
    for n in range(10):
        with pytest.raises(PermissionDenied, match=SIGN_IN_FAILED):
            authenticate(
                ctx, name=f"user{n}", password="guess guess guess", totp_code=None, source="203.0.113.7"
            )
    with pytest.raises(PermissionDenied, match="too many failed sign-ins"):
        authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="203.0.113.7")
    assert authenticate(ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret), source="192.0.2.1")


def test_own_second_factor_is_enrolled_once(ctx: ServiceContext, admin: Actor) -> None:
    """A user may enrol their first factor; replacing it is an admin's job."""
    make_user(ctx, "sam", totp=False)
    sam = Actor(name="sam", roles=frozenset({"analyst"}))
    enrol_totp(ctx, actor=sam, name="sam")
    with pytest.raises(Conflict, match="an admin replaces it"):
        enrol_totp(ctx, actor=sam, name="sam")
    make_user(ctx, "bo", totp=False)
    with pytest.raises(PermissionDenied):
        enrol_totp(ctx, actor=sam, name="bo")
    replaced = enrol_totp(ctx, actor=ADMIN, name="sam")
    assert replaced.uri.startswith("otpauth://totp/watchfloor:sam?secret=")
    assert [e.details.get("change") for e in events(ctx, "users.totp") if e.outcome == "ok"][:2] == [
        "replaced",
        "enrolled",
    ]
