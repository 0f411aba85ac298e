"""Console sessions and API tokens (ASVS V7; reference row A8): revocation, timeouts, entropy, hashing."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.identity.conftest import ADMIN, PASSWORD, advance, code, events, make_user
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from watchfloor.services import auth
from watchfloor.services.auth import (
    authenticate,
    create_token,
    list_tokens,
    logout,
    revoke_token,
    session_actor,
    token_actor,
)
from watchfloor.services.context import ServiceContext
from watchfloor.services.users import disable_user, enable_user, end_sessions, set_password, set_roles
from watchfloor.store.schema import sessions

SAM = Actor(name="sam", roles=frozenset({"analyst"}))


def _sign_in(ctx: ServiceContext, secret: str | None) -> str:
    return authenticate(
        ctx, name="sam", password=PASSWORD, totp_code=code(ctx, secret or ""), source="t"
    ).token


@pytest.fixture
def secret(ctx: ServiceContext, admin: Actor) -> str:
    found = make_user(ctx, "sam")
    assert found is not None
    return found


def test_logout_ends_the_session_server_side(ctx: ServiceContext, secret: str) -> None:
    token = _sign_in(ctx, secret)
    assert session_actor(ctx, token) == SAM
    assert logout(ctx, token) is True
    with pytest.raises(PermissionDenied, match="session has ended"):
        session_actor(ctx, token)
    assert logout(ctx, token) is False
    assert [e.outcome for e in events(ctx, "auth.logout")] == ["denied", "ok"]
    assert events(ctx, "auth.session")[0].details["reason"] == "revoked"


def test_disable_role_change_password_and_admin_signout_end_sessions(
    ctx: ServiceContext, secret: str
) -> None:
    token = _sign_in(ctx, secret)
    api = create_token(ctx, actor=SAM, label="script").token
    disable_user(ctx, actor=ADMIN, name="sam")
    for check in (lambda: session_actor(ctx, token), lambda: token_actor(ctx, api)):
        with pytest.raises(PermissionDenied):
            check()
    enable_user(ctx, actor=ADMIN, name="sam")  # nothing old comes back
    for check in (lambda: session_actor(ctx, token), lambda: token_actor(ctx, api)):
        with pytest.raises(PermissionDenied):
            check()

    advance(ctx, seconds=30)
    token = _sign_in(ctx, secret)
    api = create_token(ctx, actor=SAM, label="script").token
    set_roles(ctx, actor=ADMIN, name="sam", roles="reviewer")
    with pytest.raises(PermissionDenied):
        session_actor(ctx, token)
    assert token_actor(ctx, api) == Actor(name="sam", roles=frozenset({"reviewer"}))  # new roles at once

    advance(ctx, seconds=30)
    token = _sign_in(ctx, secret)
    set_password(ctx, actor=ADMIN, name="sam", password=PASSWORD + " again")
    with pytest.raises(PermissionDenied):
        session_actor(ctx, token)
    set_password(ctx, actor=ADMIN, name="sam", password=PASSWORD)

    advance(ctx, seconds=30)
    token = _sign_in(ctx, secret)
    assert end_sessions(ctx, actor=ADMIN, name="sam") == 1
    with pytest.raises(PermissionDenied):
        session_actor(ctx, token)
    assert events(ctx, "users.signout")[0].details["sessions_ended"] == 1


def test_idle_timeout(ctx: ServiceContext, secret: str) -> None:
    token = _sign_in(ctx, secret)
    for _ in range(4):  # used every 29 minutes: stays alive for two hours
        advance(ctx, minutes=29)
        assert session_actor(ctx, token) == SAM
    advance(ctx, minutes=30)
    with pytest.raises(PermissionDenied, match="session has ended"):
        session_actor(ctx, token)
    assert events(ctx, "auth.session")[0].details["reason"] == "idle"


def test_absolute_timeout(ctx: ServiceContext, secret: str) -> None:
    token = _sign_in(ctx, secret)
    for _ in range(12 * 3 - 1):  # busy all shift long
        advance(ctx, minutes=20)
        assert session_actor(ctx, token) == SAM
    advance(ctx, minutes=20)  # 12 hours after sign-in
    with pytest.raises(PermissionDenied):
        session_actor(ctx, token)
    assert events(ctx, "auth.session")[0].details["reason"] == "expired"


def test_token_entropy() -> None:
    """Tokens are 256-bit CSPRNG values in URL-safe base64: 10,000 of them, all distinct."""
    sample = [auth._new_token() for _ in range(10_000)]
    assert len(set(sample)) == 10_000
    assert all(len(t) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in sample)
    assert len({t[:8] for t in sample}) == 10_000  # no shared prefix structure


def test_no_token_is_valid_unless_issued(ctx: ServiceContext, secret: str) -> None:
    """A token chosen before sign-in (session fixation) is never valid; each sign-in issues a new one."""
    planted = secrets.token_urlsafe(32)
    first = _sign_in(ctx, secret)
    advance(ctx, seconds=30)
    second = _sign_in(ctx, secret)
    assert len({planted, first, second}) == 3
    for bad in (planted, "", first + "x", first.upper()):
        with pytest.raises(PermissionDenied):
            session_actor(ctx, bad)
    api = create_token(ctx, actor=SAM, label="script").token
    with pytest.raises(PermissionDenied):  # an API token is not a console session, nor the reverse
        session_actor(ctx, api)
    with pytest.raises(PermissionDenied):
        token_actor(ctx, first)
    assert session_actor(ctx, first) == session_actor(ctx, second) == SAM


def test_api_tokens_hashed_at_rest_expire_and_revoke(ctx: ServiceContext, secret: str) -> None:
    issued = create_token(ctx, actor=SAM, label="nightly export", days=2)
    other = create_token(ctx, actor=SAM, label="dashboard")
    assert token_actor(ctx, issued.token) == SAM
    with ctx.store.transaction() as tx:
        rows = tx.conn.execute(select(sessions)).all()  # type: ignore[attr-defined]
    stored = " ".join(repr(tuple(row)) for row in rows)
    assert issued.token not in stored and other.token not in stored
    hashes = {bytes(row.token_hash) for row in rows}
    assert hashlib.sha256(issued.token.encode()).digest() in hashes

    listed = list_tokens(ctx, actor=SAM)
    assert [t.label for t in listed] == ["dashboard", "nightly export"]
    assert issued.token not in repr(listed)
    advance(ctx, days=2)
    with pytest.raises(PermissionDenied, match="API token is not valid"):
        token_actor(ctx, issued.token)
    assert events(ctx, "auth.token")[0].details["reason"] == "expired"

    revoke_token(ctx, actor=SAM, token_id=other.session.id)
    with pytest.raises(PermissionDenied):
        token_actor(ctx, other.token)
    with pytest.raises(Conflict):
        revoke_token(ctx, actor=SAM, token_id=other.session.id)
    assert events(ctx, "tokens.revoke")[0].outcome == "denied"
    assert [e.action for e in events(ctx, "tokens.create")] == ["tokens.create"] * 2


def test_tokens_belong_to_their_holder(ctx: ServiceContext, secret: str) -> None:
    make_user(ctx, "bo")
    bo = Actor(name="bo", roles=frozenset({"analyst"}))
    mine = create_token(ctx, actor=SAM, label="mine")
    with pytest.raises(PermissionDenied):
        revoke_token(ctx, actor=bo, token_id=mine.session.id)
    with pytest.raises(PermissionDenied):
        list_tokens(ctx, actor=bo, name="sam")
    with pytest.raises(NotFound):
        revoke_token(ctx, actor=bo, token_id=9999)
    assert [t.label for t in list_tokens(ctx, actor=ADMIN, name="sam")] == ["mine"]
    revoke_token(ctx, actor=ADMIN, token_id=mine.session.id)  # admins can end anyone's token
    for bad_label, days in (("", None), ("   ", None), ("x" * 101, None), ("ok", 0), ("ok", 400)):
        with pytest.raises(InputError):
            create_token(ctx, actor=SAM, label=bad_label, days=days)
    default = create_token(ctx, actor=SAM, label="default").session
    assert default.expires_at - default.created_at == timedelta(days=90)
