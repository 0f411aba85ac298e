"""What travels on the bus: one record a live source read, its natural key, and how it is encoded.

A record is exactly one of: an envelope (the raw payload as received, with the post or deletion it was
mapped to), a deletion read without a payload, or a quarantined record (the raw payload and why it
could not be mapped). It names its source, so a worker can check that source's legal basis before it
stores anything. Records are encoded with msgspec's MessagePack (bytes stay bytes, times stay aware)
and published with their natural key as the JetStream message id (``Nats-Msg-Id``), so the stream's
duplicate window drops a re-send: ``post:<platform>:<native id>``, ``del:<platform>:<native id>``,
``quar:<hash of the quarantined record>``. Beyond the window, the store's unique keys do the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Deletion, Envelope, Quarantined

__all__ = [
    "BusMessage",
    "BusRecord",
    "Outgoing",
    "PublishResult",
    "Publisher",
    "decode_record",
    "encode_record",
]

_ENCODER = msgspec.msgpack.Encoder()


class BusRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One record a live source read, as it travels from a connectors process to a worker."""

    source_id: int
    source_name: str
    envelope: Envelope | None = None  # a post or a deletion, with the raw payload
    deletion: Deletion | None = None  # a deletion the connector read without a payload
    quarantined: Quarantined | None = None  # a record the connector could not map, with the reason

    @property
    def key(self) -> str:
        """The natural key, used as the message id: the same record read twice has the same key."""
        if self.envelope is not None and self.envelope.post is not None:
            return f"post:{self.envelope.post.platform}:{self.envelope.post.native_id}"
        removed = self.deletion or (self.envelope.deletion if self.envelope is not None else None)
        if removed is not None:
            return f"del:{removed.platform}:{removed.native_id}"
        if self.quarantined is not None:
            q, where = self.quarantined, self.quarantined.location
            head = f"{q.format}\0{where.source}\0{where.line}\0{where.index}\0{q.reason}\0".encode()
            return "quar:" + hashlib.sha256(head + q.raw).hexdigest()[:32]
        raise ValueError("a bus record carries a post, a deletion or a quarantined record")


_DECODER = msgspec.msgpack.Decoder(BusRecord)


def encode_record(record: BusRecord) -> bytes:
    """The record as MessagePack (what is published)."""
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> BusRecord:
    """The record a message carries; :class:`BadRecord` (with the reason) if it is not one."""
    try:
        record = _DECODER.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise BadRecord(f"not a watchfloor bus record: {exc}") from None
    carried = [x for x in (record.envelope, record.deletion, record.quarantined) if x is not None]
    if len(carried) != 1:
        raise BadRecord(f"a bus record carries exactly one item, this one {len(carried)}")
    if record.envelope is not None and record.envelope.post is None and record.envelope.deletion is None:
        raise BadRecord("a bus record's envelope carries neither a post nor a deletion")
    return record


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One encoded record ready to publish: its message id, its source (the subject) and its bytes."""

    key: str
    source_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What the stream said about a published batch: stored anew, or dropped as re-sends."""

    stored: int
    duplicates: int


class Publisher(Protocol):
    """Where a connectors process publishes (bus/nats.py; tests may pass a fake)."""

    @property
    def max_message_bytes(self) -> int:
        """The largest message the bus accepts (NATS ``max_payload``)."""
        ...

    def publish(self, messages: Sequence[Outgoing]) -> PublishResult:
        """Publish every message and wait until the stream acknowledged each (raises BusError)."""
        ...


class BusMessage(Protocol):
    """A message a worker received: its bytes and where it sits in the stream."""

    @property
    def data(self) -> bytes: ...

    @property
    def stream(self) -> str: ...

    @property
    def seq(self) -> int: ...
