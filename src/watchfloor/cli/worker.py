"""`watchfloor worker`: store what the connectors publish, a batch at a time, until stopped (scale-out).

Any number of workers, on any machines, share the bus's durable pull consumer (WATCHFLOOR_BUS_URL,
docs/deployment.md). Each fetches up to ``--batch`` messages, stores them with their alerts and one
audit event in one transaction (``services/consume.py``), and only then acknowledges them. A worker
that dies holds its batch until the consumer's ack wait runs out; JetStream then gives it to another
worker, and the natural key makes whatever was already committed a counted duplicate. When the store
fails, the batch is handed back with a delay and the worker backs off (full jitter, as the runner).

SIGTERM and SIGINT let the worker finish the batch in hand (commit and acknowledge) and exit 0. Log
lines are JSON objects on stderr, like the runner's; every ``HEARTBEAT_SECONDS`` the worker says it is
alive on the bus, which ``watchfloor status`` lists.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from prometheus_client import CollectorRegistry, Counter, start_http_server

from watchfloor.cli.app import app, state_of
from watchfloor.cli.run import backoff, log
from watchfloor.domain.errors import BusError, ConfigError
from watchfloor.services.consume import ConsumeReport, store_messages
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_bus

if TYPE_CHECKING:  # nats-py loads only when a worker starts (see wiring.build_bus)
    from watchfloor.bus.nats import Delivery, NatsBus, PullConsumer

FETCH_WAIT_SECONDS = 1.0  # the longest a fetch waits for messages (and a SIGTERM for an idle worker)
HEARTBEAT_SECONDS = 10.0  # how often a worker says it is alive (the entry expires after 60 s)


class WorkerMetrics:
    """The worker's Prometheus metrics (one registry per process)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = r = registry
        self.batches = Counter("watchfloor_worker_batches", "Batches stored", registry=r)
        self.posts = Counter("watchfloor_posts_ingested", "New posts stored", registry=r)
        self.duplicates = Counter("watchfloor_worker_duplicates", "Posts already stored", registry=r)
        self.alerts = Counter("watchfloor_alerts_raised", "Alerts raised", registry=r)
        self.quarantined = Counter("watchfloor_quarantined", "Records quarantined", registry=r)
        self.refused = Counter("watchfloor_worker_refused", "Records of sources without basis", registry=r)
        self.redelivered = Counter("watchfloor_worker_redelivered", "Messages delivered again", registry=r)
        self.failures = Counter("watchfloor_worker_store_failures", "Batches handed back", registry=r)


