"""`watchfloor status`: where scale-out mode stands (the stream, the workers' consumer, live workers).

Reads only the bus (no store, no audit event): what waits in the stream, what the workers hold, how
much was delivered again, and which workers said they were alive within the last minute. Without
WATCHFLOOR_BUS_URL it says the deployment is in embedded mode.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.table import Table

from watchfloor.cli.app import app, out, state_of
from watchfloor.wiring import build_bus


def _safe_url(url: str) -> str:
    """``url`` with any user and password left out (status output is pasted into tickets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (for monitoring).")] = False,
) -> None:
    """Stream backlog, consumer pending and redeliveries, live workers (scale-out).

    Example: watchfloor status
    """
    settings = state_of(ctx).settings
    if not settings.bus_url:
        if as_json:
            out.print(json.dumps({"mode": "embedded"}))
            return
        out.print(
            "Embedded mode (WATCHFLOOR_BUS_URL is not set): `watchfloor run` stores what it collects "
            "itself. `watchfloor sources status` shows each source's lag and errors."
        )
        return
    bus = build_bus(settings, name="watchfloor-status")
    assert bus is not None
    ctx.call_on_close(bus.close)
    stream = bus.stream_state()
    consumer = bus.consumer_state(settings.bus_consumer) if stream is not None else None
    workers = bus.workers() if stream is not None else {}
    if as_json:
        found: dict[str, Any] = {
            "mode": "scale-out",
            "bus": _safe_url(settings.bus_url),
            "stream": None if stream is None else asdict(stream),
            "consumer": None if consumer is None else asdict(consumer),
            "workers": workers,
        }
        out.print(json.dumps(found, default=str))
        return
    out.print(f"Scale-out mode: bus {_safe_url(settings.bus_url)}, stream {settings.bus_stream}.")
    if stream is None:
        out.print(
            f"The stream {settings.bus_stream} does not exist yet: `watchfloor run --role connectors` or "
            "`watchfloor worker` creates it when it starts."
        )
        return
    out.print(
        f"Stream: {stream.messages:,} messages ({_mb(stream.bytes)}) waiting or being stored; "
        f"{stream.last_seq:,} published since it was created; "
        f"duplicate window {stream.duplicate_window_s:.0f} s."
    )
    if consumer is None:
        out.print(
            f"Consumer {settings.bus_consumer}: not created yet (the first `watchfloor worker` creates it)."
        )
    else:
        out.print(
            f"Consumer {consumer.name}: {consumer.pending:,} not yet delivered, "
            f"{consumer.ack_pending:,} held by workers (ack wait {consumer.ack_wait_s:.0f} s), "
            f"{consumer.redelivered:,} delivered again; {consumer.waiting} idle fetch requests."
        )
    if not workers:
        out.print("No worker sent a heartbeat in the last minute.")
        return
    table = Table("worker", "host", "pid", "batches", "records", "new posts", "last batch (UTC)", box=None)
    for worker_name, facts in sorted(workers.items()):
        table.add_row(
            worker_name,
            str(facts.get("host", "")),
            str(facts.get("pid", "")),
            f"{facts.get('batches', 0):,}",
            f"{facts.get('records', 0):,}",
            f"{facts.get('inserted', 0):,}",
            str(facts.get("last_batch_at") or "none yet"),
        )
    out.print(f"Workers seen in the last minute: {len(workers)}")
    out.print(table)
