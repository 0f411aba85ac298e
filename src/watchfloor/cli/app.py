"""The Typer application object and the options every command shares (--db)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated

import typer
from rich.console import Console

from watchfloor import __version__
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.services.auth import token_actor
from watchfloor.services.context import ServiceContext
from watchfloor.services.users import resolve_actor
from watchfloor.wiring import build_context

app = typer.Typer(
    name="watchfloor",
    help=(
        "An accountable watch floor for public social media: import posts, search them, export them.\n\n"
        "Examples:\n\n"
        "  watchfloor --db posts.db import tweets.jsonl export.csv\n\n"
        "  watchfloor --db posts.db search 'lang:en (flood OR \"water rising\") -#prayers'\n\n"
        "  watchfloor --db posts.db stats"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


@dataclass
class State:
    """Per-invocation state: settings, and the service context once a command needs the store."""

    settings: Settings
    _context: ServiceContext | None = field(default=None)
    _actor: Actor | None = field(default=None)

    def context(self) -> ServiceContext:
        if self._context is None:
            self._context = build_context(self.settings)
        return self._context

    session_key: str = field(default_factory=lambda: f"cli-{uuid.uuid4()}")

    def actor(self) -> Actor:
        """The user this invocation acts as (--as / WATCHFLOOR_USER), with their current roles.

        Looked up once per invocation; an unknown or disabled user is refused (and audited). When
        WATCHFLOOR_TOKEN is set, the token's user instead (an invalid token is refused, never ignored).
        """
        if self._actor is None:
            token = self.settings.api_token
            if token is not None:
                self._actor = token_actor(self.context(), token.get_secret_value())
            else:
                self._actor = resolve_actor(self.context(), self.settings.user)
        return self._actor

    def basis_id(self) -> int | None:
        """The legal basis this invocation works under (--basis / WATCHFLOOR_BASIS), if any."""
        return self.settings.basis

    def close(self) -> None:
        if self._context is not None:
            self._context.store.close()


def _version(value: bool) -> None:
    if value:
        out.print(f"watchfloor {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="SQLite file or postgresql:// URL (default: $WATCHFLOOR_DATABASE_URL, else watchfloor.db).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--as", help="The user to act as (default: $WATCHFLOOR_USER); recorded on every change."
        ),
    ] = None,
    basis: Annotated[
        int | None,
        typer.Option(
            "--basis",
            help="Legal basis to work under (id from `watchfloor basis list`; default: $WATCHFLOOR_BASIS).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Global options."""
    overrides: dict[str, object] = {"database_url": db} if db else {}
    if debug:
        overrides["debug"] = True
    if user:
        overrides["user"] = user
    if basis is not None:
        overrides["basis"] = basis
    state = State(settings=Settings(**overrides))  # type: ignore[arg-type]
    ctx.obj = state
    ctx.call_on_close(state.close)


def state_of(ctx: typer.Context) -> State:
    state = ctx.obj
    assert isinstance(state, State)
    return state
