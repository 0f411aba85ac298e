"""`watchfloor serve`: run the web console."""

from __future__ import annotations

from typing import Annotated

import typer

from watchfloor.cli.app import app, err, state_of


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web console and its JSON API (`/api/`, described at /api/openapi.json).

    Put it behind an HTTPS reverse proxy for anything but this machine, and set
    WATCHFLOOR_WEB_SECURE_COOKIES=true.

    Example: watchfloor --db floor.db serve --port 8000
    """
    import uvicorn

    from watchfloor.web.app import create_app

    state = state_of(ctx)
    console = create_app(context=state.context())
    err.print(f"watchfloor console on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(console, host=host, port=port, log_level="warning", proxy_headers=False)
