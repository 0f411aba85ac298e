"""Scale-out connectors: publish what a live source fetched to the bus, then advance the source's cursor.

``watchfloor run --role connectors`` calls :func:`publish_batch` for every batch. It publishes each
record (bus/records.py: the raw payload with its mapped post, deletion or quarantine) with its natural
key as the message id and waits until the stream has acknowledged every one, THEN commits the source's
new cursor with one ``sources.publish`` audit event. The cursor therefore never passes a record the
stream does not hold. A crash between the two re-fetches the batch from the old cursor and publishes
it again: the stream's duplicate window drops the re-sends, and past the window the workers count them
as duplicates (the store's unique keys). Workers store, match and alert (services/consume.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from watchfloor.bus.records import BusRecord, Outgoing, Publisher, encode_record
from watchfloor.connectors.live.contract import Batch
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, NotFound
from watchfloor.domain.post import Location, Quarantined
from watchfloor.domain.sources import Source
from watchfloor.services.access import authorize
from watchfloor.services.collect import collection_allowed
from watchfloor.services.context import ServiceContext
from watchfloor.services.crashpoints import crash, next_batch
from watchfloor.services.recording import record, refusals_recorded

__all__ = ["CONNECTORS", "PublishReport", "bus_records", "publish_batch"]

CONNECTORS = Actor.system("connectors")
OVERSIZE_KEEP_BYTES = 64 * 1024  # of a record too large for the bus, this much raw payload is kept


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What one published batch did (for logs and metrics)."""

    records: int  # published: posts, deletions and quarantined records
    stored: int  # new in the stream
    duplicates: int  # dropped by the stream as re-sends within its duplicate window
    skipped: int  # envelopes that carry nothing to store (a like, a follow): not published
    oversized: int  # records too large for the bus, published as quarantined records instead
    cursor: str | None
    next_wake: datetime | None


def bus_records(source: Source, batch: Batch) -> tuple[list[BusRecord], int]:
    """The records ``batch`` publishes, in order, and how many envelopes carried nothing to store."""
    records: list[BusRecord] = []
    skipped = 0
    for envelope in batch.envelopes:
        if envelope.post is None and envelope.deletion is None:
            skipped += 1
            continue
        records.append(BusRecord(source_id=source.id, source_name=source.name, envelope=envelope))
    for deletion in batch.deletions:
        records.append(BusRecord(source_id=source.id, source_name=source.name, deletion=deletion))
    for quarantined in batch.quarantined:
        records.append(BusRecord(source_id=source.id, source_name=source.name, quarantined=quarantined))
    return records, skipped


def _outgoing(records: list[BusRecord], limit: int) -> tuple[list[Outgoing], int]:
    """Encode ``records``; one larger than ``limit`` bytes goes as a quarantined record saying so."""
    messages: list[Outgoing] = []
    oversized = 0
    for item in records:
        data = encode_record(item)
        if len(data) > limit:
            oversized += 1
            item = _shrunk(item, len(data), limit)
            data = encode_record(item)
        messages.append(Outgoing(key=item.key, source_id=item.source_id, data=data))
    return messages, oversized


def _shrunk(item: BusRecord, size: int, limit: int) -> BusRecord:
    """A quarantined record in place of ``item``, which is too large for the bus, with its payload cut."""
    carrier = item.envelope or item.quarantined
    raw = carrier.raw if carrier is not None else b""
    reason = (
        f"record of {size:,} bytes is larger than the bus takes ({limit:,} bytes, NATS max_payload); "
        f"its first {OVERSIZE_KEEP_BYTES // 1024} KiB are kept: raise max_payload in nats-server.conf "
        "to keep such records whole"
    )
    return BusRecord(
        source_id=item.source_id,
        source_name=item.source_name,
        quarantined=Quarantined(
            raw=raw[:OVERSIZE_KEEP_BYTES],
            format=carrier.format if carrier is not None else "unknown",
            location=carrier.location if carrier is not None else Location(source=item.source_name),
            reason=reason,
        ),
    )


def publish_batch(
    ctx: ServiceContext, source: Source, batch: Batch, *, bus: Publisher, actor: Actor = CONNECTORS
) -> PublishReport:
    """Publish ``batch``, read from ``source`` after its cursor, then commit the cursor after it.

    Raises BusError (nothing committed: re-fetch and publish again later), :class:`Conflict` if the
    source's stored cursor moved meanwhile (another connectors process collects it: this one should
    stop), :class:`NotFound` if the source was removed, Permanent if its legal basis lapsed or a
    named account it collects has no watch in force (``collect.collection_allowed``).
    """
    next_batch()
    records, skipped = bus_records(source, batch)
    messages, oversized = _outgoing(records, bus.max_message_bytes)
    with refusals_recorded(ctx, actor=actor, action="sources.publish", object_ids=(f"source:{source.id}",)):
        authorize(actor, "sources.publish")
        result = bus.publish(messages)
        crash("after_publish")
        now = ctx.clock.now()
        with ctx.store.transaction() as tx:
            stored = tx.get_source(source.id)
            if stored is None:
                raise NotFound(f"source {source.name!r} was removed while the runner was collecting it")
            if stored.cursor != source.cursor:
                raise Conflict(
                    f"source {source.name!r}: its cursor moved under this runner (is another running?)"
                )
            collection_allowed(tx, stored, now)
            tx.advance_source(source.id, cursor=batch.next_cursor, posts=0, at=now)  # workers count posts
            record(
                tx,
                actor=actor,
                action="sources.publish",
                at=now,
                object_ids=(f"source:{source.id}",),
                details={
                    "source": source.name,
                    "kind": source.kind,
                    "records": len(messages),
                    "published": result.stored,
                    "duplicates": result.duplicates,
                    "skipped": skipped,
                    "oversized": oversized,
                },
            )
    return PublishReport(
        records=len(messages),
        stored=result.stored,
        duplicates=result.duplicates,
        skipped=skipped,
        oversized=oversized,
        cursor=batch.next_cursor if batch.next_cursor is not None else source.cursor,
        next_wake=batch.next_wake,
    )
