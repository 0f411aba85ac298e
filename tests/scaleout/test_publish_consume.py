"""Connectors publish, then advance the cursor; workers store, match and alert: nothing lost or doubled."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.people import SAM, make_basis
from tests.scaleout.conftest import deletion, post_envelope, quarantined
from watchfloor.bus.nats import NatsBus
from watchfloor.bus.records import BusRecord, Outgoing, PublishResult, decode_record, encode_record
from watchfloor.connectors.live.contract import Batch
from watchfloor.domain.errors import Conflict
from watchfloor.domain.post import Envelope, Location
from watchfloor.domain.rules import RuleDraft
from watchfloor.domain.sources import Source
from watchfloor.services import consume, legal, publish, rules, sources
from watchfloor.services.context import ServiceContext
from watchfloor.store.ports import AlertFilter


@dataclass(frozen=True)
class Message:
    """A message as a worker receives it (what bus.nats.Delivery carries, without NATS)."""

    data: bytes
    stream: str = "TEST"
    seq: int = 1


def add_source(ctx: ServiceContext, name: str = "city", *, basis: int | None = None) -> Source:
    basis_id = basis or make_basis(ctx)
    return sources.add_source(
        ctx, actor=SAM, name=name, kind="rss", config={"url": "https://example.org/feed"}, basis_id=basis_id
    )


def flood_rule(ctx: ServiceContext, basis: int) -> None:
    rules.add_rule(
        ctx, actor=SAM, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=basis)
    )


def a_batch(cursor: str) -> Batch:
    skipped = Envelope(
        raw=b"{}", format="test-json", location=Location(source="test"), skipped_reason="a like"
    )
    return Batch(
        envelopes=[
            post_envelope("p1", "flood at the bridge"),
            post_envelope("p2", "quiet morning"),
            post_envelope("p3", "market day"),
            skipped,
        ],
        deletions=[deletion("p0")],
        quarantined=[quarantined(b"<html>", "not a feed entry")],
        next_cursor=cursor,
    )


def current(ctx: ServiceContext, source: Source) -> Source:
    with ctx.store.snapshot() as tx:
        found = tx.get_source(source.id)
    assert found is not None
    return found


def events(ctx: ServiceContext, actor: str, action: str) -> list[dict[str, object]]:
    with ctx.store.snapshot() as tx:
        found = tx.audit_events(actor=actor, action=action, limit=100)
    return [dict(e.details) for e in found]


def test_published_batch_is_stored_once_by_a_worker(ctx: ServiceContext, bus: NatsBus) -> None:
    source = add_source(ctx)
    flood_rule(ctx, source.basis_id)
    report = publish.publish_batch(ctx, source, a_batch("page-2"), bus=bus)
    assert (report.records, report.stored, report.duplicates, report.skipped) == (5, 5, 0, 1)
    assert current(ctx, source).cursor == "page-2"  # only after every ack
    (event,) = events(ctx, "connectors", "sources.publish")
    assert event["records"] == 5 and event["published"] == 5 and event["skipped"] == 1

    consumer = bus.consumer("workers", ack_wait=30, max_deliver=-1)
    deliveries = consumer.fetch(50, timeout=2)
    stored = consume.store_messages(ctx, deliveries)
    consumer.ack(deliveries)
    assert (stored.inserted, stored.deletions, stored.quarantined, stored.alerts_raised) == (3, 1, 1, 1)
    assert stored.terminate == frozenset()
    with ctx.store.snapshot() as tx:
        assert tx.stats().posts == 3
        (alert,) = tx.list_alerts(AlertFilter())
        (entry,) = tx.list_quarantine(limit=10)
    assert alert.severity == "high" and entry.reason == "not a feed entry"
    assert current(ctx, source).posts_total == 3  # the worker counts the posts, the connector the cursor
    (collected,) = events(ctx, "worker", "sources.collect")
    assert collected["inserted"] == 3 and collected["alerts_raised"] == 1 and collected["source"] == "city"

    # Killed between commit and ack: the batch comes again, and changes nothing.
    again = consume.store_messages(ctx, deliveries)
    assert (again.inserted, again.duplicates, again.alerts_raised) == (0, 3, 0)
    with ctx.store.snapshot() as tx:
        assert tx.stats().posts == 3 and len(tx.list_alerts(AlertFilter())) == 1
        assert len(tx.list_quarantine(limit=10)) == 1


def test_a_crash_between_publish_and_cursor_republishes_harmlessly(ctx: ServiceContext, bus: NatsBus) -> None:
    source = add_source(ctx)
    batch = a_batch("page-2")
    records, _ = publish.bus_records(source, batch)
    bus.publish([Outgoing(key=r.key, source_id=r.source_id, data=encode_record(r)) for r in records])
    assert current(ctx, source).cursor is None  # ... and the process died before the cursor moved
    report = publish.publish_batch(ctx, source, batch, bus=bus)  # restarted: same cursor, same batch
    assert (report.stored, report.duplicates) == (0, 5)
    assert current(ctx, source).cursor == "page-2"
    assert bus.stream_state().messages == 5  # type: ignore[union-attr]


def test_a_moved_cursor_is_a_conflict_and_is_not_overwritten(ctx: ServiceContext, bus: NatsBus) -> None:
    source = add_source(ctx)
    publish.publish_batch(ctx, source, a_batch("page-2"), bus=bus)  # another connectors process
    with pytest.raises(Conflict, match="cursor moved"):
        publish.publish_batch(ctx, source, a_batch("page-9"), bus=bus)  # read after the old cursor
    assert current(ctx, source).cursor == "page-2"


def test_undecodable_messages_and_records_without_a_basis_are_terminated_not_dropped(
    ctx: ServiceContext,
) -> None:
    live = add_source(ctx, "live")
    lapsed = add_source(ctx, "lapsed", basis=make_basis(ctx, title="Ended"))
    removed = add_source(ctx, "removed", basis=live.basis_id)
    legal.retire_basis(ctx, actor=SAM, basis_id=lapsed.basis_id, reason="operation over")
    sources.remove_source(ctx, actor=SAM, name="removed")

    def message(source: Source, native_id: str, seq: int) -> Message:
        record = BusRecord(
            source_id=source.id, source_name=source.name, envelope=post_envelope(native_id, "x")
        )
        return Message(data=encode_record(record), seq=seq)

    batch = [
        Message(data=b"\xc1 not msgpack", seq=1),
        message(lapsed, "l1", 2),
        message(removed, "r1", 3),
        message(live, "ok1", 4),
    ]
    report = consume.store_messages(ctx, batch)
    assert report.terminate == {0, 1, 2}
    assert (report.inserted, report.undecodable, report.refused, report.quarantined) == (1, 1, 2, 1)
    assert any("is retired" in p for p in report.problems) and any("removed" in p for p in report.problems)
    with ctx.store.snapshot() as tx:
        (entry,) = tx.list_quarantine(limit=10)
        assert tx.stats().posts == 1
    assert entry.format == "watchfloor-bus" and entry.raw == b"\xc1 not msgpack"
    assert entry.location.source == "bus:TEST" and entry.location.index == 1
    assert "not a watchfloor bus record" in entry.reason
    (event,) = events(ctx, "worker", "sources.collect")
    assert event["refused"] == 2 and event["undecodable"] == 1
    assert event["refused_sources"] == [f"source:{lapsed.id}", f"source:{removed.id}"]


def test_a_record_that_breaks_storing_is_found_and_quarantined_alone(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = add_source(ctx)
    real = consume.prepare_envelopes

    def fragile(envelopes: list[Envelope], **kwargs: object) -> object:
        if any(e.post is not None and e.post.native_id == "poison" for e in envelopes):
            raise ValueError("a bug this record meets")
        return real(envelopes, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(consume, "prepare_envelopes", fragile)
    ids = ["a", "b", "poison", "c", "d"]
    batch = [
        Message(
            data=encode_record(
                BusRecord(source_id=source.id, source_name="city", envelope=post_envelope(i, i))
            ),
            seq=n,
        )
        for n, i in enumerate(ids, start=1)
    ]
    report = consume.store_messages(ctx, batch)
    assert report.terminate == {2} and (report.inserted, report.unstorable) == (4, 1)
    with ctx.store.snapshot() as tx:
        (entry,) = tx.list_quarantine(limit=10)
        assert tx.stats().posts == 4
    assert entry.reason == "storing this record failed: ValueError: a bug this record meets"
    assert decode_record(entry.raw).envelope.post.native_id == "poison"  # type: ignore[union-attr]


class SmallBus:
    """A bus that takes messages of at most 2,000 bytes, and keeps what it was given."""

    max_message_bytes = 2000

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def publish(self, messages: list[Outgoing]) -> PublishResult:
        self.sent.extend(messages)
        return PublishResult(stored=len(messages), duplicates=0)


def test_a_record_too_large_for_the_bus_goes_as_quarantined_with_its_start(ctx: ServiceContext) -> None:
    source = add_source(ctx)
    big = post_envelope("big", "x" * 5000)
    small = SmallBus()
    report = publish.publish_batch(ctx, source, Batch(envelopes=[big], next_cursor="c"), bus=small)
    assert report.oversized == 1
    (sent,) = small.sent
    record = decode_record(sent.data)
    assert record.quarantined is not None and record.quarantined.raw == big.raw
    assert "larger than the bus takes" in record.quarantined.reason
    assert sent.key == record.key and sent.key.startswith("quar:")
