"""The one place that picks concrete adapters from Settings and builds the service context."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from watchfloor.config import Settings
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.services.context import ServiceContext
from watchfloor.store.engine import is_postgres_url, open_store
from watchfloor.store.media_files import MediaFiles

if TYPE_CHECKING:  # nats-py (and asyncio) load only in scale-out mode: ~0.1 s off every CLI start
    from watchfloor.bus.nats import NatsBus, OnEvent


def media_root(settings: Settings) -> Path | None:
    """The media directory: the setting, else ``<SQLite file>.media`` beside the database; ``None`` for
    PostgreSQL without the setting (the media service then says it must be set)."""
    if settings.media_dir:
        return Path(settings.media_dir).expanduser()
    if is_postgres_url(settings.database_url) or settings.database_url == ":memory:":
        return None
    database = Path(settings.database_url).expanduser()
    return database.with_name(database.name + ".media")


def build_context(settings: Settings, *, clock: Clock | None = None) -> ServiceContext:
    """Open the configured store (migrating it) and return the context services run in."""
    root = media_root(settings)
    return ServiceContext(
        store=open_store(settings.database_url),
        clock=clock or SystemClock(),
        settings=settings,
        media=MediaFiles(root) if root is not None else None,
    )


def build_bus(
    settings: Settings, *, name: str = "watchfloor", on_event: OnEvent | None = None
) -> NatsBus | None:
    """Connect to the scale-out bus (NATS JetStream at ``bus_url``); None in embedded mode (no bus_url).

    Raises BusError if the server cannot be reached within 10 seconds.
    """
    if not settings.bus_url:
        return None
    from watchfloor.bus.nats import NatsBus

    return NatsBus(
        settings.bus_url,
        stream=settings.bus_stream,
        subject=settings.bus_subject,
        duplicate_window=settings.bus_duplicate_window_seconds,
        name=name,
        on_event=on_event,
    )
