"""Users, sign-in and API tokens: `watchfloor init`, `watchfloor users ...`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, out, state_of
from watchfloor.domain.errors import InputError
from watchfloor.domain.identity import ROLE_HELP, ROLES
from watchfloor.services.auth import authenticate, create_token, list_tokens, revoke_token
from watchfloor.services.users import (
    add_user,
    disable_user,
    enable_user,
    end_sessions,
    enrol_totp,
    init_store,
    list_users,
    reset_totp,
    set_password,
    set_roles,
)

users_app = typer.Typer(
    help="User accounts and their roles: " + "; ".join(f"{r}: {h}" for r, h in ROLE_HELP.items()),
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


@app.command("init")
def init(
    ctx: typer.Context,
    admin: Annotated[str, typer.Option("--admin", help="Name of the first administrator account.")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="A full name to show.")] = None,
) -> None:
    """Create the store (if needed) and its first admin. There are no default accounts.

    Example: watchfloor --db floor.db init --admin alex
    """
    state = state_of(ctx)
    user = init_store(state.context(), admin=admin, display_name=display_name)
    out.print(f"Created the store and its first admin {user.name!r}.")
    out.print(
        f"Next: give {user.name!r} a password and a second factor (`watchfloor --as {user.name} users passwd "
        f"{user.name}`, then `... users totp {user.name}`), and add the others: "
        f"watchfloor --as {user.name} users add NAME --roles analyst"
    )


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name (lower-case letters, digits, . _ -).")],
    roles: Annotated[str, typer.Option("--roles", help=f"Comma-separated roles: {', '.join(ROLES)}.")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="A full name to show.")] = None,
) -> None:
    """Add a user (admins only).

    Example: watchfloor --as alex users add sam --roles analyst,reviewer
    """
    state = state_of(ctx)
    user = add_user(state.context(), actor=state.actor(), name=name, roles=roles, display_name=display_name)
    out.print(f"Added user {user.name!r} with roles {', '.join(sorted(user.roles))}.")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List every account with its roles and state (admins and auditors).

    Example: watchfloor --as alex users list
    """
    state = state_of(ctx)
    table = Table("name", "roles", "state", "password", "TOTP", "created", "by")
    for user in list_users(state.context(), actor=state.actor()):
        status = "disabled" if user.disabled else "active"
        if user.demo:
            status += " (DEMO account)"
        table.add_row(
            user.name,
            ", ".join(sorted(user.roles)),
            status,
            "set" if user.has_password else "-",
            "enrolled" if user.has_totp else "-",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
            user.created_by,
        )
    out.print(table)


@users_app.command("roles")
def users_roles(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account to change.")],
    roles: Annotated[str, typer.Option("--set", help=f"The new comma-separated roles: {', '.join(ROLES)}.")],
) -> None:
    """Replace an account's roles (admins); its console sessions end at once.

    Example: watchfloor --as alex users roles sam --set analyst,reviewer
    """
    state = state_of(ctx)
    user = set_roles(state.context(), actor=state.actor(), name=name, roles=roles)
    out.print(f"{user.name!r} now has roles {', '.join(sorted(user.roles))}.")


@users_app.command("disable")
def users_disable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The account to disable.")]
) -> None:
    """Disable an account (admins): it cannot sign in, and its sessions and API tokens end now.

    Example: watchfloor --as alex users disable sam
    """
    state = state_of(ctx)
    user = disable_user(state.context(), actor=state.actor(), name=name)
    out.print(f"Disabled {user.name!r}; their sessions and API tokens no longer work.")


@users_app.command("enable")
def users_enable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The account to enable.")]
) -> None:
    """Enable a disabled account again (admins); old sessions and tokens stay revoked.

    Example: watchfloor --as alex users enable sam
    """
    state = state_of(ctx)
    user = enable_user(state.context(), actor=state.actor(), name=name)
    out.print(f"Enabled {user.name!r}.")


@users_app.command("signout")
def users_signout(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """End every console session of an account now (admins); API tokens are kept.

    Example: watchfloor --as alex users signout sam
    """
    state = state_of(ctx)
    ended = end_sessions(state.context(), actor=state.actor(), name=name)
    out.print(f"Ended {ended:,} session{'s' if ended != 1 else ''} of {name!r}.")


def _stdin_line() -> str | None:
    """One line from standard input without its line ending (None at end of input); nothing else stripped."""
    line = sys.stdin.readline()
    return line.removesuffix("\n") if line else None


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account: your own, or anyone's for an admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from one line of standard input.")
    ] = False,
) -> None:
    """Set a password: at least 12 characters, used exactly as typed (spaces and case count).

    Example: watchfloor --as sam users passwd sam
    (or, in a script: printf '%s\\n' "$NEW" | watchfloor --as alex users passwd sam --password-stdin)
    """
    state = state_of(ctx)
    if password_stdin:
        password = _stdin_line()
        if password is None:
            raise InputError("--password-stdin: standard input was empty; pipe the password in on one line")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    set_password(state.context(), actor=state.actor(), name=name, password=password)
    out.print(f"Password set for {name!r}; their console sessions have ended.")


