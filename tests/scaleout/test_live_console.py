"""Scale-out: `watchfloor serve` pushes a worker's new alert to the live queue from the bus (issue 7).

The console runs in-process on PostgreSQL with the bus configured, its store poll slowed to 60 s, so
only a notice can bring the alert sooner; a real `watchfloor worker` process stores a published post,
raises the alert, commits, and announces it (``NatsBus.notify_alerts``). The analyst's open live stream
must show the alert well before the next poll would have. Without a bus the console polls as before
(tests/web/test_queue.py).
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scaleout.conftest import post_envelope
from tests.scaleout.test_kill_workers import Floor, wait_for
from tests.services import scratch_postgres_database
from tests.web.alerts_data import add_rescue_rule
from tests.web.conftest import Web, make_web
from tests.web.test_queue import _read_events
from watchfloor.bus.nats import NatsBus
from watchfloor.bus.records import BusRecord, Outgoing, encode_record
from watchfloor.domain.actor import Actor
from watchfloor.services import sources
from watchfloor.web import live

pytestmark = [pytest.mark.postgres]

SAM = Actor(name="sam", roles=frozenset({"supervisor"}))


@pytest.fixture
def floor_web(tmp_path: Path, bus_settings: dict[str, str]) -> Iterator[tuple[Web, str]]:
    with scratch_postgres_database() as db:
        web = make_web(tmp_path, database_url=db, **bus_settings)
        try:
            yield web, db
        finally:
            for client in web.clients:
                client.close()
            web.ctx.store.close()


def test_a_workers_alert_reaches_the_open_queue_from_the_bus(
    floor_web: tuple[Web, str], bus_settings: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web, db = floor_web
    monkeypatch.setattr(live, "PUSHED_POLL_SECONDS", 60.0)  # the store poll alone would take a minute
    add_rescue_rule(web, query="flood")
    source = sources.add_source(
        web.ctx,
        actor=SAM,
        name="city",
        kind="rss",
        config={"url": "https://example.org/feed"},
        basis_id=web.basis,
    )
    bus = NatsBus(
        bus_settings["bus_url"],
        stream=bus_settings["bus_stream"],
        subject=bus_settings["bus_subject"],
        duplicate_window=120,
    )
    bus.ensure_stream()
    deployment = Floor(db, bus_settings, tmp_path)
    worker, log = deployment.start("worker", "--batch", "10", "--name", "w1")
    lines: queue.Queue[str] = queue.Queue()
    try:
        wait_for(log, '"event": "started"', worker)
        with web.client("ana") as browser:  # entering runs the app's lifespan: the bus subscription
            assert web.app.state.alert_signal.pushed
            with browser.stream("GET", "/events/queue") as response:
                threading.Thread(target=_read_events, args=(response, lines), daemon=True).start()
                assert lines.get(timeout=10).startswith("retry:")
                record = BusRecord(
                    source_id=source.id,
                    source_name=source.name,
                    envelope=post_envelope("f-1", "flood water rising on Elm street"),
                )
                bus.publish(
                    [Outgoing(key=record.key, source_id=record.source_id, data=encode_record(record))]
                )
                received: list[str] = []
                while not any(line.startswith("event: alert") for line in received):
                    received.append(lines.get(timeout=30))  # a notice, not the 60 s poll, brings it
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
        bus.close()
    assert code == 0
    assert '"event": "notice_failed"' not in log.read_text()