class Worker:
    """Fetch, store, acknowledge, until ``stop`` is set (see the module docstring)."""

    def __init__(
        self,
        ctx: ServiceContext,
        bus: NatsBus,
        consumer: PullConsumer,
        *,
        name: str,
        batch: int,
        stop: threading.Event,
        metrics: WorkerMetrics,
    ) -> None:
        self.ctx, self.bus, self.consumer, self.name = ctx, bus, consumer, name
        self.batch, self.stop, self.metrics = batch, stop, metrics
        self.batches = self.records = self.inserted = 0
        self.last_batch_at: datetime | None = None
        self._last_beat = 0.0

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            self._heartbeat()
            try:
                deliveries = self.consumer.fetch(self.batch, FETCH_WAIT_SECONDS)
            except BusError as exc:  # nats-py reconnects by itself; wait for it
                failures += 1
                delay = backoff(failures, None)
                log("bus_retry", worker=self.name, error=str(exc), attempt=failures, wait_s=round(delay, 2))
                self.stop.wait(delay)
                continue
            if not deliveries:
                continue
            try:
                report = store_messages(self.ctx, deliveries)
            except Exception as exc:  # the store failed: hand the batch back, later, and back off
                failures += 1
                delay = backoff(failures, None)
                self.metrics.failures.inc()
                log(
                    "store_retry",
                    worker=self.name,
                    error=f"{type(exc).__name__}: {exc}",
                    records=len(deliveries),
                    attempt=failures,
                    wait_s=round(delay, 2),
                )
                self._hand_back(deliveries, delay)
                self.stop.wait(delay)
                continue
            failures = 0
            self._acknowledge(deliveries, report)
            self._count(deliveries, report)
            if report.alerts_raised:
                self._announce(report.alerts_raised)

    def _announce(self, alerts: int) -> None:
        """Wake the consoles' live queues at once (they poll the store anyway: a lost notice is late,
        never lost)."""
        try:
            self.bus.notify_alerts(alerts)
        except BusError as exc:
            log("notice_failed", worker=self.name, error=str(exc))

    def _acknowledge(self, deliveries: list[Delivery], report: ConsumeReport) -> None:
        """Acknowledge the stored, terminate the refused and quarantined (if the bus is down, the ack
        wait hands the batch out again, and the store counts it as duplicates)."""
        try:
            self.consumer.term([d for i, d in enumerate(deliveries) if i in report.terminate])
            self.consumer.ack([d for i, d in enumerate(deliveries) if i not in report.terminate])
        except BusError as exc:
            log("ack_failed", worker=self.name, error=str(exc))

    def _hand_back(self, deliveries: list[Delivery], delay: float) -> None:
        """Ask for redelivery after ``delay`` seconds (if the bus is down, the ack wait does it)."""
        try:
            self.consumer.nak(deliveries, delay=delay)
        except BusError as exc:
            log("nak_failed", worker=self.name, error=str(exc))

    def _count(self, deliveries: list[Delivery], report: ConsumeReport) -> None:
        redelivered = sum(1 for d in deliveries if d.delivered > 1)
        m = self.metrics
        m.batches.inc()
        m.posts.inc(report.inserted)
        m.duplicates.inc(report.duplicates)
        m.alerts.inc(report.alerts_raised)
        m.quarantined.inc(report.quarantined)
        m.refused.inc(report.refused)
        m.redelivered.inc(redelivered)
        self.batches += 1
        self.records += report.records
        self.inserted += report.inserted
        self.last_batch_at = datetime.now(UTC)
        log(
            "batch",
            worker=self.name,
            records=report.records,
            inserted=report.inserted,
            duplicates=report.duplicates,
            deletions=report.deletions,
            quarantined=report.quarantined,
            refused=report.refused,
            alerts=report.alerts_raised,
            redelivered=redelivered,
        )
        for problem in report.problems:
            log("record_problem", worker=self.name, problem=problem)

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = time.monotonic()
        facts = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "batches": self.batches,
            "records": self.records,
            "inserted": self.inserted,
            "last_batch_at": self.last_batch_at.isoformat(timespec="seconds") if self.last_batch_at else None,
        }
        try:
            self.bus.heartbeat(self.name, facts)
        except BusError as exc:
            log("heartbeat_failed", worker=self.name, error=str(exc))


@app.command("worker")
def worker(
    ctx: typer.Context,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Messages stored per transaction.")] = 500,
    name: Annotated[
        str | None,
        typer.Option(help="This worker's name in logs and `watchfloor status` (default host-pid)."),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus /metrics on 127.0.0.1:PORT.")
    ] = None,
) -> None:
    """Store, match and alert what `watchfloor run --role connectors` publishes, until SIGTERM (scale-out).

    Example: WATCHFLOOR_BUS_URL=nats://127.0.0.1:4222 watchfloor --db postgresql://wf@db/wf worker
    """
    state = state_of(ctx)
    settings = state.settings
    worker_name = name or f"{socket.gethostname()}-{os.getpid()}"
    bus = build_bus(settings, name=f"watchfloor-worker-{worker_name}", on_event=log)
    if bus is None:
        raise ConfigError(
            "watchfloor worker consumes from a bus: set WATCHFLOOR_BUS_URL (e.g. nats://127.0.0.1:4222); "
            "see docs/deployment.md"
        )
    ctx.call_on_close(bus.close)
    context = state.context()
    bus.ensure_stream()
    consumer = bus.consumer(
        settings.bus_consumer, ack_wait=settings.bus_ack_wait_seconds, max_deliver=settings.bus_max_deliver
    )
    metrics = WorkerMetrics(CollectorRegistry())
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        log("stopping", worker=worker_name, signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner = Worker(context, bus, consumer, name=worker_name, batch=batch, stop=stop, metrics=metrics)
    log("started", worker=worker_name, stream=bus.stream, consumer=consumer.name, batch=batch)
    runner.run()
    log(
        "stopped",
        worker=worker_name,
        batches=runner.batches,
        records=runner.records,
        inserted=runner.inserted,
    )
