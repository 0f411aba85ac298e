"""Waking the console's live queue: polling the store, or notices from the scale-out bus.

A live queue stream (``routes/queue.py``) asks the store for alerts above the last one it sent. In
embedded mode it asks every :data:`POLL_SECONDS`. With a bus (``WATCHFLOOR_BUS_URL``), ``watchfloor
serve`` subscribes to the workers' "alerts were committed" notices (``NatsBus.notify_alerts``): a
notice wakes every stream at once, and the streams poll only every :data:`PUSHED_POLL_SECONDS` as a
safety net (a notice lost while NATS was down delays an alert to the next poll; the store stays the only
source of truth: a notice carries nothing but a wake-up).

To miss no notice that arrives while a stream is querying the store, a stream takes a :meth:`ticket`
before it queries and waits on that ticket afterwards: a notice in between has already set it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from watchfloor.config import Settings
from watchfloor.domain.errors import BusError
from watchfloor.wiring import build_bus

POLL_SECONDS = 0.5  # how often a stream asks the store without a bus
PUSHED_POLL_SECONDS = 2.0  # ... and with one (notices wake it at once)

log = logging.getLogger("watchfloor.web")


class AlertSignal:
    """Wakes waiting live-queue streams; fired from the bus's thread (:meth:`fire_threadsafe`)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.pushed = False  # a bus subscription is live: poll less often

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the event loop the app's streams run on (at startup)."""
        self._loop, self._event = loop, asyncio.Event()

    def ticket(self) -> asyncio.Event | None:
        """What to wait on after the next store query (set by any notice from now on)."""
        return self._event

    def fire_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

    async def wait(self, ticket: asyncio.Event | None) -> None:
        """Until a notice arrived since ``ticket`` was taken, or the poll interval passed."""
        if ticket is None or not self.pushed:
            await asyncio.sleep(POLL_SECONDS)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ticket.wait(), PUSHED_POLL_SECONDS)


def lifespan_for(
    settings: Settings, signal: AlertSignal
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: with a bus, subscribe to alert notices for as long as the app runs.

    A bus that cannot be reached is logged and the console polls the store as in embedded mode: the
    console must come up even when NATS is down.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        signal.bind(asyncio.get_running_loop())
        bus = None
        if settings.bus_url:
            try:
                bus = await run_in_threadpool(build_bus, settings, name="watchfloor-serve")
                if bus is not None:
                    await run_in_threadpool(bus.on_alerts, signal.fire_threadsafe)
                    signal.pushed = True
            except BusError as exc:
                log.warning("live queue: no alert notices from the bus, polling the store: %s", exc)
        try:
            yield
        finally:
            signal.pushed = False
            if bus is not None:
                await run_in_threadpool(bus.close)

    return lifespan
