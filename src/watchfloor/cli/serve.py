"""`watchfloor serve`: run the web console."""

from __future__ import annotations

import os
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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port (each renders pages on a core of its own).",
        ),
    ] = 1,
) -> None:
    """Serve the web console and its JSON API (`/api/`, described at /api/openapi.json).

    Put it behind an HTTPS reverse proxy for anything but this machine, and set
    WATCHFLOOR_WEB_SECURE_COOKIES=true.

    Example: watchfloor --db floor.db serve --port 8000 --workers 2
    """
    import uvicorn

    from watchfloor.web.app import create_app
    from watchfloor.web.server import run_workers

    state = state_of(ctx)
    if workers == 1:
        console = create_app(context=state.context())
        err.print(f"watchfloor console on http://{host}:{port}/ (Ctrl-C stops it)")
        uvicorn.run(console, host=host, port=port, log_level="warning", proxy_headers=False)
        return
    # Open (and migrate) the store once here, so the workers do not all migrate it at the same time.
    # Each worker builds its own app from the environment's settings; the global options are the only
    # settings that do not come from there (--as and --basis mean nothing to the console).
    state.context()
    state.close()
    os.environ["WATCHFLOOR_DATABASE_URL"] = state.settings.database_url
    os.environ["WATCHFLOOR_DEBUG"] = "true" if state.settings.debug else "false"
    err.print(f"watchfloor console on http://{host}:{port}/ with {workers} workers (Ctrl-C stops it)")
    run_workers("watchfloor.web.app:create_app", workers=workers, host=host, port=port)
