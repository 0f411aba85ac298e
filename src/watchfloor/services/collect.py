"""Store what a live source fetched: posts, deletions, quarantine, alerts and the new cursor, together.

:func:`collect_batch` is the one place a live batch enters the store in embedded mode. Everything it
writes commits in ONE transaction with the source's new cursor and counters and one ``sources.collect``
audit event, so a crash at any point either keeps the whole batch and the cursor after it, or neither:
restarting re-fetches from the old cursor and the natural key (platform, native id) turns anything
already stored into a counted duplicate. Alerts are raised only for posts new in this transaction, and
an alert's (rule, post) is unique, so a replayed batch raises none twice.

The storing itself (:func:`prepare_envelopes`, :func:`store_and_match`, :func:`stored_details`) is
shared with scale-out mode's workers (services/consume.py), which store what connectors published on
the bus. Crash points for the kill tests are in services/crashpoints.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from watchfloor.connectors.live.contract import Batch, Connector
from watchfloor.connectors.live.registry import named_accounts
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import ConfigError, Conflict, NotFound, Permanent, WatchRequired
from watchfloor.domain.post import Deletion, Envelope, Prepared, Quarantined
from watchfloor.domain.sources import Source
from watchfloor.pipeline import prepare_batch
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.crashpoints import STORE_POINTS, crash, next_batch
from watchfloor.services.matching import NewPost, match_and_alert
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.services.watch_checks import subject_digest, unwatched_accounts
from watchfloor.store.ports import AlertWrite, StoreTx, WriteResult

__all__ = [
    "CRASHPOINTS",
    "RUNNER",
    "CollectReport",
    "Stored",
    "check_collection_allowed",
    "collect_batch",
    "collection_allowed",
    "prepare_envelopes",
    "record_fetch_error",
    "run_once",
    "sources_to_run",
    "store_and_match",
    "stored_details",
    "watch_required",
]

RUNNER = Actor.system("runner")
CRASHPOINTS = STORE_POINTS  # the kill test's names for the moments of a stored batch


@dataclass(frozen=True, slots=True)
class CollectReport:
    """What one stored batch did (for logs and metrics)."""

    inserted: int
    duplicates: int
    deletions: int
    quarantined: int
    alerts_raised: int
    cursor: str | None
    next_wake: datetime | None


def sources_to_run(ctx: ServiceContext, *, actor: Actor = RUNNER) -> list[Source]:
    """The active sources, for the runner to start."""
    with refusals_recorded(ctx, actor=actor, action="sources.collect"):
        authorize(actor, "sources.collect")
        with ctx.store.snapshot() as tx:
            return [s for s in tx.list_sources() if s.status == "active"]


def collection_allowed(tx: StoreTx, source: Source, now: datetime) -> None:
    """Raise Permanent (the runner stops the source and says why) unless ``source`` may be collected at
    ``now``: its legal basis is in force and, if its settings name accounts (a Telegram channel,
    Jetstream ``dids``), a watch is in force for every one of them (:class:`WatchRequired` otherwise).

    Called before every fetch and again in the transaction that stores the batch (embedded mode), that
    commits the cursor after publishing (scale-out connectors), and that stores records from the bus
    (workers): a watch or basis that lapses mid-run stops the source at the next of these.
    """
    basis = tx.get_basis(source.basis_id)
    if basis is None or basis.state(now) != "active":
        state = "missing" if basis is None else basis.state(now)
        raise Permanent(
            f"legal basis {source.basis_id} of source {source.name!r} is {state}: collection stopped; "
            "move the source to a basis in force (remove and add it again with --basis) to resume"
        )
    try:
        accounts = named_accounts(source.kind, source.config)
    except ConfigError as exc:
        raise Permanent(f"source {source.name!r} cannot be collected: {exc}") from None
    missing = unwatched_accounts(tx, accounts, now)
    if missing:
        raise watch_required(source.name, missing)


def watch_required(name: str, missing: tuple[tuple[str, str], ...]) -> WatchRequired:
    """The error that stops source ``name`` for the named accounts in ``missing``, saying what to do."""
    platform, account = missing[0]
    return WatchRequired(
        f"source {name!r} collects from named accounts with no watch in force "
        f"({', '.join(f'{p}:{a}' for p, a in missing)}): collection stopped. Ask for a watch on each "
        f"(`watchfloor watches request {account} --platform {platform} --reason '...'`); once a "
        f"supervisor other than the requester approves it, `watchfloor sources resume {name}`",
        accounts=missing,
    )


def check_collection_allowed(ctx: ServiceContext, source: Source) -> None:
    """Before fetching: raise Permanent unless ``source`` may be collected now (``collection_allowed``)."""
    with ctx.store.snapshot() as tx:
        collection_allowed(tx, source, ctx.clock.now())


def prepare_envelopes(envelopes: Sequence[Envelope], *, now: datetime) -> list[Prepared]:
    """The posts among ``envelopes`` through the pipeline, each with its raw payload kept beside it."""
    with_posts = [e for e in envelopes if e.post is not None]
    prepared = prepare_batch([e.post for e in with_posts if e.post is not None], now=now)
    return [
        msgspec.structs.replace(p, raw=e.raw, raw_format=e.format)
        for p, e in zip(prepared, with_posts, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Stored:
    """What :func:`store_and_match` wrote: the posts (new and duplicate) and the alerts."""

    written: WriteResult
    alerts: AlertWrite


def store_and_match(
    ctx: ServiceContext,
    tx: StoreTx,
    *,
    items: Sequence[Prepared],
    removed: Sequence[Deletion],
    quarantined: Sequence[Quarantined],
    now: datetime,
    actor: Actor,
) -> Stored:
    """In the caller's transaction: store the posts, match the new ones and raise their alerts, then
    record deletions and quarantined records. Idempotent: a replay stores and alerts nothing twice."""
    by_key = {item.post.key: item.post for item in items}
    written = tx.write_posts(items, import_id=None)
    crash("mid_batch")
    new_posts = [
        NewPost(id=post_id, post=by_key[key], cluster_id=cluster)
        for post_id, key, cluster in zip(
            written.inserted_ids, written.inserted_keys, written.inserted_clusters, strict=True
        )
    ]
    alerts = match_and_alert(
        tx, cache=ctx.matchers, posts=new_posts, settings=ctx.settings, now=now, actor=actor.name
    )
    crash("during_alerting")
    tx.write_deletions(removed, seen_at=now)
    tx.write_quarantine(quarantined, import_id=None, at=now)
    return Stored(written=written, alerts=alerts)


def stored_details(stored: Stored) -> tuple[tuple[str, ...], dict[str, DetailValue]]:
    """The audit event's object refs for the new posts and alerts (or digests of long lists)."""
    post_refs, post_digest = object_refs("post", stored.written.inserted_ids)
    alert_refs, alert_digest = object_refs("alert", stored.alerts.raised)
    return (*post_refs, *alert_refs), {**post_digest, **alert_digest}


