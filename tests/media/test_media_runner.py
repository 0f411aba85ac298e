"""The media thread `watchfloor run` starts beside its sources: it works the queue and stops when told."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.media.helpers import entries, import_statuses
from tests.media.server import MediaServer
from watchfloor.cli.run import MediaWorker, Metrics
from watchfloor.config import Settings
from watchfloor.wiring import build_context


def test_media_worker_fetches_until_stopped(
    tmp_path: Path, media_server: MediaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = build_context(Settings(database_url=str(tmp_path / "t.db")))
    try:
        ids = import_statuses(ctx, tmp_path, {"1": [("image", media_server.url("/red.png"))]})
        stop, metrics = threading.Event(), Metrics(CollectorRegistry())
        worker = MediaWorker(ctx, stop, metrics)
        worker.start()
        deadline = time.monotonic() + 10
        while entries(ctx, ids["1"])[0].state == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        worker.join(timeout=10)
        assert not worker.is_alive()
        (entry,) = entries(ctx, ids["1"])
        # the runner's fetcher has the production policy: a loopback address is refused, with the reason
        assert entry.state == "refused" and "a loopback address" in (entry.last_error or "")
        assert metrics.registry.get_sample_value("watchfloor_media_total", {"outcome": "refused"}) == 1
        assert '"event": "media"' in capsys.readouterr().err
    finally:
        ctx.store.close()


def test_media_worker_without_a_media_directory_stops_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = build_context(Settings(database_url=str(tmp_path / "t.db")))
    try:
        worker = MediaWorker(replace(ctx, media=None), threading.Event(), Metrics(CollectorRegistry()))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive()
        assert "media_stopped" in capsys.readouterr().err
    finally:
        ctx.store.close()