@users_app.command("totp")
def users_totp(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account to enrol.")],
    reset: Annotated[
        bool, typer.Option("--reset", help="Remove the second factor instead (admins).")
    ] = False,
) -> None:
    """Enrol (or replace) an account's TOTP second factor; prints the secret once.

    Every account except demo accounts needs one to sign in. Hand the otpauth:// URI (or the secret)
    to the user privately; they add it to an authenticator app.

    Example: watchfloor --as alex users totp sam
    """
    state = state_of(ctx)
    if reset:
        reset_totp(state.context(), actor=state.actor(), name=name)
        out.print(f"Removed the second factor of {name!r}: they cannot sign in until it is enrolled again.")
        return
    enrolment = enrol_totp(state.context(), actor=state.actor(), name=name)
    out.print(f"TOTP enrolled for {name!r}. This is shown once; add it to an authenticator app now:")
    out.print(enrolment.uri, markup=False)
    out.print(f"secret: {enrolment.secret}", markup=False)


@users_app.command("login")
def users_login(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account to sign in as.")],
    code: Annotated[
        str | None, typer.Option("--code", help="The current TOTP code (prompted if absent).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password (and then the code, unless --code) from stdin."
        ),
    ] = False,
) -> None:
    """Sign in with password and TOTP code and print a console session token (to try the sign-in flow).

    The session ends after 30 minutes unused or 12 hours at most.

    Example: watchfloor users login sam
    """
    state = state_of(ctx)
    if password_stdin:
        password = _stdin_line() or ""
        code = code if code is not None else _stdin_line()
    else:
        password = typer.prompt("Password", hide_input=True, default="", show_default=False)
        if code is None:
            code = typer.prompt("TOTP code (empty for a demo account)", default="", show_default=False)
    issued = authenticate(state.context(), name=name, password=password, totp_code=code or None, source="cli")
    expires = issued.session.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    out.print(f"Signed in as {issued.user.name!r}; session {issued.session.id} (ends by {expires}). Token:")
    out.print(issued.token, markup=False)


tokens_app = typer.Typer(
    help="API tokens for scripts (set WATCHFLOOR_TOKEN to use one).", no_args_is_help=True
)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    label: Annotated[str, typer.Option("--label", help="What will use the token, e.g. nightly-export.")],
    days: Annotated[int | None, typer.Option("--days", help="Days it stays valid (default 90).")] = None,
) -> None:
    """Create an API token for yourself; it is printed once and only its hash is kept.

    Example: watchfloor --as sam tokens create --label nightly-export --days 30
    """
    state = state_of(ctx)
    issued = create_token(state.context(), actor=state.actor(), label=label, days=days)
    expires = issued.session.expires_at.strftime("%Y-%m-%d")
    out.print(
        f"Token {issued.session.id} ({label}) for {issued.user.name!r}, valid until {expires}.", markup=False
    )
    out.print("It is shown only now; keep it secret (scripts: export WATCHFLOOR_TOKEN=...):")
    out.print(issued.token, markup=False)


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Whose tokens (admins; default: yours).")] = None,
) -> None:
    """List API tokens (never their secrets).

    Example: watchfloor --as sam tokens list
    """
    state = state_of(ctx)
    now = state.context().clock.now()
    table = Table("id", "label", "created", "last used", "expires", "state")
    for token in list_tokens(state.context(), actor=state.actor(), name=user):
        status = "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
        table.add_row(
            str(token.id),
            Text(token.label or ""),
            token.created_at.strftime("%Y-%m-%d %H:%M"),
            token.last_seen_at.strftime("%Y-%m-%d %H:%M"),
            token.expires_at.strftime("%Y-%m-%d"),
            status,
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="The token's id.")]
) -> None:
    """Revoke an API token (your own, or anyone's for an admin); it stops working at once.

    Example: watchfloor --as sam tokens revoke 3
    """
    state = state_of(ctx)
    revoke_token(state.context(), actor=state.actor(), token_id=token_id)
    out.print(f"Revoked API token {token_id}.")
