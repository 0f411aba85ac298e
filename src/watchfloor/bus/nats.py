"""A small synchronous facade over nats-py's JetStream client, for the connectors role and the workers.

nats-py is asyncio-only, and watchfloor's runner and workers are plain threads; so one event loop runs
in a background thread per :class:`NatsBus`, and every call submits a coroutine to it and waits for
the result with a deadline. Callers never see asyncio. Any failure (unreachable server, timeout,
refused by the stream) is a :class:`~watchfloor.domain.errors.BusError` with a message that says
what to check; after the first connection, nats-py reconnects by itself, forever.

The stream (``ensure_stream``) is a work queue: a message stays until a worker acknowledges it, and
when the server's JetStream storage is full new publishes are refused (so a connectors process keeps
its cursor and retries) rather than old messages discarded. Publishing sets ``Nats-Msg-Id`` to the
record's natural key: within the duplicate window the stream drops a re-send and says so in the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue

from watchfloor.bus.records import Outgoing, PublishResult
from watchfloor.domain.errors import BusError

__all__ = ["ConsumerState", "Delivery", "NatsBus", "PullConsumer", "StreamState"]

T = TypeVar("T")


class OnEvent(Protocol):
    """Told about connection changes (a structured log line): ``on_event("bus_disconnected", url=...)``."""

    def __call__(self, event: str, **fields: Any) -> None: ...


CALL_TIMEOUT = 30.0  # seconds: the longest any one request to the server may take
HEARTBEAT_TTL = 60.0  # seconds a worker's liveness entry lives without being renewed
_NATS_ERRORS = (nats.errors.Error, OSError, TimeoutError)  # nats.js.errors.Error is a nats.errors.Error


@dataclass(frozen=True, slots=True)
class StreamState:
    """How much the stream holds: messages waiting for (or held by) a worker."""

    name: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int
    consumers: int
    duplicate_window_s: float


@dataclass(frozen=True, slots=True)
class ConsumerState:
    """Where the workers' durable consumer stands."""

    name: str
    pending: int  # in the stream, not yet delivered to any worker
    ack_pending: int  # delivered, not yet acknowledged (being stored, or held by a dead worker)
    redelivered: int  # delivered more than once and not yet acknowledged
    waiting: int  # pull requests waiting: about how many workers are idle right now
    ack_wait_s: float
    max_deliver: int
    last_active: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a worker: its bytes, its place in the stream, how often it was delivered."""

    data: bytes
    stream: str
    seq: int
    delivered: int
    msg: Msg


class NatsBus:
    """A connection to NATS JetStream for one process (see the module docstring). Thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subject: str,
        duplicate_window: float,
        connect_timeout: float = 10.0,
        name: str = "watchfloor",
        on_event: OnEvent | None = None,
    ) -> None:
        self.url, self.stream, self.subject = url, stream, subject
        self.duplicate_window = duplicate_window
        self._on_event: OnEvent = on_event or _ignore
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-loop", daemon=True)
        self._thread.start()
        self._kv: KeyValue | None = None
        self._last_error = "no answer"
        try:
            self._nc: Client = self._call(self._connect(name), timeout=connect_timeout)
        except BusError:
            self._stop_loop()
            raise BusError(
                f"cannot connect to NATS at {url} within {connect_timeout:.0f} s ({self._last_error}): is "
                "nats-server running there, with JetStream enabled (-js)?"
            ) from None
        self._js: JetStreamContext = self._nc.jetstream(timeout=CALL_TIMEOUT)

    # -- alert notices: workers tell console servers that alerts were committed -------------------

    @property
    def alerts_subject(self) -> str:
        """Plain NATS subject (not in the stream) of "alerts were committed" notices."""
        return f"{self.subject}-alerts"

    def notify_alerts(self, count: int) -> None:
        """Tell every ``watchfloor serve`` that ``count`` alerts were just committed.

        Core NATS, fire and forget: a lost notice only delays a console until its next poll of the
        store, which stays the source of truth (a notice carries no alert, only a wake-up).
        """

        async def publish() -> None:
            await self._nc.publish(self.alerts_subject, str(count).encode())

        self._call(publish())

    def on_alerts(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the bus's own thread; keep it short) at every alert notice."""

        async def subscribe() -> None:
            async def handler(_msg: Msg) -> None:
                callback()

            await self._nc.subscribe(self.alerts_subject, cb=handler)

        self._call(subscribe())

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout: float = CALL_TIMEOUT) -> T:
        """Run ``coro`` on the bus's loop and wait for it; nats-py's and socket errors become BusError."""
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self._loop)
        try:
            return future.result()
        except _NATS_ERRORS as exc:
            raise BusError(f"NATS at {self.url}: {_describe(exc)}") from None

    async def _connect(self, name: str) -> Client:
        async def error(exc: Exception) -> None:
            self._last_error = str(exc) or type(exc).__name__
            self._on_event("bus_error", error=_describe(exc))

        async def disconnected() -> None:
            self._on_event("bus_disconnected", url=self.url)

        async def reconnected() -> None:
            self._on_event("bus_reconnected", url=self.url)

        return await nats.connect(
            self.url,
            name=name,
            error_cb=error,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            connect_timeout=5,
            reconnect_time_wait=1,
            max_reconnect_attempts=-1,  # after the first connection: keep trying, the callers back off
        )

    @property
    def max_message_bytes(self) -> int:
        """The largest message the server accepts (its ``max_payload``), less room for headers."""
        return int(self._nc.max_payload) - 1024

    def close(self) -> None:
        """Send what is buffered (acks included), close the connection and stop the loop."""

        async def close() -> None:
            # Not drain(): it waits for open pull subscriptions. Acks were flushed as they were sent.
            with contextlib.suppress(*_NATS_ERRORS):
                await self._nc.flush(timeout=5)
            await self._nc.close()

        try:
            if not self._nc.is_closed:
                self._call(close(), timeout=10.0)
        except BusError:
            pass  # closing anyway
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # -- the stream -------------------------------------------------------------------------------

    def ensure_stream(self) -> StreamState:
        """Create the stream if it is missing; fix its duplicate window if it differs from the setting.

        Limits an operator set on an existing stream (``nats stream edit``: size, replicas) are kept.
        A stream of that name with other subjects or another retention is refused with the reason.
        """
        subjects = [f"{self.subject}.>"]

        async def ensure() -> api.StreamInfo:
            try:
                info = await self._js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                return await self._js.add_stream(
                    name=self.stream,
                    subjects=subjects,
                    retention=api.RetentionPolicy.WORK_QUEUE,
                    storage=api.StorageType.FILE,
                    discard=api.DiscardPolicy.NEW,
                    duplicate_window=self.duplicate_window,
                    description="watchfloor: records collected by live sources, waiting for a worker",
                )
            config = info.config
            if config.subjects != subjects or config.retention != api.RetentionPolicy.WORK_QUEUE:
                raise BusError(
                    f"the stream {self.stream!r} exists with subjects {config.subjects} and retention "
                    f"{config.retention}, not {subjects} and workqueue: choose another WATCHFLOOR_BUS_STREAM "
                    "and WATCHFLOOR_BUS_SUBJECT, or remove that stream"
                )
            if config.duplicate_window != self.duplicate_window:
                info = await self._js.update_stream(config.evolve(duplicate_window=self.duplicate_window))
            return info

        return _stream_state(self._call(ensure()))

    def stream_state(self) -> StreamState | None:
        """The stream's counts, or None if it does not exist yet."""

        async def read() -> api.StreamInfo | None:
            try:
                return await self._js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                return None

        info = self._call(read())
        return None if info is None else _stream_state(info)

    def delete_stream(self) -> None:
        """Remove the stream, everything in it and the workers' liveness bucket (tests clean up so)."""

        async def delete() -> None:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_stream(self.stream)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_key_value(self._bucket)

        self._call(delete())

    def publish(self, messages: Sequence[Outgoing], *, timeout: float = CALL_TIMEOUT) -> PublishResult:
        """Publish every message with its natural key as ``Nats-Msg-Id`` and wait for every ack.

        Raises BusError if any publish is refused or unacknowledged within ``timeout``; publishing the
        same messages again is then safe (the duplicate window and the store's unique keys).
        """

        async def publish_all() -> list[api.PubAck]:
            futures = [
                await self._js.publish_async(
                    f"{self.subject}.{m.source_id}",
                    m.data,
                    stream=self.stream,
                    headers={"Nats-Msg-Id": m.key},
                )
                for m in messages
            ]
            return list(await asyncio.gather(*futures))

        if not messages:
            return PublishResult(stored=0, duplicates=0)
        acks = self._call(publish_all(), timeout=timeout)
        duplicates = sum(1 for ack in acks if ack.duplicate)
        return PublishResult(stored=len(acks) - duplicates, duplicates=duplicates)

    # -- the workers' consumer --------------------------------------------------------------------

    def consumer(
        self, name: str, *, ack_wait: float, max_deliver: int, max_ack_pending: int = 20_000
    ) -> PullConsumer:
        """The durable pull consumer ``name`` (created, or its settings updated), bound for fetching."""
        config = api.ConsumerConfig(
            name=name,
            durable_name=name,
            description="watchfloor workers: store, match, alert",
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
            max_ack_pending=max_ack_pending,
            filter_subject=f"{self.subject}.>",
        )

        async def bind() -> JetStreamContext.PullSubscription:
            await self._js.add_consumer(self.stream, config=config)
            return await self._js.pull_subscribe_bind(durable=name, stream=self.stream)

        return PullConsumer(self, name, self._call(bind()))

    def consumer_state(self, name: str) -> ConsumerState | None:
        """The consumer's counts, or None if it (or the stream) does not exist yet."""

        async def read() -> api.ConsumerInfo | None:
            try:
                info: api.ConsumerInfo = await self._js.consumer_info(self.stream, name)
            except nats.js.errors.NotFoundError:
                return None
            return info

        info = self._call(read())
        if info is None:
            return None
        return ConsumerState(
            name=info.name,
            pending=info.num_pending or 0,
            ack_pending=info.num_ack_pending or 0,
            redelivered=info.num_redelivered or 0,
            waiting=info.num_waiting or 0,
            ack_wait_s=float(info.config.ack_wait or 0),
            max_deliver=int(info.config.max_deliver or -1),
            last_active=info.delivered.last_active if info.delivered else None,
        )

    # -- worker liveness (a key-value bucket whose entries expire) ---------------------------------

    @property
    def _bucket(self) -> str:
        return f"{self.stream}_workers"

    def heartbeat(self, worker: str, facts: dict[str, Any]) -> None:
        """Say that ``worker`` is alive (with ``facts``: counts, host); the entry expires after a minute."""

        async def put() -> None:
            if self._kv is None:
                try:
                    self._kv = await self._js.key_value(self._bucket)
                except nats.js.errors.BucketNotFoundError:
                    self._kv = await self._js.create_key_value(bucket=self._bucket, ttl=HEARTBEAT_TTL)
            await self._kv.put(_kv_key(worker), json.dumps(facts, default=str).encode())

        self._call(put())

    def workers(self) -> dict[str, dict[str, Any]]:
        """The workers that sent a heartbeat within the last minute, with what they said."""

        async def read() -> dict[str, dict[str, Any]]:
            try:
                kv = await self._js.key_value(self._bucket)
                keys = await kv.keys()
            except (nats.js.errors.BucketNotFoundError, nats.js.errors.NoKeysError):
                return {}
            seen = {}
            for key in keys:
                try:
                    entry = await kv.get(key)
                except nats.js.errors.KeyNotFoundError:
                    continue
                seen[key] = json.loads(entry.value or b"{}")
            return seen

        return self._call(read())


