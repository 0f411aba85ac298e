"""Restart NATS and PostgreSQL during a scale-out run: the processes resume by themselves, nothing is lost
(issue 7).

A forward-paged fake feed serves 20,000 posts, 500 a page. A connectors process publishes them to a
private NATS server and two workers store them in a private PostgreSQL cluster (tests/scaleout/
private_services.py: the machine's shared servers are never stopped). While the connectors are still
publishing and the workers storing, the NATS server is shut down for a few seconds and started again
on the same storage directory; later PostgreSQL is stopped as if it crashed (``pg_ctl stop -m
immediate``) and started again (crash recovery). The test never restarts a watchfloor process: each
must stay up, reconnect, back off and carry on. At the end every post is stored exactly once, every
post the rule matches is in exactly one alert, the workers' audit events account for every post once,
the source's cursor is at the last page, and the audit log verifies. The figures are printed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.cli.floor import seed_floor
from tests.live.conftest import PAGE, FakeFeeds, paged_entry_text
from tests.scaleout.private_services import PrivateNats, PrivatePostgres, private_nats, private_postgres
from tests.scaleout.test_kill_workers import AUDREY, SAM, Floor, stored_ids, wait_for
from watchfloor.bus.nats import NatsBus
from watchfloor.config import Settings
from watchfloor.domain.errors import BusError
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import audit, rules, sources
from watchfloor.wiring import build_context

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOTAL = 20_000
OUTAGE_SECONDS = 3.0  # how long each server stays down
NATS_DOWN_AT = 0.2  # share of the posts published when NATS is stopped ...
POSTGRES_DOWN_AT = 0.55  # ... and when PostgreSQL is (the connectors are still publishing then)
DEADLINE_SECONDS = 150.0  # for each stage; the whole run takes ~40 s on an idle 2-core machine
STREAM, SUBJECT, CONSUMER = "WFRESTART", "wfrestart", "workers"


def stored_count(db: str) -> int | None:
    """Posts stored so far, or None while PostgreSQL is down or recovering."""
    try:
        with psycopg.connect(db, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM posts WHERE platform = 'rss'").fetchone()
    except psycopg.OperationalError:
        return None
    return int(row[0]) if row else 0


def published(bus: NatsBus) -> int:
    """Records in the stream so far (stored or not), 0 while NATS is down."""
    try:
        stream = bus.stream_state()
    except BusError:
        return 0
    return stream.last_seq if stream else 0


def drained(bus: NatsBus, db: str) -> bool:
    """Everything is published, stored and acknowledged."""
    try:
        consumer = bus.consumer_state(CONSUMER)
    except BusError:
        return False
    idle = consumer is not None and consumer.pending == 0 and consumer.ack_pending == 0
    return idle and (stored_count(db) or 0) >= TOTAL


def wait_until(what: str, done: Callable[[], bool], processes: list[subprocess.Popen[bytes]]) -> None:
    """Poll ``done`` until it holds; every watchfloor process must stay up meanwhile."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done():
        for proc in processes:
            assert proc.poll() is None, f"{proc.args!r} exited {proc.returncode} while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_SECONDS:.0f} s"
        time.sleep(0.1)


def outage(stop: Callable[[], None], start: Callable[[], None]) -> None:
    stop()
    time.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for something to happen
    start()


def events(logs: Path, role: str) -> list[dict[str, object]]:
    """The log lines of the processes of ``role`` (``run`` for connectors, ``worker``), as objects."""
    lines = (line for log in sorted(logs.glob(f"*-{role}.log")) for line in log.read_text().splitlines())
    return [json.loads(line) for line in lines if line.startswith("{")]


def count(found: list[dict[str, object]], event: str) -> int:
    return sum(1 for e in found if e.get("event") == event)


