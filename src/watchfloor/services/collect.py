"""Store what a live source fetched: posts, deletions, quarantine, alerts and the new cursor, together.

:func:`collect_batch` is the one place a live batch enters the store. Everything it writes commits in
ONE transaction with the source's new cursor and counters and one ``sources.collect`` audit event, so
a crash at any point either keeps the whole batch and the cursor after it, or neither: restarting
re-fetches from the old cursor and the natural key (platform, native id) turns anything already
stored into a counted duplicate. Alerts are raised only for posts new in this transaction, and an
alert's (rule, post) is unique, so a replayed batch raises none twice.

Crash points, for the kill test: when ``WATCHFLOOR_CRASHPOINT`` is set (read once, at import; unset in
production, where the checks cost one comparison) to ``NAME`` or ``NAME:N``, the process calls
``os._exit(137)`` at that point of its Nth batch (default the first). Names: ``mid_batch`` (posts
written, nothing else), ``during_alerting`` (alerts written), ``before_commit`` (cursor and event
written, not committed), ``after_commit``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

import msgspec

from watchfloor.connectors.live.contract import Batch, Connector
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, NotFound, Permanent
from watchfloor.domain.post import Deletion
from watchfloor.domain.sources import Source
from watchfloor.pipeline import prepare_batch
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.matching import NewPost, match_and_alert
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = ["RUNNER", "CollectReport", "collect_batch", "record_fetch_error", "run_once", "sources_to_run"]

RUNNER = Actor.system("runner")
CRASHPOINTS = ("mid_batch", "during_alerting", "before_commit", "after_commit")


def _crashpoint_from_env() -> tuple[str, int] | None:
    # The one environment read outside Settings: a test hook that must work in a process the test
    # cannot configure otherwise (a `watchfloor run` it is about to SIGKILL).
    value = os.environ.get("WATCHFLOOR_CRASHPOINT")
    if not value:
        return None
    name, _, nth = value.partition(":")
    if name not in CRASHPOINTS:
        raise SystemExit(f"WATCHFLOOR_CRASHPOINT={value!r}: expected one of {', '.join(CRASHPOINTS)}[:N]")
    return name, int(nth or 1)


_CRASH = _crashpoint_from_env()
_batches_seen = 0


def _crash(point: str) -> None:
    if _CRASH is not None and (point, _batches_seen) == _CRASH:
        os._exit(137)


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


def _basis_in_force(tx: StoreTx, source: Source, now: datetime) -> None:
    """Raise Permanent (the runner stops the source and says why) unless the source's basis is in force."""
    basis = tx.get_basis(source.basis_id)
    if basis is None or basis.state(now) != "active":
        state = "missing" if basis is None else basis.state(now)
        raise Permanent(
            f"legal basis {source.basis_id} of source {source.name!r} is {state}: collection stopped; "
            "move the source to a basis in force (remove and add it again with --basis) to resume"
        )


def check_source_basis(ctx: ServiceContext, source: Source) -> None:
    """Before fetching: raise Permanent if ``source``'s legal basis is no longer in force."""
    with ctx.store.snapshot() as tx:
        _basis_in_force(tx, source, ctx.clock.now())


def collect_batch(
    ctx: ServiceContext, source: Source, batch: Batch, *, actor: Actor = RUNNER
) -> CollectReport:
    """Store ``batch``, read from ``source`` after its cursor, with the cursor that follows it (see above).

    Raises :class:`Conflict` if the source's stored cursor is no longer the one the batch was read
    after (another runner collected it meanwhile): nothing is stored, and this runner should stop.
    """
    global _batches_seen
    _batches_seen += 1
    with_posts = [e for e in batch.envelopes if e.post is not None]
    removed: list[Deletion] = [*batch.deletions, *(e.deletion for e in batch.envelopes if e.deletion)]
    now = ctx.clock.now()
    prepared = prepare_batch([e.post for e in with_posts if e.post is not None], now=now)
    items = [
        msgspec.structs.replace(p, raw=e.raw, raw_format=e.format)
        for p, e in zip(prepared, with_posts, strict=True)
    ]
    by_key = {item.post.key: item.post for item in items}
    with refusals_recorded(ctx, actor=actor, action="sources.collect", object_ids=(f"source:{source.id}",)):
        authorize(actor, "sources.collect")
        with ctx.store.transaction() as tx:
            stored = tx.get_source(source.id)
            if stored is None:
                raise NotFound(f"source {source.name!r} was removed while the runner was collecting it")
            if stored.cursor != source.cursor:
                raise Conflict(
                    f"source {source.name!r}: its cursor moved under this runner (is another running?)"
                )
            _basis_in_force(tx, stored, now)
            written = tx.write_posts(items, import_id=None)
            _crash("mid_batch")
            new_posts = [
                NewPost(id=post_id, post=by_key[key], cluster_id=cluster)
                for post_id, key, cluster in zip(
                    written.inserted_ids, written.inserted_keys, written.inserted_clusters, strict=True
                )
            ]
            alerts = match_and_alert(
                tx, cache=ctx.matchers, posts=new_posts, settings=ctx.settings, now=now, actor=actor.name
            )
            _crash("during_alerting")
            tx.write_deletions(removed, seen_at=now)
            tx.write_quarantine(batch.quarantined, import_id=None, at=now)
            tx.advance_source(source.id, cursor=batch.next_cursor, posts=written.inserted, at=now)
            post_refs, post_digest = object_refs("post", written.inserted_ids)
            alert_refs, alert_digest = object_refs("alert", alerts.raised)
            record(
                tx,
                actor=actor,
                action="sources.collect",
                at=now,
                object_ids=(f"source:{source.id}", *post_refs, *alert_refs),
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
                    **post_digest,
                    **alert_digest,
                },
            )
            _crash("before_commit")
        _crash("after_commit")
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
                    details={"source": source.name, "kind": source.kind, "reason": message[:500]},
                )


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
