"""The scale-out kill test (issue 7), bounded for CI: connectors → NATS → 2 workers → PostgreSQL, while
workers die again and again.

A forward-paged fake feed serves 20,000 posts (100,000 with WATCHFLOOR_SCALEOUT_TEST_FULL=1), 500 a
page. `watchfloor run --role connectors` publishes them; two `watchfloor worker` processes store them.
First a worker is made to crash itself at every named crash point of a stored batch; then a random
worker is SIGKILLed at 10 random moments (30 with the flag) and restarted, and the connectors process
is SIGKILLed 3 times too. At the end every post is stored once, every post the rule matches is in
exactly one alert, the workers' audit events account for every post exactly once, and the audit log
verifies. The figures are printed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cli.floor import seed_floor
from tests.live.conftest import FakeFeeds, paged_entry_text
from tests.services import scratch_postgres_database
from watchfloor.bus.nats import NatsBus
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import audit, rules, sources
from watchfloor.services.crashpoints import STORE_POINTS
from watchfloor.wiring import build_context

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FULL = os.environ.get("WATCHFLOOR_SCALEOUT_TEST_FULL") == "1"
TOTAL = 100_000 if FULL else 20_000
KILLS = 30 if FULL else 10
CONNECTOR_KILLS = 3
ACK_WAIT = 3  # seconds before a dead worker's batch goes to another worker
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
AUDREY = Actor(name="audrey", roles=frozenset({"auditor"}))


class Floor:
    """The processes of one scale-out deployment, each logging to its own file."""

    def __init__(self, db: str, bus: dict[str, str], logs: Path) -> None:
        self.db, self.logs, self.started = db, logs, 0
        self.env = {k: v for k, v in os.environ.items() if k != "WATCHFLOOR_CRASHPOINT"}
        self.env.update({f"WATCHFLOOR_{key.upper()}": value for key, value in bus.items()})
        self.env["WATCHFLOOR_BUS_ACK_WAIT_SECONDS"] = str(ACK_WAIT)

    def start(self, *args: str, crashpoint: str | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        self.started += 1
        log = self.logs / f"{self.started:03d}-{args[0]}.log"
        env = dict(self.env, WATCHFLOOR_CRASHPOINT=crashpoint) if crashpoint else self.env
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "watchfloor.cli.main", "--db", self.db, *args],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        return proc, log

    def connectors(self) -> subprocess.Popen[bytes]:
        proc, log = self.start("run", "--role", "connectors", "--no-media")
        wait_for(log, '"event": "started"', proc)
        return proc

    def worker(self, name: str, crashpoint: str | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        return self.start("worker", "--batch", "200", "--name", name, crashpoint=crashpoint)


def wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        assert proc.poll() is None, f"exited {proc.returncode} before {text}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {text} within {timeout} s:\n{log.read_text()}"
        time.sleep(0.02)


def redelivered(logs: Path) -> int:
    """Messages the workers' logs say they were given again (after a worker died holding them)."""
    lines = (line for log in logs.glob("*-worker.log") for line in log.read_text().splitlines())
    return sum(json.loads(line).get("redelivered", 0) for line in lines if '"event": "batch"' in line)


def stored_ids(db: str) -> list[int]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT native_id FROM posts WHERE platform = 'rss'").fetchall()
    return [int(r[0].removeprefix("urn:fake:")) for r in rows]


@pytest.fixture
def floor(tmp_path: Path, bus_settings: dict[str, str]) -> Iterator[tuple[Floor, str]]:
    with scratch_postgres_database() as db:
        yield Floor(db, bus_settings, tmp_path), db


