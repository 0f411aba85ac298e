"""Scale-out fixtures: a NATS JetStream stream of each test's own, and records to send through it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.live.conftest import feeds  # noqa: F401  (the loopback fake feed server)
from tests.services import scratch_nats_stream
from tests.services_layer.conftest import ctx  # noqa: F401  (the service context on both stores)
from watchfloor.bus.nats import NatsBus
from watchfloor.domain.post import Deletion, Envelope, Location, Post, Quarantined

CREATED = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def bus_settings() -> Iterator[dict[str, str]]:
    """Settings naming a stream, subject prefix and consumer of this test's own (removed afterwards)."""
    with scratch_nats_stream() as settings:
        yield settings


@pytest.fixture
def bus(bus_settings: dict[str, str]) -> Iterator[NatsBus]:
    """A connected bus with its stream created (a short duplicate window is not needed: 2 minutes)."""
    connected = NatsBus(
        bus_settings["bus_url"],
        stream=bus_settings["bus_stream"],
        subject=bus_settings["bus_subject"],
        duplicate_window=120,
    )
    connected.ensure_stream()
    yield connected
    connected.close()


def post_envelope(native_id: str, text: str, *, platform: str = "rss") -> Envelope:
    """An envelope as a live connector makes it: the raw payload and the post it maps to."""
    post = Post(
        platform=platform,
        native_id=native_id,
        created_at=CREATED,
        source="test",
        source_version="1",
        text=text,
    )
    raw = f'{{"id": "{native_id}", "text": "{text}"}}'.encode()
    return Envelope(raw=raw, format="test-json", location=Location(source="test", index=0), post=post)


def deletion(native_id: str, *, platform: str = "rss") -> Deletion:
    return Deletion(platform=platform, native_id=native_id, deleted_at=CREATED)


def quarantined(raw: bytes, reason: str) -> Quarantined:
    return Quarantined(raw=raw, format="test-json", location=Location(source="test", line=3), reason=reason)
