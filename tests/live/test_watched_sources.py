"""Live sources that name accounts collect only while an approved, unexpired watch covers each (B3).

A Telegram channel is an account: its source stores nothing until a watch on it is approved by a
second person, and stops (failed, with the reason) at the first fetch or commit after the watch
expires; what it fetched after that is not stored. Sources that name no one (a site's feed) never
need a watch. The runner here is the real one (`watchfloor run`'s SourceWorker) on the real store,
reading the loopback fake of t.me; time travels on the service context's frozen clock.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from prometheus_client import CollectorRegistry

from tests.live.conftest import FakeFeeds
from tests.live_platforms.telegram_fake import CHANNEL, FakeTelegramWeb, telegram
from tests.people import ANA, AUDITOR, SAM
from tests.scaleout.conftest import post_envelope
from watchfloor.bus.records import BusRecord, Outgoing, PublishResult, encode_record
from watchfloor.cli.run import Metrics, SourceWorker
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch, Connector
from watchfloor.connectors.live.rss import RssConnector
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError, Permanent, WatchRequired
from watchfloor.domain.sources import Source
from watchfloor.services import collect, consume, publish, sources
from watchfloor.services.audit import list_audit_events
from watchfloor.services.context import ServiceContext
from watchfloor.services.watches import approve_watch, request_watch

__all__ = ["telegram"]  # the fixture, imported so pytest finds it

DEADLINE = 30.0  # seconds a runner may take to do what a test waits for
TG_CONFIG = {"channel": CHANNEL, "every": 300}
DIGEST = f"telegram:{hashlib.sha256(CHANNEL.encode()).hexdigest()}"


def add_channel(ctx: ServiceContext, fake: FakeTelegramWeb) -> sources.AddedSource:
    config = {**TG_CONFIG, "base_url": fake.url}
    return sources.add_source(
        ctx, actor=SAM, name="floodwatch", kind="telegram-web", config=config, basis_id=1
    )


def watch(ctx: ServiceContext, subject: str = CHANNEL, *, approve: bool = True, **kwargs: Any) -> int:
    """A watch requested by an analyst and, unless ``approve`` is false, approved by a supervisor."""
    asked = request_watch(ctx, actor=ANA, subject=subject, basis_id=1, reason="threats to crews", **kwargs)
    if approve:
        approve_watch(ctx, actor=SAM, watch_id=asked.id, note="necessary and proportionate")
    return asked.id


def current(ctx: ServiceContext, source: Source) -> Source:
    with ctx.store.snapshot() as tx:
        found = tx.get_source(source.id)
    assert found is not None
    return found


def posts(ctx: ServiceContext) -> int:
    with ctx.store.snapshot() as tx:
        return tx.stats().posts


def run_worker(ctx: ServiceContext, source: Source, until: Callable[[], bool] | None = None) -> None:
    """The runner's thread for ``source``: until it stops by itself (``until`` None) or ``until`` holds."""
    stop = threading.Event()
    worker = SourceWorker(ctx, current(ctx, source), stop, threading.Lock(), Metrics(CollectorRegistry()))
    worker.start()
    deadline = time.monotonic() + DEADLINE
    while worker.is_alive() and not (until is not None and until()):
        assert time.monotonic() < deadline, "the runner did not get there in time"
        worker.join(timeout=0.05)
    assert until is None or until(), "the runner stopped before it got there"
    stop.set()  # it waits for its next poll: wake it up to stop
    worker.join(timeout=DEADLINE)
    assert not worker.is_alive()


def fail_events(ctx: ServiceContext) -> list[dict[str, Any]]:
    return [dict(e.details) for e in list_audit_events(ctx, actor=AUDITOR, action="sources.fail", limit=10)]


