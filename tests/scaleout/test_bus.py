"""The bus: records survive the round trip, a re-send is dropped, and the consumer acks, naks and terms."""

from __future__ import annotations

import re
import time

import pytest

from tests.scaleout.conftest import deletion, post_envelope, quarantined
from tests.services import nats_url
from watchfloor.bus.nats import NatsBus
from watchfloor.bus.records import BusRecord, Outgoing, decode_record, encode_record
from watchfloor.domain.errors import BadRecord, BusError


def outgoing(record: BusRecord) -> Outgoing:
    return Outgoing(key=record.key, source_id=record.source_id, data=encode_record(record))


def records() -> list[BusRecord]:
    return [
        BusRecord(source_id=7, source_name="city", envelope=post_envelope("a1", "flood at the bridge")),
        BusRecord(source_id=7, source_name="city", deletion=deletion("a0")),
        BusRecord(source_id=7, source_name="city", quarantined=quarantined(b"<html>", "not a feed entry")),
    ]


def test_records_keep_everything_and_are_keyed_by_their_natural_key() -> None:
    post, removed, bad = records()
    assert [r.key for r in (post, removed)] == ["post:rss:a1", "del:rss:a0"]
    assert bad.key.startswith("quar:") and len(bad.key) == 37
    for record in (post, removed, bad):
        assert decode_record(encode_record(record)) == record  # raw bytes, aware times, nested structs
    with pytest.raises(BadRecord, match="not a watchfloor bus record"):
        decode_record(b"\x93garbage")
    with pytest.raises(BadRecord, match="exactly one item"):
        decode_record(encode_record(BusRecord(source_id=7, source_name="city")))


def test_publish_consume_round_trip_drops_a_resend(bus: NatsBus) -> None:
    sent = records()
    first = bus.publish([outgoing(r) for r in sent])
    assert (first.stored, first.duplicates) == (3, 0)
    again = bus.publish([outgoing(sent[0])])  # the same Msg-Id within the duplicate window
    assert (again.stored, again.duplicates) == (0, 1)
    assert bus.stream_state().messages == 3  # type: ignore[union-attr]
    consumer = bus.consumer("workers", ack_wait=30, max_deliver=-1)
    got = consumer.fetch(10, timeout=2)
    assert [decode_record(d.data) for d in got] == sent
    assert [d.delivered for d in got] == [1, 1, 1] and got[0].stream == bus.stream
    consumer.ack(got)
    state = bus.consumer_state("workers")
    assert state is not None and (state.pending, state.ack_pending) == (0, 0)
    assert bus.stream_state().messages == 0  # type: ignore[union-attr]  # a work queue forgets what is acked
    assert consumer.fetch(10, timeout=0.3) == []


def test_a_nak_is_delivered_again_and_a_term_never(bus: NatsBus) -> None:
    sent = records()[:2]
    bus.publish([outgoing(r) for r in sent])
    consumer = bus.consumer("workers", ack_wait=30, max_deliver=-1)
    first, second = consumer.fetch(10, timeout=2)
    consumer.nak([first])
    consumer.term([second])
    (again,) = consumer.fetch(10, timeout=2)
    assert again.seq == first.seq and again.delivered == 2
    consumer.ack([again])
    assert consumer.fetch(10, timeout=0.3) == []


def test_an_unacknowledged_batch_goes_to_another_worker_after_the_ack_wait(bus: NatsBus) -> None:
    bus.publish([outgoing(r) for r in records()])
    dead = bus.consumer("workers", ack_wait=1, max_deliver=-1)
    held = dead.fetch(10, timeout=2)
    assert len(held) == 3  # ... and this worker dies without acking
    other = bus.consumer("workers", ack_wait=1, max_deliver=-1)
    assert other.fetch(10, timeout=0.3) == []  # still held
    time.sleep(1.2)
    redelivered = other.fetch(10, timeout=2)
    assert sorted(d.seq for d in redelivered) == sorted(d.seq for d in held)
    assert all(d.delivered == 2 for d in redelivered)
    state = bus.consumer_state("workers")
    assert state is not None and state.redelivered == 3
    other.ack(redelivered)


def test_heartbeats_list_live_workers(bus: NatsBus) -> None:
    assert bus.workers() == {}
    bus.heartbeat("host-1/42", {"batches": 3})
    assert bus.workers() == {"host-1_42": {"batches": 3}}


def test_a_stream_of_that_name_with_other_subjects_is_refused(bus: NatsBus) -> None:
    other = NatsBus(bus.url, stream=bus.stream, subject="elsewhere", duplicate_window=120)
    try:
        with pytest.raises(BusError, match="exists with subjects"):
            other.ensure_stream()
    finally:
        other.close()


def test_an_unreachable_server_is_a_bus_error_that_says_what_to_check() -> None:
    nats_url()  # skip with the other bus tests when NATS is not available
    started = time.monotonic()
    with pytest.raises(BusError, match=re.escape("nats://127.0.0.1:1")):
        NatsBus("nats://127.0.0.1:1", stream="X", subject="x", duplicate_window=1, connect_timeout=1.5)
    assert time.monotonic() - started < 5
