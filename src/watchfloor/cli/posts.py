"""`watchfloor show POST_ID`: one stored post, and its raw platform payload with --raw."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from watchfloor.cli.app import app, err, state_of
from watchfloor.services.formats import ndjson_line
from watchfloor.services.posts import show_post


@app.command("show")
def show_command(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(help="The post's store id (the `id` column of search results).")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the platform's payload, byte for byte.")] = False,
) -> None:
    """Show one stored post as JSON (recorded in the audit log with your legal basis).

    Example: watchfloor show 1234 --raw
    """
    state = state_of(ctx)
    view = show_post(
        state.context(), actor=state.actor(), post_id=post_id, basis_id=state.basis_id(), raw=raw
    )
    if raw:
        if view.raw is None:
            err.print(f"post {post_id} has no raw payload stored")
            raise typer.Exit(1)
        err.print(f"raw {view.raw_format} payload of post {post_id}:")
        sys.stdout.buffer.write(view.raw + (b"" if view.raw.endswith(b"\n") else b"\n"))
        return
    sys.stdout.buffer.write(ndjson_line(view.post))
