"""`watchfloor run`: collect every active source until stopped, one thread per source.

Each thread fetches a batch after its source's committed cursor and stores it with the cursor after
it (``services/collect.py``: one transaction, so a kill at any moment loses and duplicates nothing).
Transient errors back off exponentially with full jitter (at least the ``Retry-After`` the platform
asked for); a permanent error marks the source failed with the reason and ends its thread. SIGTERM and
SIGINT let each thread finish and commit the batch in hand, then the command exits 0. Log lines are
JSON objects on stderr; ``--metrics-port`` serves Prometheus metrics on 127.0.0.1.

With ``--role connectors`` (scale-out mode, docs/deployment.md) each thread publishes its batch to the
bus instead (``services/publish.py``) and advances the cursor once the stream acknowledged it; bus
failures back off like transient fetch errors. ``watchfloor worker`` processes store what it publishes.

In both roles a store failure (PostgreSQL down or restarting, SQLite locked for too long) backs off
the same way and the thread carries on from the source's committed cursor, instead of ending as it
once did (then the whole runner exited when the database restarted, and lost nothing only if a service
manager restarted it). Nothing is lost or doubled by the retry: the cursor moves in the same
transaction as the stored batch (embedded), or after the stream holds the batch (connectors), whose
re-sends the stream drops.

With ``--media`` (the default) one more thread fetches the photos and videos stored posts reference
(``services/media.py``), a batch at a time, waiting ``MEDIA_IDLE_SECONDS`` when nothing is due and
backing off when the store fails; on SIGTERM it hands back what it has not started and stops.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import threading
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from watchfloor.bus.records import Publisher
from watchfloor.cli.app import app, err, state_of
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.registry import build
from watchfloor.domain.errors import (
    BusError,
    ConfigError,
    Conflict,
    NotFound,
    Permanent,
    StoreError,
    Transient,
    WatchfloorError,
)
from watchfloor.domain.sources import Source
from watchfloor.services.collect import (
    check_collection_allowed,
    collect_batch,
    record_fetch_error,
    sources_to_run,
)
from watchfloor.services.context import ServiceContext
from watchfloor.services.media import MEDIA_FETCHER, fetch_due_media
from watchfloor.services.publish import publish_batch
from watchfloor.services.sources import add_source, list_sources
from watchfloor.wiring import build_bus

BACKOFF_BASE = 1.0  # seconds; the first retry waits up to this long
BACKOFF_CAP = 600.0  # seconds; no retry waits longer (unless the platform's Retry-After says so)
MEDIA_BATCH = 10  # media entries per run of the fetcher (small: SIGTERM waits for the file in hand)
MEDIA_IDLE_SECONDS = 30.0  # how long the media thread waits when nothing is due


_LOG_LOCK = threading.Lock()


def log(event: str, **fields: Any) -> None:
    """One structured log line (a JSON object) on stderr."""
    line = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
    text = json.dumps(line, default=str) + "\n"
    with _LOG_LOCK:  # one write per line: print() writes text and newline apart, and threads interleave
        sys.stderr.write(text)
        sys.stderr.flush()


def backoff(attempt: int, retry_after: float | None) -> float:
    """Full-jitter exponential backoff for the ``attempt``-th consecutive failure (1-based)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 30))
    return max(retry_after or 0.0, random.uniform(0, ceiling))  # jitter, not security


@dataclass
class Metrics:
    """The runner's Prometheus metrics (one registry per run)."""

    registry: CollectorRegistry

    def __post_init__(self) -> None:
        r = self.registry
        self.posts = Counter("watchfloor_posts_ingested", "New posts stored", ["source"], registry=r)
        self.batches = Counter("watchfloor_batches", "Batches stored", ["source"], registry=r)
        self.errors = Counter("watchfloor_fetch_errors", "Failed fetches", ["source", "kind"], registry=r)
        self.quarantined = Counter("watchfloor_quarantined", "Records quarantined", ["source"], registry=r)
        self.alerts = Counter("watchfloor_alerts_raised", "Alerts raised", ["source"], registry=r)
        self.published = Counter(
            "watchfloor_records_published", "Records new in the bus's stream", ["source"], registry=r
        )
        self.media = Counter("watchfloor_media", "Media queue entries by outcome", ["outcome"], registry=r)
        self.lag = Gauge(
            "watchfloor_source_lag_seconds", "Seconds since the last stored batch", ["source"], registry=r
        )


class Role(StrEnum):
    """What `watchfloor run` does with what it fetches."""

    all = "all"  # embedded: store, match and alert here
    connectors = "connectors"  # scale-out: publish to the bus; `watchfloor worker` stores


