"""Accounts: creating the first admin, adding users with roles, and resolving who the CLI acts as.

There are no default accounts (ASVS 6.3.2): a new store has no users until ``watchfloor init --admin
NAME`` creates the first admin, and every other account is added by an admin. The CLI acts as a named
user (``--as`` / ``WATCHFLOOR_USER``) whose roles come from the store on every invocation, so a role
change or a disabled account takes effect on the next command. Anyone who can open the embedded
database file directly is outside what software can stop (docs/operator-guide.md); the audit log makes
what they change detectable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from watchfloor.domain.identity import ROLES, Role, User, as_roles
from watchfloor.services.access import allowed, authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.credentials import check_new_password, hash_password, new_totp_secret, totp_uri
from watchfloor.services.recording import record, record_failure, refusals_recorded
from watchfloor.store.ports import StoreTx

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
NO_USER_HELP = (
    "say who you are with --as NAME or WATCHFLOOR_USER=NAME; a new store has no users until "
    "`watchfloor init --admin NAME` creates the first admin, who adds the others with `watchfloor users add`"
)


def check_user_name(name: str) -> str:
    """A user name: 1–64 of a–z, 0–9, '.', '_' and '-', starting with a letter or digit."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"user name {name!r} is not valid: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def init_store(ctx: ServiceContext, *, admin: str, display_name: str | None = None) -> User:
    """Create the first admin of a store that has no users yet (``watchfloor init --admin NAME``)."""
    check_user_name(admin)
    with ctx.store.transaction() as tx:
        if tx.count_users():
            raise Conflict("this store already has users: an admin adds more with `watchfloor users add`")
        user = tx.create_user(
            name=admin,
            roles=frozenset({"admin"}),
            created_by=admin,
            at=ctx.clock.now(),
            display_name=display_name,
        )
        record(
            tx,
            actor=admin,
            action="users.init",
            at=ctx.clock.now(),
            object_ids=(f"user:{user.id}",),
            details={"roles": "admin"},
        )
    return user


