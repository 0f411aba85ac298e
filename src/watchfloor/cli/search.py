"""`watchfloor search`, `export`, `stats` and `quarantine list`."""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.query.evaluate import Document, match_spans
from watchfloor.services.formats import iter_csv, ndjson_line
from watchfloor.services.search import (
    count_posts,
    list_quarantine,
    parse_search,
    search_posts,
    store_stats,
)
from watchfloor.store.ports import StoredPost

quarantine_app = typer.Typer(help="Records that could not be imported, with file, line, field and reason.")
app.add_typer(quarantine_app, name="quarantine")


class OutputFormat(StrEnum):
    table = "table"
    ndjson = "ndjson"
    csv = "csv"


class Sort(StrEnum):
    newest = "newest"
    oldest = "oldest"
    relevance = "relevance"


def _default_format(given: OutputFormat | None) -> OutputFormat:
    if given is not None:
        return given
    return OutputFormat.table if sys.stdout.isatty() else OutputFormat.ndjson


def _highlighted(item: StoredPost, query: str, width: int = 160) -> Text:
    text = item.post.searchable_text().replace("\n", " ")
    rendered = Text(text[:width] + ("…" if len(text) > width else ""))
    root = parse_search(query).root
    for start, end in match_spans(root, Document.from_post(item.post)):
        if start < width:
            rendered.stylize("bold yellow", start, min(end, width))
    return rendered


def _table(items: list[StoredPost], query: str) -> Table:
    table = Table("id", "created (UTC)", "platform", "author", "text", box=None, show_lines=False)
    for item in items:
        post = item.post
        table.add_row(
            str(item.id),
            post.created_at.strftime("%Y-%m-%d %H:%M"),
            post.platform,
            Text(post.author_handle or post.author_id or "—"),
            _highlighted(item, query),
        )
    return table


@app.command("search")
def search_command(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Query; see docs/query-language.md.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many posts to show.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many matches (paging).")] = 0,
    sort: Annotated[Sort, typer.Option(help="newest, oldest, or relevance.")] = Sort.newest,
    output: Annotated[
        OutputFormat | None, typer.Option("--format", help="table (default on a terminal), ndjson or csv.")
    ] = None,
) -> None:
    """Search stored posts.

    Examples:

      watchfloor search 'lang:en (flood OR "water rising") -#prayers since:2012-10-29' --limit 20

      watchfloor search '"need rescue" NEAR/5 flood*' --format ndjson
    """
    service = state_of(ctx).context()
    state = state_of(ctx)
    items = search_posts(
        service,
        actor=state.actor(),
        query=query,
        basis_id=state.basis_id(),
        session_key=state.session_key,
        limit=limit,
        sort=sort.value,
        offset=offset,
    )
    fmt = _default_format(output)
    if fmt is OutputFormat.table:
        total = count_posts(
            service,
            actor=state.actor(),
            query=query,
            basis_id=state.basis_id(),
            session_key=state.session_key,
        )
        out.print(_table(items, query))
        err.print(f"{len(items):,} shown of {total:,} matching posts")
    elif fmt is OutputFormat.csv:
        for chunk in iter_csv(items):
            sys.stdout.write(chunk)
    else:
        for item in items:
            sys.stdout.buffer.write(ndjson_line(item))


@app.command("export")
def export_command(
    query: Annotated[str, typer.Argument(help="Query selecting the posts to export ('' for all).")],
    output: Annotated[OutputFormat, typer.Option("--format", help="csv or ndjson.")] = OutputFormat.ndjson,
    target: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    bom: Annotated[bool, typer.Option(help="(ignored: reviewed exports are hashed byte for byte)")] = False,
) -> None:
    """Exports now need a reviewer's approval: this prints the `watchfloor exports` commands to use.

    Example (what to run instead):

      watchfloor exports request '#flood since:2013-06-01' --recipient "County emergency cell"
      --title "Flood posts" --format csv
    """
    del bom
    fmt = "csv" if output is OutputFormat.csv else "ndjson"
    file = shlex.quote(str(target)) if target else f"FILE.{fmt}"
    err.print(
        "Exports leave watchfloor only after a reviewer who is not the author has approved their exact "
        'content (docs/operator-guide.md, "Reviewed exports"). Instead, run:\n'
        f"  watchfloor exports request {shlex.quote(query)} --recipient WHO --title WHAT --format {fmt}\n"
        "then a reviewer runs `watchfloor exports review ID` and `watchfloor exports approve ID --sha256 "
        f"HASH`, and you run `watchfloor exports release ID -o {file}`.",
        markup=False,
    )
    raise typer.Exit(2)


class StatsFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("stats")
def stats_command(
    ctx: typer.Context,
    output: Annotated[StatsFormat, typer.Option("--format", help="table or json.")] = StatsFormat.table,
    top: Annotated[int, typer.Option(min=1, max=1000, help="How many hashtags, domains, languages.")] = 10,
) -> None:
    """Counts of stored posts by platform, language, hashtag and domain.

    Example: watchfloor stats --format json
    """
    stats = store_stats(state_of(ctx).context(), actor=state_of(ctx).actor(), top=top)
    if output is StatsFormat.json:
        sys.stdout.buffer.write(msgspec.json.encode(stats) + b"\n")
        return
    span = f"{stats.earliest:%Y-%m-%d} to {stats.latest:%Y-%m-%d}" if stats.earliest and stats.latest else "—"
    out.print(f"[bold]{stats.posts:,}[/bold] posts ({span}), {stats.deleted:,} deleted by their platform")
    out.print(
        f"{stats.clusters_with_duplicates:,} near-duplicate clusters, "
        f"{stats.quarantined:,} quarantined records, {stats.imports:,} imports"
    )
    for title, facets in (
        ("platforms", stats.platforms),
        ("languages", stats.languages),
        ("hashtags", stats.top_hashtags),
        ("domains", stats.top_domains),
    ):
        table = Table(title, "posts", box=None)
        for facet in facets:
            table.add_row(Text(facet.value), f"{facet.count:,}")
        out.print(table)


@quarantine_app.command("list")
def quarantine_list_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many entries, newest first.")] = 50,
    output: Annotated[OutputFormat | None, typer.Option("--format", help="table or ndjson.")] = None,
) -> None:
    """Show records that could not be imported: file, line, field, reason.

    Example: watchfloor quarantine list --limit 20
    """
    entries = list_quarantine(state_of(ctx).context(), actor=state_of(ctx).actor(), limit=limit)
    if _default_format(output) is not OutputFormat.table:
        for entry in entries:
            record = {
                "id": entry.id,
                "import_id": entry.import_id,
                "format": entry.format,
                "source": entry.location.source,
                "line": entry.location.line,
                "index": entry.location.index,
                "field": entry.field,
                "reason": entry.reason,
                "raw": entry.raw.decode("utf-8", errors="replace"),
                "quarantined_at": entry.quarantined_at,
            }
            sys.stdout.buffer.write(msgspec.json.encode(record) + b"\n")
        return
    table = Table("id", "file", "line", "field", "reason", box=None)
    for entry in entries:
        where = entry.location.line if entry.location.line is not None else entry.location.index
        table.add_row(
            str(entry.id),
            Text(Path(entry.location.source).name),
            "" if where is None else str(where),
            Text(entry.field or ""),
            Text(entry.reason),
        )
    out.print(table)
    if not entries:
        err.print("Nothing is quarantined.")
