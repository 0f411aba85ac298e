"""The one place that picks concrete adapters from Settings and builds the service context."""

from __future__ import annotations

from watchfloor.config import Settings
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.services.context import ServiceContext
from watchfloor.store.engine import open_store


def build_context(settings: Settings, *, clock: Clock | None = None) -> ServiceContext:
    """Open the configured store (migrating it) and return the context services run in."""
    return ServiceContext(
        store=open_store(settings.database_url), clock=clock or SystemClock(), settings=settings
    )