IDLE_HEARTBEAT = timedelta(seconds=60)  # an idle source still commits (and is audited) this often


def _idle(source: Source, batch: Batch, now: datetime) -> bool:
    """An empty fetch that moved no cursor, within a minute of the last commit: nothing to store.

    A quiet stream returns empty batches many times a second; storing each would write an audit event
    each time. Once a minute one is still stored, so `sources status` shows the source alive.
    """
    empty = not (batch.envelopes or batch.deletions or batch.quarantined)
    unmoved = batch.next_cursor is None or batch.next_cursor == source.cursor
    return empty and unmoved and now - source.updated_at < IDLE_HEARTBEAT


def collect_batch(
    ctx: ServiceContext, source: Source, batch: Batch, *, actor: Actor = RUNNER
) -> CollectReport:
    """Store ``batch``, read from ``source`` after its cursor, with the cursor that follows it (see above).

    Raises :class:`Conflict` if the source's stored cursor is no longer the one the batch was read
    after (another runner collected it meanwhile): nothing is stored, and this runner should stop.
    """
    next_batch()
    removed: list[Deletion] = [*batch.deletions, *(e.deletion for e in batch.envelopes if e.deletion)]
    now = ctx.clock.now()
    items = prepare_envelopes(batch.envelopes, now=now)
    with refusals_recorded(ctx, actor=actor, action="sources.collect", object_ids=(f"source:{source.id}",)):
        authorize(actor, "sources.collect")
        if _idle(source, batch, now):
            return CollectReport(inserted=0, duplicates=0, deletions=0, quarantined=0, alerts_raised=0,
                                 cursor=source.cursor, next_wake=batch.next_wake)  # fmt: skip
        with ctx.store.transaction() as tx:
            stored = tx.get_source(source.id)
            if stored is None:
                raise NotFound(f"source {source.name!r} was removed while the runner was collecting it")
            if stored.cursor != source.cursor:
                raise Conflict(
                    f"source {source.name!r}: its cursor moved under this runner (is another running?)"
                )
            collection_allowed(tx, stored, now)
            result = store_and_match(
                ctx, tx, items=items, removed=removed, quarantined=batch.quarantined, now=now, actor=actor
            )
            written, alerts = result.written, result.alerts
            tx.advance_source(source.id, cursor=batch.next_cursor, posts=written.inserted, at=now)
            refs, digests = stored_details(result)
            record(
                tx,
                actor=actor,
                action="sources.collect",
                at=now,
                object_ids=(f"source:{source.id}", *refs),
                details={
                    "source": source.name,
                    "kind": source.kind,
                    "records": len(batch.envelopes) + len(batch.deletions) + len(batch.quarantined),
                    "inserted": written.inserted,
                    "duplicates": written.duplicates,
                    "deletions": len(removed),
                    "quarantined": len(batch.quarantined),
                    "alerts_raised": len(alerts.raised),
                    "alerts_grouped": alerts.grouped,
                    "alerts_withheld": alerts.withheld,
                    **digests,
                },
            )
            crash("before_commit")
        crash("after_commit")
    return CollectReport(
        inserted=written.inserted,
        duplicates=written.duplicates,
        deletions=len(removed),
        quarantined=len(batch.quarantined),
        alerts_raised=len(alerts.raised),
        cursor=batch.next_cursor if batch.next_cursor is not None else source.cursor,
        next_wake=batch.next_wake,
    )