class SourceWorker(threading.Thread):
    """Collects one source until ``stop`` is set, the source is paused or removed, or it fails.

    With a ``bus`` it publishes each batch there (the connectors role) instead of storing it.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        source: Source,
        stop: threading.Event,
        write: threading.Lock,
        metrics: Metrics,
        bus: Publisher | None = None,
    ) -> None:
        super().__init__(name=f"source-{source.name}", daemon=True)
        self.ctx, self.source, self.stop, self.write, self.metrics = ctx, source, stop, write, metrics
        self.bus = bus

    def run(self) -> None:
        name = self.source.name
        try:
            connector = build(self.source.kind, self.source.config, credentials=self.ctx.settings.credentials)
        except WatchfloorError as exc:
            record_fetch_error(self.ctx, self.source, Permanent(f"cannot start: {exc}"))
            log("source_failed", source=name, reason=str(exc))
            return
        self.metrics.lag.labels(name).set_function(lambda: self._lag())
        failures = bus_failures = store_failures = 0
        try:
            while not self.stop.is_set():
                try:
                    with self.ctx.store.snapshot() as tx:
                        current = tx.get_source(self.source.id)
                    if current is None or current.status != "active":
                        log("source_stopped", source=name, status=current.status if current else "removed")
                        return
                    self.source = current
                    try:
                        check_collection_allowed(self.ctx, current)  # no fetch without basis and watches
                        batch = connector.fetch(current.cursor)
                    except Transient as exc:
                        failures += 1
                        record_fetch_error(self.ctx, current, exc)
                        self.metrics.errors.labels(name, "transient").inc()
                        self._back_off("fetch_retry", exc, failures, exc.retry_after)
                        continue
                    except Permanent as exc:
                        record_fetch_error(self.ctx, current, exc)
                        self.metrics.errors.labels(name, "permanent").inc()
                        log("source_failed", source=name, reason=str(exc))
                        return
                    failures = 0
                    try:
                        if self.bus is not None:
                            self._publish(current, batch, self.bus)
                            bus_failures = store_failures = 0
                            if batch.next_wake is not None:
                                self.stop.wait(
                                    max(0.0, (batch.next_wake - datetime.now(UTC)).total_seconds())
                                )
                            continue
                        with self.write:  # one writer: SQLite has one, and the matcher cache is shared
                            report = collect_batch(self.ctx, current, batch)
                        store_failures = 0
                    except Permanent as exc:  # the basis or a watch lapsed between the check and the commit
                        record_fetch_error(self.ctx, current, exc)
                        log("source_failed", source=name, reason=str(exc))
                        return
                    except BusError as exc:  # nothing committed: fetch again from the cursor, publish again
                        bus_failures += 1
                        record_fetch_error(self.ctx, current, exc)
                        self._back_off("publish_retry", exc, bus_failures)
                        continue
                    self.metrics.batches.labels(name).inc()
                    self.metrics.posts.labels(name).inc(report.inserted)
                    self.metrics.quarantined.labels(name).inc(report.quarantined)
                    self.metrics.alerts.labels(name).inc(report.alerts_raised)
                    log(
                        "batch",
                        source=name,
                        inserted=report.inserted,
                        duplicates=report.duplicates,
                        quarantined=report.quarantined,
                        alerts=report.alerts_raised,
                    )
                    if batch.next_wake is not None:
                        self.stop.wait(max(0.0, (batch.next_wake - datetime.now(UTC)).total_seconds()))
                except StoreError as exc:  # the database is down or restarting: start again from the cursor
                    store_failures += 1
                    self._back_off("store_retry", exc, store_failures)
        except (Conflict, NotFound) as exc:
            log("source_stopped", source=name, reason=str(exc))
        finally:
            connector.close()

    def _back_off(self, event: str, exc: Exception, attempt: int, retry_after: float | None = None) -> None:
        """Log the ``attempt``-th consecutive failure as ``event`` and wait its backoff (or until stopped)."""
        delay = backoff(attempt, retry_after)
        log(event, source=self.source.name, error=str(exc), attempt=attempt, wait_s=round(delay, 2))
        self.stop.wait(delay)

    def _publish(self, source: Source, batch: Batch, bus: Publisher) -> None:
        report = publish_batch(self.ctx, source, batch, bus=bus)
        self.metrics.batches.labels(source.name).inc()
        self.metrics.published.labels(source.name).inc(report.stored)
        log(
            "published",
            source=source.name,
            records=report.records,
            new=report.stored,
            duplicates=report.duplicates,
            skipped=report.skipped,
            oversized=report.oversized,
        )

    def _lag(self) -> float:
        try:
            with self.ctx.store.snapshot() as tx:
                current = tx.get_source(self.source.id)
        except StoreError:  # the database is down: say "unknown", and keep /metrics answering
            return -1.0
        lag = current.lag_seconds(self.ctx.clock.now()) if current else None
        return -1.0 if lag is None else lag


class MediaWorker(threading.Thread):
    """Fetches due media until ``stop`` is set; a missing media directory stops only this thread."""

    def __init__(self, ctx: ServiceContext, stop: threading.Event, metrics: Metrics) -> None:
        super().__init__(name="media-fetcher", daemon=True)
        self.ctx, self.stop, self.metrics = ctx, stop, metrics

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                summary = fetch_due_media(
                    self.ctx, actor=MEDIA_FETCHER, limit=MEDIA_BATCH, should_stop=self.stop.is_set
                )
            except ConfigError as exc:
                log("media_stopped", reason=str(exc))
                return
            except Exception as exc:  # a store outage or a bug: keep the runner up, back off, try again
                failures += 1
                delay = backoff(failures, None)
                log(
                    "media_retry",
                    error=f"{type(exc).__name__}: {exc}",
                    attempt=failures,
                    wait_s=round(delay, 2),
                )
                self.stop.wait(delay)
                continue
            failures = 0
            for outcome in ("fetched", "reused", "retried", "failed", "refused"):
                self.metrics.media.labels(outcome).inc(getattr(summary, outcome))
            if summary.claimed:
                log(
                    "media",
                    fetched=summary.fetched,
                    reused=summary.reused,
                    retried=summary.retried,
                    failed=summary.failed,
                    refused=summary.refused,
                    completed_posts=len(summary.completed_post_ids),
                )
            if summary.claimed < MEDIA_BATCH:
                self.stop.wait(MEDIA_IDLE_SECONDS)


def _ensure_sources(state: Any, path: Path) -> None:
    """Add the missing sources a TOML file lists (``[[source]]``: name, kind, url, every, basis).

    ``basis`` (a legal basis id) defaults to the invocation's --basis / WATCHFLOOR_BASIS.
    """
    try:
        listed = tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None
    known = {s.name for s in list_sources(state.context(), actor=state.actor())}
    for entry in listed:
        config = {k: v for k, v in entry.items() if k not in ("name", "kind", "basis")}
        basis = entry.get("basis", state.basis_id())
        if entry.get("name") not in known:
            add_source(
                state.context(),
                actor=state.actor(),
                name=str(entry.get("name", "")),
                kind=str(entry.get("kind", "")),
                config=config,
                basis_id=int(basis) if isinstance(basis, int | str) and str(basis).isdigit() else None,
            )


@app.command("run")
def run_sources(
    ctx: typer.Context,
    sources: Annotated[
        Path | None, typer.Option(help="TOML file of [[source]] tables to add if missing.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus /metrics on 127.0.0.1:PORT.")
    ] = None,
    media: Annotated[
        bool, typer.Option(help="Also fetch the photos and videos stored posts reference (docs/media.md).")
    ] = True,
    role: Annotated[
        Role,
        typer.Option(
            help=(
                "all: store, match and alert here (embedded mode). connectors: publish to the bus at "
                "WATCHFLOOR_BUS_URL for `watchfloor worker` processes to store (docs/deployment.md)."
            )
        ),
    ] = Role.all,
) -> None:
    """Collect every active source until SIGTERM or Ctrl-C. Example: watchfloor run --metrics-port 9108"""
    state = state_of(ctx)
    bus = None
    if role is Role.connectors:
        bus = build_bus(state.settings, name="watchfloor-connectors", on_event=log)
        if bus is None:
            raise ConfigError(
                "--role connectors publishes to a bus: set WATCHFLOOR_BUS_URL (e.g. nats://127.0.0.1:4222), "
                "or leave --role out to store here (embedded mode)"
            )
        ctx.call_on_close(bus.close)
        bus.ensure_stream()
    if sources is not None:
        _ensure_sources(state, sources)
    context = state.context()
    active = sources_to_run(context)
    if not active:
        err.print("No active sources: add one with `watchfloor sources add NAME --kind rss --url URL`.")
        return
    metrics = Metrics(CollectorRegistry())
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
    stop, write = threading.Event(), threading.Lock()

    def _stop(signum: int, frame: FrameType | None) -> None:
        log("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    workers = [SourceWorker(context, s, stop, write, metrics, bus) for s in active]
    media_worker = MediaWorker(context, stop, metrics) if media else None
    log("started", sources=[s.name for s in active], metrics_port=metrics_port, media=media, role=role.value)
    for worker in workers:
        worker.start()
    if media_worker is not None:
        media_worker.start()
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(timeout=0.2)
    stop.set()  # every source has stopped: so does the media thread
    if media_worker is not None:
        media_worker.join()
    log("stopped")