def test_a_channel_collects_nothing_until_a_second_person_approves_its_watch(
    ctx: ServiceContext, telegram: FakeTelegramWeb
) -> None:
    source = add_channel(ctx, telegram)
    assert source.accounts == source.unwatched == (("telegram", CHANNEL),)  # added, with a warning
    watch_id = watch(ctx, approve=False)  # requested, not approved

    run_worker(ctx, source)  # stops by itself: failed before any fetch
    failed = current(ctx, source)
    assert telegram.requests == [] and posts(ctx) == 0
    assert failed.status == "failed" and failed.last_error is not None
    assert f"no watch in force (telegram:{CHANNEL})" in failed.last_error
    assert f"watchfloor watches request {CHANNEL} --platform telegram" in failed.last_error
    assert "watchfloor sources resume floodwatch" in failed.last_error
    (event,) = fail_events(ctx)  # the auditor sees whom, by the digest watch events use
    assert event["accounts_sha256"] == [DIGEST] and CHANNEL not in msgspec.json.encode(event).decode()
    (asked,) = list_audit_events(ctx, actor=AUDITOR, action="watches.request", limit=10)
    (added,) = list_audit_events(ctx, actor=AUDITOR, action="sources.add", limit=10)
    assert added.details["accounts_sha256"] == [f"telegram:{asked.details['subject_sha256']}"]

    approve_watch(ctx, actor=SAM, watch_id=watch_id)
    sources.set_source_active(ctx, actor=SAM, name="floodwatch", active=True)
    run_worker(ctx, source, until=lambda: current(ctx, source).posts_total == 7)
    assert posts(ctx) == 7 and current(ctx, source).status == "active"


def test_a_watch_that_expires_stops_the_source_and_nothing_more_is_stored(
    ctx: ServiceContext, telegram: FakeTelegramWeb
) -> None:
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    source = add_channel(ctx, telegram)
    watch(ctx, days=10)
    run_worker(ctx, source, until=lambda: current(ctx, source).posts_total == 7)
    asked = len(telegram.requests)

    clock.advance(timedelta(days=10, seconds=1))  # past the watch's expiry
    telegram.publish(5)
    run_worker(ctx, source)  # refused before fetching: nothing asked of t.me, nothing stored
    after = current(ctx, source)
    assert len(telegram.requests) == asked and posts(ctx) == 7 and after.posts_total == 7
    assert after.status == "failed" and f"telegram:{CHANNEL}" in (after.last_error or "")


class ExpiresWhileFetching:
    """A real connector whose fetch takes so long that the watch expires before the batch is stored."""

    def __init__(self, inner: Connector, clock: FrozenClock, by: timedelta) -> None:
        self.inner, self.clock, self.by = inner, clock, by
        self.name, self.version = inner.name, inner.version

    def fetch(self, cursor: str | None) -> Batch:
        batch = self.inner.fetch(cursor)
        self.clock.advance(self.by)
        return batch

    def close(self) -> None:
        self.inner.close()


def test_a_watch_expiring_mid_fetch_stores_nothing_of_that_batch(
    ctx: ServiceContext, telegram: FakeTelegramWeb
) -> None:
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    source = add_channel(ctx, telegram)
    watch(ctx, days=1)
    connector = registry.build("telegram-web", current(ctx, source).config)
    assert collect.run_once(ctx, source.id, connector).inserted == 7
    cursor = current(ctx, source).cursor

    telegram.publish(5)
    collect.check_collection_allowed(ctx, current(ctx, source))  # in force when the fetch starts
    slow = ExpiresWhileFetching(connector, clock, timedelta(days=1))
    with pytest.raises(WatchRequired) as refused:
        collect.run_once(ctx, source.id, slow)  # the four new messages were read, not stored
    collect.record_fetch_error(ctx, current(ctx, source), refused.value)  # as the runner does
    after = current(ctx, source)
    assert posts(ctx) == 7 and after.cursor == cursor and after.status == "failed"
    connector.close()