class PullConsumer:
    """The workers' durable consumer, bound for fetching batches (from :meth:`NatsBus.consumer`)."""

    def __init__(self, bus: NatsBus, name: str, subscription: JetStreamContext.PullSubscription) -> None:
        self._bus, self.name, self._sub = bus, name, subscription

    def fetch(self, batch: int, timeout: float) -> list[Delivery]:
        """Up to ``batch`` messages, waiting at most ``timeout`` seconds; [] when there are none."""

        async def fetch() -> list[Msg]:
            try:
                return await self._sub.fetch(batch, timeout=timeout)
            except (TimeoutError, nats.errors.TimeoutError):
                return []

        msgs = self._bus._call(fetch(), timeout=timeout + CALL_TIMEOUT)
        return [
            Delivery(
                data=m.data,
                stream=m.metadata.stream,
                seq=m.metadata.sequence.stream,
                delivered=m.metadata.num_delivered,
                msg=m,
            )
            for m in msgs
        ]

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge (the stream then removes them) and wait until the server has the acks."""
        self._settle(deliveries, lambda m: m.ack())

    def term(self, deliveries: Sequence[Delivery]) -> None:
        """Never deliver these again (a worker quarantined or refused them, with the reason, in the store)."""
        self._settle(deliveries, lambda m: m.term())

    def nak(self, deliveries: Sequence[Delivery], *, delay: float | None = None) -> None:
        """Give these back for redelivery, after ``delay`` seconds (when the store is failing)."""
        self._settle(deliveries, lambda m: m.nak(delay=delay))

    def _settle(
        self, deliveries: Sequence[Delivery], how: Callable[[Msg], Coroutine[Any, Any, None]]
    ) -> None:
        async def settle() -> None:
            for delivery in deliveries:
                await how(delivery.msg)
            await self._bus._nc.flush()

        if deliveries:
            self._bus._call(settle())


def _stream_state(info: api.StreamInfo) -> StreamState:
    return StreamState(
        name=info.config.name or "",
        messages=info.state.messages,
        bytes=info.state.bytes,
        first_seq=info.state.first_seq,
        last_seq=info.state.last_seq,
        consumers=info.state.consumer_count,
        duplicate_window_s=float(info.config.duplicate_window or 0),
    )


def _ignore(event: str, **fields: Any) -> None:
    pass


def _kv_key(worker: str) -> str:
    """A worker name as a key-value key (letters, digits, - _ = . only)."""
    return "".join(c if c.isalnum() or c in "-_=." else "_" for c in worker) or "worker"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | nats.errors.TimeoutError):
        return "no answer in time (is nats-server running, with JetStream enabled: -js?)"
    if isinstance(exc, nats.errors.NoServersError | ConnectionRefusedError):
        return "cannot connect (is nats-server running there?)"
    if isinstance(exc, nats.js.errors.NoStreamResponseError):
        return "no stream answered (is JetStream enabled, and the stream created by a worker or connectors?)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