def add_user(
    ctx: ServiceContext,
    *,
    actor: Actor,
    name: str,
    roles: frozenset[Role] | str,
    display_name: str | None = None,
    demo: bool = False,
) -> User:
    """Add an account with ``roles`` (an admin's operation); it has no password until one is set."""
    wanted = as_roles(roles) if isinstance(roles, str) else roles
    details: dict[str, DetailValue] = {"name": name, "roles": ",".join(sorted(wanted))}
    with (
        refusals_recorded(ctx, actor=actor, action="users.add", details=details),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.manage")
        check_user_name(name)
        if not wanted:
            raise InputError("a user needs at least one role: --roles analyst,reviewer,...")
        if tx.get_user(name) is not None:
            raise Conflict(f"user {name!r} already exists")
        user = tx.create_user(
            name=name,
            roles=wanted,
            created_by=actor.name,
            at=ctx.clock.now(),
            display_name=display_name,
            demo=demo,
        )
        record(
            tx,
            actor=actor,
            action="users.add",
            at=ctx.clock.now(),
            object_ids=(f"user:{user.id}",),
            details={**details, "demo": demo},
        )
        return user


def list_users(ctx: ServiceContext, *, actor: Actor) -> list[User]:
    """Every account, with roles and state (never credentials)."""
    with (
        refusals_recorded(ctx, actor=actor, action="users.list"),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.read")
        found = tx.list_users()
        record(tx, actor=actor, action="users.list", at=ctx.clock.now(), details={"count": len(found)})
        return found


def resolve_actor(ctx: ServiceContext, name: str | None) -> Actor:
    """The enabled user ``name`` as an :class:`Actor` with their current roles.

    An unknown or disabled name is refused, and the refusal is audited (an unsuccessful log-on).
    """
    if not name:
        raise PermissionDenied(NO_USER_HELP)
    with ctx.store.transaction() as tx:
        user = tx.get_user(name)
        has_users = bool(user) or tx.count_users() > 0
    if user is None or user.disabled:
        reason = "disabled" if user is not None else "unknown user"
        if has_users:
            record_failure(
                ctx,
                actor=name[:200],
                action="auth.cli",
                outcome="denied",
                details={"error": "permission_denied", "reason": reason},
            )
        if user is None:
            raise PermissionDenied(f"there is no user {name!r} in this store: {NO_USER_HELP}")
        raise PermissionDenied(f"user {name!r} is disabled")
    return Actor(name=user.name, roles=frozenset(user.roles))


def _require_user(tx: StoreTx, name: str) -> User:
    user = tx.get_user(name)
    if user is None:
        raise NotFound(f"there is no user {name!r}: `watchfloor users list` shows them")
    return user


def _keep_an_admin(tx: StoreTx, user: User, *, losing: str) -> None:
    """Refuse to leave the store without an enabled admin (no one could manage accounts any more)."""
    if "admin" not in user.roles or user.disabled:
        return
    admins = [u for u in tx.list_users() if "admin" in u.roles and not u.disabled]
    if len(admins) <= 1:
        raise Conflict(
            f"{user.name!r} is the last enabled admin, so {losing} would leave no one able to manage "
            "accounts: give another account the admin role first "
            "(`watchfloor users roles NAME --set admin,...`)"
        )


def set_roles(ctx: ServiceContext, *, actor: Actor, name: str, roles: frozenset[Role] | str) -> User:
    """Replace ``name``'s roles (admins); their console sessions end, so they sign in with the new ones."""
    wanted = as_roles(roles) if isinstance(roles, str) else roles
    details: dict[str, DetailValue] = {"name": name, "roles": ",".join(sorted(wanted))}
    with (
        refusals_recorded(ctx, actor=actor, action="users.roles", details=details),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.manage")
        if not wanted:
            raise InputError(f"a user needs at least one role: --set with some of {', '.join(ROLES)}")
        user = _require_user(tx, name)
        if "admin" not in wanted:
            _keep_an_admin(tx, user, losing="removing their admin role")
        now = ctx.clock.now()
        changed = tx.update_user(name, at=now, roles=wanted)
        assert changed is not None
        ended = tx.revoke_user_sessions(user.id, at=now, kind="session")
        details |= {"roles_before": ",".join(sorted(user.roles)), "sessions_ended": ended}
        record(
            tx, actor=actor, action="users.roles", at=now, object_ids=(f"user:{user.id}",), details=details
        )
        return changed


def _set_disabled(ctx: ServiceContext, actor: Actor, name: str, *, disabled: bool) -> User:
    action = "users.disable" if disabled else "users.enable"
    with (
        refusals_recorded(ctx, actor=actor, action=action, details={"name": name}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.manage")
        user = _require_user(tx, name)
        if user.disabled == disabled:
            raise Conflict(f"user {name!r} is already {'disabled' if disabled else 'enabled'}")
        if disabled:
            _keep_an_admin(tx, user, losing="disabling them")
        now = ctx.clock.now()
        changed = tx.update_user(name, at=now, disabled=disabled)
        assert changed is not None
        # Disabling ends every session and API token for good (ASVS 7.4.2): re-enabling restores none.
        ended = tx.revoke_user_sessions(user.id, at=now) if disabled else 0
        details: dict[str, DetailValue] = {"name": name, "sessions_ended": ended}
        record(tx, actor=actor, action=action, at=now, object_ids=(f"user:{user.id}",), details=details)
        return changed


def disable_user(ctx: ServiceContext, *, actor: Actor, name: str) -> User:
    """Disable an account (admins): it can no longer sign in, and its sessions and tokens end now."""
    return _set_disabled(ctx, actor, name, disabled=True)


def enable_user(ctx: ServiceContext, *, actor: Actor, name: str) -> User:
    """Enable a disabled account again (admins); its old sessions and tokens stay revoked."""
    return _set_disabled(ctx, actor, name, disabled=False)


def end_sessions(ctx: ServiceContext, *, actor: Actor, name: str) -> int:
    """End every console session of ``name`` now (admins, ASVS 7.4.5); API tokens are kept. How many."""
    with (
        refusals_recorded(ctx, actor=actor, action="users.signout", details={"name": name}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.manage")
        user = _require_user(tx, name)
        now = ctx.clock.now()
        ended = tx.revoke_user_sessions(user.id, at=now, kind="session")
        details: dict[str, DetailValue] = {"name": name, "sessions_ended": ended}
        record(
            tx, actor=actor, action="users.signout", at=now, object_ids=(f"user:{user.id}",), details=details
        )
        return ended


def set_password(ctx: ServiceContext, *, actor: Actor, name: str, password: str) -> User:
    """Set ``name``'s password (their own, or anyone's for an admin), used exactly as given.

    See :func:`~watchfloor.services.credentials.check_new_password` for the policy. The account's
    console sessions end (they were opened with the old password); its API tokens are kept.
    """
    with (
        refusals_recorded(ctx, actor=actor, action="users.password", details={"name": name}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.password", owner=name)
        user = _require_user(tx, name)
        check_new_password(password, user_name=name)
        hashed = hash_password(ctx.settings, password)
        now = ctx.clock.now()
        tx.set_credentials(name, at=now, password_hash=hashed)
        ended = tx.revoke_user_sessions(user.id, at=now, kind="session")
        details: dict[str, DetailValue] = {"name": name, "own": name == actor.name, "sessions_ended": ended}
        record(
            tx, actor=actor, action="users.password", at=now, object_ids=(f"user:{user.id}",), details=details
        )
        changed = tx.get_user(name)
        assert changed is not None
        return changed


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A new TOTP secret and the ``otpauth://`` URI for an authenticator app: shown once."""

    secret: str
    uri: str


def enrol_totp(ctx: ServiceContext, *, actor: Actor, name: str) -> TotpEnrolment:
    """Give ``name`` a new TOTP secret (an admin, or the user for a first enrolment).

    Replacing an existing second factor is an admin's job: someone holding only a user's session must
    not be able to swap the factor for one of their own. Replacing ends the account's console sessions.
    """
    with (
        refusals_recorded(ctx, actor=actor, action="users.totp", details={"name": name}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.totp", owner=name)
        user = _require_user(tx, name)
        if user.has_totp and not allowed(actor, "users.totp"):
            raise Conflict(
                f"{name!r} already has a second factor: an admin replaces it with "
                f"`watchfloor users totp {name}`"
            )
        secret = new_totp_secret()
        now = ctx.clock.now()
        tx.set_credentials(name, at=now, totp_secret=secret)
        ended = tx.revoke_user_sessions(user.id, at=now, kind="session") if user.has_totp else 0
        details: dict[str, DetailValue] = {
            "name": name,
            "change": "replaced" if user.has_totp else "enrolled",
            "sessions_ended": ended,
        }
        record(tx, actor=actor, action="users.totp", at=now, object_ids=(f"user:{user.id}",), details=details)
        return TotpEnrolment(secret=secret, uri=totp_uri(secret, user_name=name))


def reset_totp(ctx: ServiceContext, *, actor: Actor, name: str) -> User:
    """Remove ``name``'s second factor (admins): they cannot sign in until one is enrolled again."""
    with (
        refusals_recorded(ctx, actor=actor, action="users.totp", details={"name": name, "change": "reset"}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "users.manage")
        user = _require_user(tx, name)
        now = ctx.clock.now()
        tx.set_credentials(name, at=now, clear_totp=True)
        ended = tx.revoke_user_sessions(user.id, at=now, kind="session")
        details: dict[str, DetailValue] = {"name": name, "change": "reset", "sessions_ended": ended}
        record(tx, actor=actor, action="users.totp", at=now, object_ids=(f"user:{user.id}",), details=details)
        changed = tx.get_user(name)
        assert changed is not None
        return changed