def test_sources_that_name_no_one_need_no_watch(ctx: ServiceContext, feeds: FakeFeeds) -> None:
    config = {"url": feeds.url("/rss2.xml")}
    source = sources.add_source(ctx, actor=SAM, name="city", kind="rss", config=config, basis_id=1)
    assert source.accounts == source.unwatched == ()
    report = collect.run_once(ctx, source.id, RssConnector(config["url"]))
    assert report.inserted == 3 and current(ctx, source).status == "active"
    (added,) = list_audit_events(ctx, actor=AUDITOR, action="sources.add", limit=10)
    assert added.details["url"] == config["url"] and "accounts" not in added.details


def test_every_account_needs_a_watch_for_its_platform_or_for_any(ctx: ServiceContext) -> None:
    config = {"url": "ws://127.0.0.1:9/subscribe", "dids": ["did:plc:aaa", "did:plc:bbb"]}
    source = sources.add_source(
        ctx, actor=SAM, name="two", kind="bluesky-jetstream", config=config, basis_id=1
    )
    (added,) = list_audit_events(ctx, actor=AUDITOR, action="sources.add", limit=10)
    assert added.details["accounts"] == 2 and added.details["unwatched"] == 2
    assert "did:plc:aaa" not in msgspec.json.encode(added.details).decode()  # by digest only
    watch(ctx, "did:plc:aaa", platform="bluesky")
    watch(ctx, "did:plc:bbb", platform="telegram")  # another platform's account of that name
    with pytest.raises(WatchRequired, match=r"\(bluesky:did:plc:bbb\)") as refused:
        collect.check_collection_allowed(ctx, source)
    assert refused.value.accounts == (("bluesky", "did:plc:bbb"),)
    watch(ctx, "did:plc:bbb")  # any platform
    collect.check_collection_allowed(ctx, source)


def test_a_mastodon_list_cannot_be_a_source(ctx: ServiceContext) -> None:
    config = {"instance": "https://mastodon.example", "streams": ["list:42"], "token_env": "TOKEN"}
    with pytest.raises(ConfigError, match="list:42 streams the accounts on a list"):
        sources.add_source(ctx, actor=SAM, name="list", kind="mastodon-stream", config=config, basis_id=1)
    with ctx.store.transaction() as tx:  # one added before lists were refused stops at its next fetch
        old = tx.create_source(
            name="old",
            kind="mastodon-stream",
            config=config,
            basis_id=1,
            created_by="sam",
            at=ctx.clock.now(),
        )
    with pytest.raises(Permanent, match="cannot be collected: mastodon-stream: list:42"):
        collect.check_collection_allowed(ctx, old)


class HeldPublisher:
    """A bus that takes everything (what a NATS stream acknowledges), for the connectors role."""

    max_message_bytes = 1 << 20

    def __init__(self) -> None:
        self.held: list[Outgoing] = []

    def publish(self, messages: Any) -> PublishResult:
        self.held += list(messages)
        return PublishResult(stored=len(messages), duplicates=0)


def test_scale_out_stops_at_the_cursor_commit_and_workers_store_nothing_unwatched(
    ctx: ServiceContext, telegram: FakeTelegramWeb
) -> None:
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    source = add_channel(ctx, telegram)
    watch(ctx, days=1)
    envelope = post_envelope("1234567890/99", "flood at the bridge", platform="telegram")
    record = BusRecord(source_id=source.id, source_name=source.name, envelope=envelope)

    clock.advance(timedelta(days=2))  # the watch has expired
    bus = HeldPublisher()
    with pytest.raises(WatchRequired):  # published, but the cursor does not move past it
        publish.publish_batch(
            ctx, current(ctx, source), Batch(envelopes=[envelope], next_cursor="x"), bus=bus
        )
    assert current(ctx, source).cursor is None
    report = consume.store_messages(ctx, [_Message(encode_record(record))])
    assert (report.inserted, report.refused, report.terminate) == (0, 1, frozenset({0}))
    assert any("no watch in force" in problem for problem in report.problems) and posts(ctx) == 0


class _Message:
    def __init__(self, data: bytes) -> None:
        self.data, self.stream, self.seq = data, "TEST", 1