@contextmanager
def running(deployment: Floor) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two workers and a connectors process, all started; SIGTERMed at the end, and must exit 0."""
    workers = [deployment.worker("w1"), deployment.worker("w2")]  # they start while the connectors do
    processes = [deployment.connectors()]
    for proc, log in workers:
        wait_for(log, '"event": "started"', proc)
        processes.append(proc)
    try:
        yield processes
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        try:
            codes = [proc.wait(timeout=60) for proc in processes]
        finally:
            for proc in processes:
                if proc.poll() is None:
                    proc.kill()
    assert codes == [0, 0, 0]  # each stopped on SIGTERM, having never exited before


def test_restarting_nats_and_postgres_mid_stream_loses_and_duplicates_nothing(
    tmp_path: Path, feeds: FakeFeeds
) -> None:
    with private_postgres() as pg, private_nats(tmp_path / "nats") as nats:
        restart_both_mid_stream(tmp_path, feeds, pg, nats)


def restart_both_mid_stream(tmp_path: Path, feeds: FakeFeeds, pg: PrivatePostgres, nats: PrivateNats) -> None:
    db = pg.url
    feeds.paged_total = TOTAL
    seed_floor(db)
    ctx = build_context(Settings(database_url=db))
    rules.add_rule(ctx, actor=SAM, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=1))
    config = {"url": feeds.url("/paged"), "every": 60, "follow_next": True}
    source = sources.add_source(ctx, actor=SAM, name="paged", kind="rss", config=config, basis_id=1)
    ctx.store.close()  # PostgreSQL is about to crash under it: reopened for the checks at the end
    logs = tmp_path / "logs"
    logs.mkdir()
    settings = {"bus_url": nats.url, "bus_stream": STREAM, "bus_subject": SUBJECT, "bus_consumer": CONSUMER}
    deployment = Floor(db, settings, logs)
    bus = NatsBus(nats.url, stream=STREAM, subject=SUBJECT, duplicate_window=300)
    at: dict[str, tuple[int, int | None]] = {}
    started = time.monotonic()
    try:
        with running(deployment) as processes:
            wait_until("records published", lambda: published(bus) >= TOTAL * NATS_DOWN_AT, processes)
            at["nats"] = (published(bus), stored_count(db))
            outage(nats.stop, nats.start)
            wait_until("records published", lambda: published(bus) >= TOTAL * POSTGRES_DOWN_AT, processes)
            at["postgres"] = (published(bus), stored_count(db))
            outage(lambda: pg.stop("immediate"), pg.start)
            wait_until("every post stored and acknowledged", lambda: drained(bus, db), processes)
            elapsed = time.monotonic() - started
    finally:
        bus.close()

    ids = stored_ids(db)
    flood = {i for i in range(TOTAL) if "flood" in paged_entry_text(i)}
    with psycopg.connect(db) as conn:
        alerted = conn.execute(
            "SELECT p.native_id FROM alert_posts a JOIN posts p ON p.id = a.post_id"
        ).fetchall()
        raised = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]  # type: ignore[index]
    ctx = build_context(Settings(database_url=db))
    with ctx.store.snapshot() as tx:
        collected = tx.audit_events(actor="worker", action="sources.collect", limit=1_000_000)
        after = tx.get_source(source.id)
    report = audit.verify_log(ctx, actor=AUDREY)
    ctx.store.close()
    alerted_ids = [int(r[0].removeprefix("urn:fake:")) for r in alerted]
    lost = TOTAL - len(set(ids))
    duplicates = len(ids) - len(set(ids))
    duplicate_alerts = len(alerted_ids) - len(set(alerted_ids))
    inserted_by_events = sum(int(str(e.details["inserted"])) for e in collected)
    worker_log, connectors_log = events(logs, "worker"), events(logs, "run")
    print(
        f"\nscale-out restart test: {TOTAL:,} posts through connectors → NATS → 2 workers → PostgreSQL in "
        f"{elapsed:.0f} s; NATS restarted at {at['nats'][0]:,} published / {at['nats'][1]} stored, "
        f"PostgreSQL crashed and restarted at {at['postgres'][0]:,} / {at['postgres'][1]}; workers: "
        f"{count(worker_log, 'bus_reconnected')} reconnects, {count(worker_log, 'bus_retry')} bus retries, "
        f"{count(worker_log, 'store_retry')} store retries; connectors: "
        f"{count(connectors_log, 'bus_reconnected')} reconnects, {count(connectors_log, 'publish_retry')} "
        f"publish retries, {count(connectors_log, 'store_retry')} store retries; {len(set(ids)):,} stored, "
        f"{lost} lost, {duplicates} duplicate posts; {len(flood)} matching posts in {raised} alerts, "
        f"{duplicate_alerts} duplicate alert entries; audit log of {report.size:,} events verified: "
        f"{report.ok}"
    )
    assert (lost, duplicates, duplicate_alerts) == (0, 0, 0)
    assert set(alerted_ids) == flood  # every matching post alerted (raised or grouped), none twice
    assert inserted_by_events == TOTAL  # each post in exactly one worker batch event
    assert report.ok, report.problems
    assert after is not None and after.cursor is not None
    assert json.loads(after.cursor)["url"].endswith(f"/paged?page={(TOTAL - 1) // PAGE}")  # the last page
    # Every process lived through both outages rather than missing them: each reconnected to NATS, and
    # the connectors and at least one worker met the database down and retried.
    assert count(worker_log, "bus_reconnected") >= 2 and count(connectors_log, "bus_reconnected") >= 1
    assert count(worker_log, "store_retry") >= 1 and count(connectors_log, "store_retry") >= 1