def test_killing_workers_repeatedly_loses_and_duplicates_nothing(
    floor: tuple[Floor, str], feeds: FakeFeeds, bus_settings: dict[str, str]
) -> None:
    deployment, db = floor
    feeds.paged_total = TOTAL
    seed_floor(db)
    ctx = build_context(Settings(database_url=db))
    rules.add_rule(ctx, actor=SAM, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=1))
    config = {"url": feeds.url("/paged"), "every": 60, "follow_next": True}
    sources.add_source(ctx, actor=SAM, name="paged", kind="rss", config=config, basis_id=1)
    bus = NatsBus(
        bus_settings["bus_url"],
        stream=bus_settings["bus_stream"],
        subject=bus_settings["bus_subject"],
        duplicate_window=300,
    )
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    connectors = deployment.connectors()
    crashes = 0
    for point in STORE_POINTS:  # each crash point fires in the 2nd batch of a fresh worker
        proc, _ = deployment.worker(f"crash-{point}", crashpoint=f"{point}:2")
        assert proc.wait(timeout=120) == 137
        crashes += 1
    while (stream := bus.stream_state()) is None or stream.last_seq < TOTAL:  # a backlog to kill workers in
        assert time.monotonic() - started < 120, "the connectors did not publish everything in 2 minutes"
        time.sleep(0.1)
    workers = {name: deployment.worker(name) for name in ("w1", "w2")}
    connector_kills = set(rng.sample(range(KILLS), CONNECTOR_KILLS))
    progress, backlog = [], []
    for kill in range(KILLS):
        name = ("w1", "w2")[kill % 2]  # alternate: the other one has been restarting meanwhile
        proc, log = workers[name]
        wait_for(log, '"event": "batch"', proc)  # it is storing batches one after another ...
        time.sleep(rng.uniform(0.0, 0.2))  # ... so any moment is mid-batch (fetch, store or ack)
        consumer = bus.consumer_state(bus_settings["bus_consumer"])
        backlog.append(consumer.pending if consumer else 0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if kill in connector_kills:
            connectors.send_signal(signal.SIGKILL)
            connectors.wait(timeout=30)
            connectors = deployment.connectors()
        workers[name] = deployment.worker(name)
        progress.append(len(stored_ids(db)))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        consumer = bus.consumer_state(bus_settings["bus_consumer"])
        done = consumer is not None and consumer.pending == 0 and consumer.ack_pending == 0
        if done and len(stored_ids(db)) >= TOTAL:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    processes = [proc for proc, _ in workers.values()] + [connectors]
    for proc in processes:
        proc.send_signal(signal.SIGTERM)
    for proc in processes:
        assert proc.wait(timeout=60) == 0
    bus.close()

    ids = stored_ids(db)
    flood = {i for i in range(TOTAL) if "flood" in paged_entry_text(i)}
    with psycopg.connect(db) as conn:
        alerted = conn.execute(
            "SELECT p.native_id FROM alert_posts a JOIN posts p ON p.id = a.post_id"
        ).fetchall()
        raised = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]  # type: ignore[index]
    with ctx.store.snapshot() as tx:
        collected = tx.audit_events(actor="worker", action="sources.collect", limit=1_000_000)
    report = audit.verify_log(ctx, actor=AUDREY)
    ctx.store.close()
    alerted_ids = [int(r[0].removeprefix("urn:fake:")) for r in alerted]
    lost = TOTAL - len(set(ids))
    duplicates = len(ids) - len(set(ids))
    duplicate_alerts = len(alerted_ids) - len(set(alerted_ids))
    inserted_by_events = sum(int(e.details["inserted"]) for e in collected)  # type: ignore[call-overload]
    raised_by_events = sum(int(e.details["alerts_raised"]) for e in collected)  # type: ignore[call-overload]
    print(
        f"\nscale-out kill test (seed {seed}): {TOTAL:,} posts through connectors → NATS → 2 workers → "
        f"PostgreSQL in {elapsed:.0f} s; {crashes} crash points, {KILLS} worker SIGKILLs (stored after "
        f"each: {progress}; messages waiting at each: {backlog}; {redelivered(deployment.logs):,} "
        f"redelivered), {CONNECTOR_KILLS} connector SIGKILLs; {len(set(ids)):,} stored, {lost} lost, "
        f"{duplicates} duplicate posts; {len(flood)} matching posts in {raised} alerts, {duplicate_alerts} "
        f"duplicate alert entries; {len(collected)} worker batch events naming {inserted_by_events:,} new "
        f"posts; audit log of {report.size:,} events verified: {report.ok}"
    )
    assert (lost, duplicates, duplicate_alerts) == (0, 0, 0)
    assert set(alerted_ids) == flood  # every matching post alerted (raised or grouped), none twice
    assert inserted_by_events == TOTAL and raised_by_events == raised  # each post and alert in one event
    assert report.ok, report.problems
    assert all(backlog), "a worker was killed while idle: the kill test must kill workers mid-batch"
