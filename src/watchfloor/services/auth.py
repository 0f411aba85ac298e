"""Sign-in, console sessions and API tokens: who is behind a request, and for how long.

:func:`authenticate` checks a name, a password and a TOTP code and opens a console session; the
session's token is 256 random bits (``secrets.token_urlsafe(32)``) shown once, and only its SHA-256 is
stored, so a copy of the database lets no one sign in. Every attempt leaves one ``auth.login`` audit
event, never the password. Unknown names, accounts without a password and wrong passwords all do the
same argon2 work and get the same message (ASVS 6.3.8); after ``auth_max_failures`` failures within
``auth_failure_window_minutes`` for one account name, or from one source, further attempts are refused
without checking anything (ASVS 6.3.1). A second factor is required for every account except demo
accounts (ASVS 6.3.3); a TOTP code is accepted once: the time step it belongs to is kept with the
session it opened, and a code from that step or an earlier one is refused for that account.

Sessions end on sign-out, after ``session_idle_minutes`` unused and ``session_absolute_hours`` after
sign-in; API tokens (for scripts) last ``api_token_days`` unless revoked. Both end when their account is
disabled, and the actor's roles are read from the store on every request, so a role change applies at
once. Limits, candidly: the TOTP secret is stored as base32 in the users table (anyone who reads the
database can compute codes; the password is still needed), and two sign-ins racing with the same code
on PostgreSQL could in principle both succeed (each checks before the other commits).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from watchfloor.domain.identity import Session, SessionKind, User
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.credentials import (
    hash_password,
    is_blank,
    totp_step,
    usable_at_sign_in,
    verify_password,
)
from watchfloor.services.recording import record, record_failure, refusals_recorded
from watchfloor.store.ports import StoreTx

SIGN_IN_FAILED = "wrong name, password or code"
THROTTLED = (
    "too many failed sign-ins for this account or from this place: wait {minutes} minutes and try "
    "again, or ask an admin to check the account"
)
SESSION_ENDED = "your session has ended (signed out, timed out or revoked): sign in again"
API_KEY_REFUSED = (
    "the API token is not valid (unknown, expired or revoked): create one with `watchfloor tokens create`"
)
NO_TOTP = (
    "account {name!r} has no second factor yet, and every account needs one: ask an admin to enrol it "
    "with `watchfloor users totp {name}`"
)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_INVALID_NAME = "(invalid-name)"  # what the log and the throttle call a name no account can have
_TOTP_LABEL = "totp:"
_TOTP_MEMORY = timedelta(minutes=5)  # steps older than this are outside any code's window anyway


@dataclass(frozen=True, slots=True)
class Issued:
    """A new console session or API token, and its secret: shown once, never stored."""

    session: Session
    token: str
    user: User


def token_hash(token: str) -> bytes:
    """What the store keeps of a token: its SHA-256 (the token has 256 random bits, so no salt)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What the read-only first step of a sign-in learned."""

    user: User | None
    password_hash: str | None
    totp_secret: str | None
    throttled: bool


def _check(ctx: ServiceContext, who: str, source: str, now: datetime) -> _Checked:
    window = timedelta(minutes=ctx.settings.auth_failure_window_minutes)
    with ctx.store.transaction() as tx:
        by_name, by_source = tx.count_auth_failures(name=who, source=source, since=now - window)
        found = tx.user_credentials(who) if who != _INVALID_NAME else None
    limit = ctx.settings.auth_max_failures
    user, stored, secret = found if found is not None else (None, None, None)
    return _Checked(user, stored, secret, throttled=by_name >= limit or by_source >= limit)


def _last_totp_step(tx: StoreTx, user: User, now: datetime) -> int:
    labels = tx.session_labels_since(user.id, kind="session", since=now - _TOTP_MEMORY)
    steps = [int(label[len(_TOTP_LABEL) :]) for label in labels if label.startswith(_TOTP_LABEL)]
    return max(steps, default=-1)


def authenticate(
    ctx: ServiceContext,
    *,
    name: str,
    password: str,
    totp_code: str | None,
    source: str,
) -> Issued:
    """Sign ``name`` in with a password and TOTP code from ``source`` (an address, or "cli"); a new session.

    Every refusal raises :class:`PermissionDenied` after recording the attempt; the message is the same
    for an unknown name, a wrong password and a wrong code.
    """
    now = ctx.clock.now()
    who = name if _NAME.fullmatch(name) else _INVALID_NAME
    source = source[:200] or "unknown"
    checked = _check(ctx, who, source, now)
    user = checked.user
    reason: str | None = None
    new_hash: str | None = None
    step: int | None = None
    if checked.throttled:
        reason = "throttled"
    elif not usable_at_sign_in(password):
        reason = "empty_password" if is_blank(password) else "password_too_long"
    else:
        matches, rehash = verify_password(ctx.settings, checked.password_hash, password)
        if not matches:
            reason = "unknown_user" if user is None else "wrong_password"
            reason = "no_password" if user is not None and checked.password_hash is None else reason
        elif user is not None and user.disabled:
            reason = "disabled"
        elif user is not None and not user.demo:
            if checked.totp_secret is None:
                reason = "no_totp"
            else:
                step = totp_step(checked.totp_secret, totp_code, now_seconds=int(now.timestamp()))
                reason = "wrong_code" if step is None else None
        if reason is None and rehash:
            new_hash = hash_password(ctx.settings, password)
    return _finish(
        ctx, who=who, source=source, now=now, user=user, reason=reason, step=step, new_hash=new_hash
    )


def _finish(
    ctx: ServiceContext,
    *,
    who: str,
    source: str,
    now: datetime,
    user: User | None,
    reason: str | None,
    step: int | None,
    new_hash: str | None,
) -> Issued:
    """The writing step of a sign-in: a failure row and a denied event, or a session and an ok event."""
    details: dict[str, DetailValue] = {"source": source}
    object_ids = (f"user:{user.id}",) if user is not None else ()
    token = _new_token()
    with ctx.store.transaction() as tx:
        if (
            reason is None
            and user is not None
            and step is not None
            and step <= _last_totp_step(tx, user, now)
        ):
            reason = "code_reused"
        if reason is not None:
            if reason not in ("throttled", "disabled", "no_totp"):
                tx.add_auth_failure(name=who, source=source, at=now)
            window = timedelta(minutes=ctx.settings.auth_failure_window_minutes)
            tx.prune_auth_failures(name=who, source=source, before=now - window)
            details["reason"] = reason
            record(
                tx,
                actor=who,
                action="auth.login",
                at=now,
                object_ids=object_ids,
                outcome="denied",
                details=details,
            )
        else:
            assert user is not None
            if new_hash is not None:
                tx.set_credentials(user.name, at=now, password_hash=new_hash)
            session = tx.create_session(
                token_hash=token_hash(token),
                user_id=user.id,
                kind="session",
                at=now,
                expires_at=now + timedelta(hours=ctx.settings.session_absolute_hours),
                label=None if step is None else f"{_TOTP_LABEL}{step}",
            )
            details["factors"] = "password" if step is None else "password+totp"
            details["rehashed"] = new_hash is not None
            ids = (*object_ids, f"session:{session.id}")
            record(tx, actor=user.name, action="auth.login", at=now, object_ids=ids, details=details)
            return Issued(session=session, token=token, user=user)
    if reason == "throttled":
        raise PermissionDenied(THROTTLED.format(minutes=ctx.settings.auth_failure_window_minutes))
    if reason == "disabled":
        raise PermissionDenied(f"account {who!r} is disabled: ask an admin")
    if reason == "no_totp":
        raise PermissionDenied(NO_TOTP.format(name=who))
    raise PermissionDenied(SIGN_IN_FAILED)


def _why_invalid(
    ctx: ServiceContext, session: Session | None, user: User | None, kind: SessionKind, now: datetime
) -> str | None:
    if session is None or session.kind != kind:
        return "unknown"
    if session.revoked_at is not None:
        return "revoked"
    if now >= session.expires_at:
        return "expired"
    if kind == "session" and now - session.last_seen_at >= timedelta(
        minutes=ctx.settings.session_idle_minutes
    ):
        return "idle"
    if user is None or user.disabled:
        return "disabled"
    return None


TOUCH_EVERY = timedelta(seconds=60)  # idle timeouts are counted in minutes: a minute's precision is enough


def _actor_for(ctx: ServiceContext, token: str, kind: SessionKind) -> Actor:
    now = ctx.clock.now()
    # A read-only snapshot checks the token (every console request does this: it must not queue for
    # the write lock); the session's last use is written only when it is older than TOUCH_EVERY.
    with ctx.store.snapshot() as view:
        session = view.session_by_token(token_hash(token)) if token else None
        user = view.get_user_by_id(session.user_id) if session is not None else None
        reason = _why_invalid(ctx, session, user, kind, now)
    if reason is None and session is not None and user is not None:
        if now - session.last_seen_at >= TOUCH_EVERY:
            with ctx.store.transaction() as tx:
                tx.touch_session(session.id, at=now)
        return Actor(name=user.name, roles=frozenset(user.roles))
    record_failure(
        ctx,
        actor=user.name if user is not None else "(unknown)",
        action="auth.session" if kind == "session" else "auth.token",
        outcome="denied",
        object_ids=(f"session:{session.id}",) if session is not None else (),
        details={"error": "permission_denied", "reason": reason},
    )
    raise PermissionDenied(SESSION_ENDED if kind == "session" else API_KEY_REFUSED)


def session_actor(ctx: ServiceContext, token: str) -> Actor:
    """The user behind a console session token, with their current roles; the session counts as used.

    Refused (and audited) if the token is unknown, signed out, idle too long, past its absolute
    timeout, or its account is disabled.
    """
    return _actor_for(ctx, token, "session")


def token_actor(ctx: ServiceContext, token: str) -> Actor:
    """The user behind an API token, with their current roles (no idle timeout; expiry and revocation)."""
    return _actor_for(ctx, token, "api")


def logout(ctx: ServiceContext, token: str) -> bool:
    """End the console session ``token`` (server-side); False if it had already ended or never existed."""
    now = ctx.clock.now()
    with ctx.store.transaction() as tx:
        session = tx.session_by_token(token_hash(token)) if token else None
        user = tx.get_user_by_id(session.user_id) if session is not None else None
        if session is not None and session.kind == "session" and user is not None:
            ended = tx.revoke_session(session.id, at=now)
            if ended:
                ids = (f"user:{user.id}", f"session:{session.id}")
                record(tx, actor=user.name, action="auth.logout", at=now, object_ids=ids)
                return True
    record_failure(ctx, actor=user.name if user else "(unknown)", action="auth.logout", outcome="denied")
    return False


def _token_label(label: str) -> str:
    if not label.strip() or len(label) > 100 or not label.isprintable():
        raise InputError(
            "a token needs a label of 1-100 printable characters saying what uses it, "
            "e.g. --label nightly-export"
        )
    return label


def create_token(ctx: ServiceContext, *, actor: Actor, label: str, days: int | None = None) -> Issued:
    """A new API token for the acting user, valid ``days`` (default ``api_token_days``); shown once."""
    lifetime = ctx.settings.api_token_days if days is None else days
    details: dict[str, DetailValue] = {"label": label[:100], "days": lifetime}
    with (
        refusals_recorded(ctx, actor=actor, action="tokens.create", details=details),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "tokens.manage", owner=actor.name)
        _token_label(label)
        if not 1 <= lifetime <= 366:
            raise InputError(f"a token may last 1 to 366 days, not {lifetime}: use --days N")
        user = tx.get_user(actor.name)
        if user is None or user.disabled:
            raise NotFound(f"there is no enabled account {actor.name!r} to hold a token")
        token = _new_token()
        now = ctx.clock.now()
        session = tx.create_session(
            token_hash=token_hash(token),
            user_id=user.id,
            kind="api",
            at=now,
            expires_at=now + timedelta(days=lifetime),
            label=label,
        )
        ids = (f"user:{user.id}", f"token:{session.id}")
        record(tx, actor=actor, action="tokens.create", at=now, object_ids=ids, details=details)
        return Issued(session=session, token=token, user=user)


def list_tokens(ctx: ServiceContext, *, actor: Actor, name: str | None = None) -> list[Session]:
    """API tokens of ``name`` (default: the actor), newest first, without their secrets."""
    owner = name or actor.name
    with (
        refusals_recorded(ctx, actor=actor, action="tokens.list", details={"name": owner}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "tokens.manage", owner=owner)
        user = tx.get_user(owner)
        if user is None:
            raise NotFound(f"there is no user {owner!r}: `watchfloor users list` shows them")
        found = tx.list_sessions(user.id, kind="api")
        details: dict[str, DetailValue] = {"name": owner, "count": len(found)}
        record(
            tx,
            actor=actor,
            action="tokens.list",
            at=ctx.clock.now(),
            object_ids=(f"user:{user.id}",),
            details=details,
        )
        return found


def revoke_token(ctx: ServiceContext, *, actor: Actor, token_id: int) -> Session:
    """Revoke API token ``token_id`` (its holder, or an admin); it stops working at once."""
    with (
        refusals_recorded(ctx, actor=actor, action="tokens.revoke", object_ids=(f"token:{token_id}",)),
        ctx.store.transaction() as tx,
    ):
        session = tx.get_session(token_id)
        holder = tx.get_user_by_id(session.user_id) if session is not None and session.kind == "api" else None
        if session is None or holder is None:
            raise NotFound(f"there is no API token {token_id}: `watchfloor tokens list` shows yours")
        authorize(actor, "tokens.manage", owner=holder.name)
        now = ctx.clock.now()
        if not tx.revoke_session(session.id, at=now):
            raise Conflict(f"API token {token_id} was already revoked")
        ids = (f"user:{holder.id}", f"token:{session.id}")
        record(
            tx, actor=actor, action="tokens.revoke", at=now, object_ids=ids, details={"label": session.label}
        )
        revoked = tx.get_session(session.id)
        assert revoked is not None
        return revoked