def record_fetch_error(
    ctx: ServiceContext, source: Source, error: Exception, *, actor: Actor = RUNNER
) -> None:
    """Count a failed fetch on the source; a :class:`Permanent` one also marks it failed, audited."""
    message = str(error) or type(error).__name__
    with refusals_recorded(ctx, actor=actor, action="sources.collect", object_ids=(f"source:{source.id}",)):
        authorize(actor, "sources.collect")
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            tx.record_source_error(source.id, message, at=now)
            if isinstance(error, Permanent):
                tx.set_source_status(source.id, "failed", at=now, error=message)
                record(
                    tx,
                    actor=actor,
                    action="sources.fail",
                    at=now,
                    object_ids=(f"source:{source.id}",),
                    details={"source": source.name, "kind": source.kind, **_failure(error, message)},
                )


def _failure(error: Permanent, message: str) -> dict[str, DetailValue]:
    """Why a source failed, for its audit event: the message, except that named accounts a watch was
    missing for are recorded by digest (as watch events name them), not by handle."""
    if not isinstance(error, WatchRequired):
        return {"reason": message[:500]}
    return {
        "reason": f"no watch in force for {len(error.accounts)} named account(s)",
        "accounts_sha256": [f"{p}:{subject_digest(a)}" for p, a in error.accounts],
    }


def run_once(
    ctx: ServiceContext, source_id: int, connector: Connector, *, actor: Actor = RUNNER
) -> CollectReport:
    """Fetch one batch after the source's committed cursor and store it (errors propagate to the caller)."""
    with ctx.store.snapshot() as tx:
        source = tx.get_source(source_id)
    if source is None:
        raise NotFound(f"There is no source {source_id}; `watchfloor sources list` shows them.")
    batch = connector.fetch(source.cursor)
    return collect_batch(ctx, source, batch, actor=actor)
