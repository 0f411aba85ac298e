"""Shared fixtures for media tests: the loopback media server, a fetcher allowed to reach it, contexts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.media.server import MediaServer, make_mp4
from tests.services import scratch_postgres_database
from watchfloor.config import Settings
from watchfloor.connectors.media.fetch import FetchLimits, MediaFetcher
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_context

# Tight limits so hostile routes fail fast: 1 MB images, 5 MB videos, a 2-second deadline per fetch.
TEST_LIMITS = FetchLimits(
    max_image_bytes=1_000_000,
    max_video_bytes=5_000_000,
    connect_timeout=2.0,
    read_timeout=1.0,
    deadline=2.0,
    max_redirects=3,
    allow_loopback=True,
)


@pytest.fixture(scope="session")
def mp4() -> bytes | None:
    return make_mp4()


@pytest.fixture
def media_server(mp4: bytes | None) -> Iterator[MediaServer]:
    server = MediaServer(mp4).start()
    yield server
    server.stop()


@pytest.fixture
def fetcher() -> Iterator[MediaFetcher]:
    with MediaFetcher(TEST_LIMITS) as f:
        yield f


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def media_ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context on SQLite and on PostgreSQL with a media directory and a frozen clock."""
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    media_dir = str(tmp_path / "media")
    if request.param == "sqlite":
        context = build_context(
            Settings(database_url=str(tmp_path / "t.db"), media_dir=media_dir, batch_size=50), clock=clock
        )
        yield context
        context.store.close()
        return
    with scratch_postgres_database() as url:
        context = build_context(Settings(database_url=url, media_dir=media_dir, batch_size=50), clock=clock)
        yield context
        context.store.close()
