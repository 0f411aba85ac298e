"""Scale-out workers: store a batch of records from the bus, match and alert, in one transaction.

``watchfloor worker`` fetches a batch from the workers' durable consumer and calls
:func:`store_messages`, then acknowledges the batch (the stream forgets it) or terminates the messages
the report names. The storing is embedded mode's (services/collect.py: pipeline, posts, alerts for new
posts, deletions, quarantine), and everything commits in ONE transaction with one ``sources.collect``
audit event. Delivery is at-least-once: a worker killed before its commit leaves the batch unacked and
JetStream hands it to a worker again after the ack wait; one killed between commit and ack has it
stored twice, where the natural key makes the second time a counted duplicate and raises no alert.

Nothing is dropped silently. A message that is not a watchfloor record is quarantined with the reason
and terminated. Records of a source that was removed, whose legal basis is no longer in force, or that
names an account with no watch in force (``collect.collection_allowed``) are not stored (as in embedded
mode, where the batch is refused at commit): they are terminated and counted in the event as refused.
A record that makes storing fail with an unexpected error (a bug) is found by retrying the batch in
halves, then quarantined alone with the error; store outages (StoreError) are raised for the worker to
retry the whole batch later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from watchfloor.bus.records import BusMessage, BusRecord, decode_record
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import BadRecord, Permanent, WatchfloorError
from watchfloor.domain.post import Deletion, Location, Quarantined
from watchfloor.services.access import authorize
from watchfloor.services.collect import collection_allowed, prepare_envelopes, store_and_match, stored_details
from watchfloor.services.context import ServiceContext
from watchfloor.services.crashpoints import crash, next_batch
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = ["BUS_FORMAT", "WORKER", "ConsumeReport", "store_messages"]

WORKER = Actor.system("worker")
BUS_FORMAT = "watchfloor-bus"  # the format of a quarantined message that was not a record


@dataclass(frozen=True, slots=True)
class ConsumeReport:
    """What one batch from the bus did; ``terminate`` are positions the caller terminates, not acks."""

    records: int
    inserted: int = 0
    duplicates: int = 0
    deletions: int = 0
    quarantined: int = 0  # records quarantined by their connector, plus undecodable and unstorable ones
    undecodable: int = 0
    unstorable: int = 0
    refused: int = 0  # records of a removed source, or one its basis or watches no longer allow: not stored
    alerts_raised: int = 0
    terminate: frozenset[int] = frozenset()
    problems: tuple[str, ...] = ()  # why records were refused or quarantined here, for the log

    def then(self, other: ConsumeReport, *, offset: int) -> ConsumeReport:
        """This report followed by ``other``, whose positions start at ``offset``."""
        return ConsumeReport(
            records=self.records + other.records,
            inserted=self.inserted + other.inserted,
            duplicates=self.duplicates + other.duplicates,
            deletions=self.deletions + other.deletions,
            quarantined=self.quarantined + other.quarantined,
            undecodable=self.undecodable + other.undecodable,
            unstorable=self.unstorable + other.unstorable,
            refused=self.refused + other.refused,
            alerts_raised=self.alerts_raised + other.alerts_raised,
            terminate=self.terminate | {offset + i for i in other.terminate},
            problems=self.problems + other.problems,
        )


def store_messages(
    ctx: ServiceContext, messages: Sequence[BusMessage], *, actor: Actor = WORKER
) -> ConsumeReport:
    """Store the records ``messages`` carry (see the module docstring); the caller then acknowledges
    every message except those in ``terminate``, which it terminates. Raises StoreError when the store
    fails: acknowledge nothing then, and give the batch back."""
    try:
        return _store(ctx, messages, actor=actor, unstorable={})
    except WatchfloorError:
        raise
    except Exception as exc:  # a bug met by some record: find it, quarantine it, store the rest
        if len(messages) > 1:
            half = len(messages) // 2
            first = store_messages(ctx, messages[:half], actor=actor)
            return first.then(store_messages(ctx, messages[half:], actor=actor), offset=half)
        return _store(ctx, messages, actor=actor, unstorable={0: f"{type(exc).__name__}: {exc}"})


def _bus_location(message: BusMessage) -> Location:
    return Location(source=f"bus:{message.stream}", index=message.seq)


def _refusals(tx: StoreTx, source_ids: set[int], now: datetime) -> dict[int, str]:
    """The sources among ``source_ids`` whose records may not be stored, with the reason."""
    refused = {}
    for source_id in sorted(source_ids):
        source = tx.get_source(source_id)
        if source is None:
            refused[source_id] = "the source was removed"
            continue
        try:
            collection_allowed(tx, source, now)
        except Permanent as exc:
            refused[source_id] = str(exc)
    return refused


def _store(
    ctx: ServiceContext, messages: Sequence[BusMessage], *, actor: Actor, unstorable: dict[int, str]
) -> ConsumeReport:
    next_batch()
    now = ctx.clock.now()
    decoded: list[tuple[int, BusRecord]] = []
    bad: dict[int, Quarantined] = {}
    for position, message in enumerate(messages):
        reason = unstorable.get(position)
        if reason is None:
            try:
                decoded.append((position, decode_record(message.data)))
                continue
            except BadRecord as exc:
                reason = str(exc)
        else:
            reason = f"storing this record failed: {reason}"
        where = _bus_location(message)
        bad[position] = Quarantined(raw=message.data, format=BUS_FORMAT, location=where, reason=reason)
    with_posts = [(p, r) for p, r in decoded if r.envelope is not None and r.envelope.post is not None]
    prepared = prepare_envelopes([r.envelope for _, r in with_posts if r.envelope is not None], now=now)
    sources = {r.source_id: r.source_name for _, r in decoded}
    with refusals_recorded(ctx, actor=actor, action="sources.collect"):
        authorize(actor, "sources.collect")
        with ctx.store.transaction() as tx:
            refused = _refusals(tx, set(sources), now)
            kept = [(p, r) for p, r in decoded if r.source_id not in refused]
            items = [
                item for item, (_, r) in zip(prepared, with_posts, strict=True) if r.source_id not in refused
            ]
            removed: list[Deletion] = [
                d for _, r in kept if (d := r.deletion or (r.envelope.deletion if r.envelope else None))
            ]
            quarantined = [r.quarantined for _, r in kept if r.quarantined is not None]
            result = store_and_match(
                ctx,
                tx,
                items=items,
                removed=removed,
                quarantined=[*quarantined, *bad.values()],
                now=now,
                actor=actor,
            )
            source_of = {
                item.post.key: r.source_id for item, (_, r) in zip(prepared, with_posts, strict=True)
            }
            new_per_source = Counter(source_of[key] for key in result.written.inserted_keys)
            for source_id in sorted(set(sources) - set(refused)):
                tx.advance_source(source_id, cursor=None, posts=new_per_source[source_id], at=now)
            refs, digests = stored_details(result)
            written, alerts = result.written, result.alerts
            record(
                tx,
                actor=actor,
                action="sources.collect",
                at=now,
                object_ids=(*(f"source:{s}" for s in sorted(sources)), *refs),
                details={
                    "source": ", ".join(sorted(set(sources.values()))),
                    "records": len(messages),
                    "inserted": written.inserted,
                    "duplicates": written.duplicates,
                    "deletions": len(removed),
                    "quarantined": len(quarantined) + len(bad),
                    "undecodable": len(bad) - len(unstorable),
                    "unstorable": len(unstorable),
                    "refused": len(decoded) - len(kept),
                    "refused_sources": [f"source:{s}" for s in sorted(refused)],
                    "alerts_raised": len(alerts.raised),
                    "alerts_grouped": alerts.grouped,
                    "alerts_withheld": alerts.withheld,
                    **digests,
                },
            )
            crash("before_commit")
        crash("after_commit")
    refused_positions = {p for p, r in decoded if r.source_id in refused}
    return ConsumeReport(
        records=len(messages),
        inserted=written.inserted,
        duplicates=written.duplicates,
        deletions=len(removed),
        quarantined=len(quarantined) + len(bad),
        undecodable=len(bad) - len(unstorable),
        unstorable=len(unstorable),
        refused=len(refused_positions),
        alerts_raised=len(alerts.raised),
        terminate=frozenset(bad) | refused_positions,
        problems=(
            *(f"source {sources[s]!r} (id {s}): {why}" for s, why in sorted(refused.items())),
            *(f"message {q.location.source}#{q.location.index}: {q.reason}" for q in bad.values()),
        ),
    )
