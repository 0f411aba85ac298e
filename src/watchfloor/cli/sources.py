"""`watchfloor sources ...`: the feeds and streams `watchfloor run` collects."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.errors import InputError
from watchfloor.domain.sources import Source
from watchfloor.services.sources import add_source, list_sources, remove_source, set_source_active

sources_app = typer.Typer(
    help=(
        "Live sources (feeds, streams) that `watchfloor run` collects.\n\n"
        "Example:\n\n  watchfloor sources add bbc-world --kind rss --url https://feeds.bbci.co.uk/news/world/rss.xml"
    ),
    no_args_is_help=True,
)
app.add_typer(sources_app, name="sources")


def _settings(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs as a config mapping; VALUE as JSON when it parses, else as text."""
    parsed: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set channel_id=UCxyz")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


def _ago(source: Source, now: datetime) -> str:
    lag = source.lag_seconds(now)
    if lag is None:
        return "never"
    if lag < 120:
        return f"{lag:.0f} s ago"
    if lag < 7200:
        return f"{lag / 60:.0f} min ago"
    return f"{lag / 3600:.1f} h ago"


@sources_app.command("add")
def sources_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short unique name for the source.")],
    kind: Annotated[str, typer.Option(help="Connector kind: rss, bluesky-jetstream, ...")] = "rss",
    url: Annotated[str | None, typer.Option(help="The feed or stream URL.")] = None,
    every: Annotated[int, typer.Option(help="Seconds between polls (feeds; at least 60).")] = 300,
    follow_next: Annotated[
        bool, typer.Option(help="Follow rel=next links to newer pages (forward-paged archives only).")
    ] = False,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help=(
                "A connector setting KEY=VALUE (repeatable); VALUE is JSON when it parses as JSON "
                "(--set subreddits='[\"askreddit\"]' --set limit=50), else text. See docs/connectors.md."
            ),
        ),
    ] = None,
) -> None:
    """Add a source, collected under your legal basis (--basis / WATCHFLOOR_BASIS).

    Example: watchfloor --basis 1 sources add city-news --kind rss --url https://example.org/feed.xml

    Other kinds take their settings with --set, e.g. watchfloor sources add askreddit --kind reddit
    --set subreddits='["askreddit"]' --set client_id_env=REDDIT_ID --set client_secret_env=REDDIT_SECRET
    """
    state = state_of(ctx)
    config: dict[str, object] = {"every": every}
    if url is not None:
        config["url"] = url
    if follow_next:
        config["follow_next"] = True
    config.update(_settings(setting or []))
    source = add_source(
        state.context(), actor=state.actor(), name=name, kind=kind, config=config, basis_id=state.basis_id()
    )
    out.print(f"Added source {source.name} ({source.kind}, id {source.id}); `watchfloor run` collects it.")
    if source.unwatched:
        named = ", ".join(f"{platform}:{account}" for platform, account in source.unwatched)
        platform, account = source.unwatched[0]
        err.print(
            f"Warning: it collects from named accounts with no watch in force ({named}), so it collects "
            "nothing until each has one: ask for them (`watchfloor watches request "
            f"{account} --platform {platform} --reason '...'`), and once a supervisor other than the "
            f"requester approves them, `watchfloor sources resume {source.name}` if the runner failed it."
        )


@sources_app.command("list")
def sources_list(ctx: typer.Context) -> None:
    """List sources with their kind, status and URL. Example: watchfloor sources list"""
    state = state_of(ctx)
    found = list_sources(state.context(), actor=state.actor())
    if not found:
        out.print("No sources yet: add one with `watchfloor sources add NAME --kind rss --url URL`.")
        return
    table = Table("name", "kind", "status", "url", "every")
    for s in found:
        table.add_row(s.name, s.kind, s.status, str(s.config.get("url", "")), f"{s.every_seconds:.0f} s")
    out.print(table)


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


def _status_record(source: Source, now: datetime) -> dict[str, object]:
    """One source's state for ``--format json`` (for monitoring scripts): no settings, no cursor."""
    return {
        "name": source.name,
        "kind": source.kind,
        "status": source.status,
        "basis_id": source.basis_id,
        "last_success_at": source.last_success_at.isoformat() if source.last_success_at else None,
        "lag_seconds": source.lag_seconds(now),
        "posts_total": source.posts_total,
        "error_count": source.error_count,
        "last_error": source.last_error,
    }


@sources_app.command("status")
def sources_status(
    ctx: typer.Context,
    output: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = StatusFormat.table,
) -> None:
    """Per-source state, lag, last success, posts and errors.

    Example: watchfloor sources status --format json
    """
    state = state_of(ctx)
    context = state.context()
    found = list_sources(context, actor=state.actor())
    now = context.clock.now()
    if output is StatusFormat.json:
        print(json.dumps([_status_record(s, now) for s in found], indent=2))
        return
    table = Table("name", "status", "last success", "posts", "errors", "last error")
    for s in found:
        table.add_row(
            s.name,
            s.status,
            _ago(s, now),
            f"{s.posts_total:,}",
            str(s.error_count),
            (s.last_error or "")[:120],
        )
    out.print(table if found else "No sources yet.")


@sources_app.command("pause")
def sources_pause(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source.")]) -> None:
    """Stop collecting a source (a runner stops it after the batch in hand).

    Example: watchfloor sources pause city-news
    """
    state = state_of(ctx)
    source = set_source_active(state.context(), actor=state.actor(), name=name, active=False)
    out.print(f"Paused source {source.name}.")


@sources_app.command("resume")
def sources_resume(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source.")]) -> None:
    """Resume a paused or failed source from its cursor. Example: watchfloor sources resume city-news"""
    state = state_of(ctx)
    source = set_source_active(state.context(), actor=state.actor(), name=name, active=True)
    out.print(f"Resumed source {source.name}; it is collected from where it stopped.")


@sources_app.command("remove")
def sources_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source.")]) -> None:
    """Remove a source; its posts stay. Example: watchfloor sources remove city-news"""
    state = state_of(ctx)
    source = remove_source(state.context(), actor=state.actor(), name=name)
    out.print(f"Removed source {source.name}; its {source.posts_total:,} posts stay in the store.")
