"""Import files: detect the format, map, enrich, store; quarantine what cannot be read.

One file is one import run. Records are processed in batches; each batch (posts, deletions and
quarantine entries together) is one transaction, so an interrupted import leaves whole batches and
re-running it stores only what is missing (the natural key makes writes idempotent).

Auditing: each batch transaction records one ``posts.import_batch`` event (counts, the new posts' ids
or their digest, the alerts that matching raised in it), and the transaction that finishes the run one
``posts.import`` event with the file's path, format and totals. The run's own row is created in the
first batch's transaction, so a batch whose event cannot be written leaves no trace at all. Never the
file's content: posts and quarantined records are named by id and counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import msgspec

from watchfloor.connectors.base import FileFormat, MapOptions
from watchfloor.connectors.files import iter_file, read_sample
from watchfloor.connectors.registry import detect_format, format_named
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import InputError
from watchfloor.domain.post import Deletion, Envelope, Quarantined
from watchfloor.pipeline import prepare_batch
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.matching import NewPost, match_and_alert
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import ImportRun, StoreTx


@dataclass
class ImportReport:
    """What an import did, for the summary the user sees."""

    run: ImportRun  # its id is 0 until the first batch (or the finish) has stored it
    alerts_raised: int = 0
    alerts_grouped: int = 0
    alerts_withheld: int = 0  # matches of named-account rules on accounts with no watch in force
    batches: int = 0
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    quarantine_samples: list[Quarantined] = field(default_factory=list)


ProgressCallback = Callable[[ImportRun], None]


def resolve_format(path: Path, format_name: str | None) -> FileFormat:
    """The format named by the user, or the one detected from the file's first bytes."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if format_name:
        return format_named(format_name)
    return detect_format(read_sample(path))


class BatchPacer:
    """Posts per import transaction: at most ``most``, and on a single-writer store (SQLite) as many as
    write in about ``hold_seconds``, judged from the batches before.

    Every console page writes its audit event, so on SQLite it waits for whatever import transaction
    holds the writer. A fixed 1,000 posts held it 100 ms on a small store and 200-400 ms on a large,
    busy one; sizing batches by time keeps that wait bounded. Small batches cost throughput (each
    commit rewrites the index pages it touched), so the size follows the measured time per post.
    """

    FIRST = 250  # posts in the first batch, before any has been timed
    FEWEST = 50

    def __init__(self, most: int, hold_seconds: float) -> None:
        self.most = most
        self.hold = hold_seconds
        self.size = most if hold_seconds <= 0 else min(most, self.FIRST)

    def held(self, records: int, seconds: float) -> None:
        """A batch of ``records`` held the writer for ``seconds``: size the next one."""
        if self.hold <= 0 or records <= 0 or seconds <= 0:
            return
        fits = self.hold / (seconds / records)
        # Halfway to the new estimate: one slow batch (a checkpoint, a busy moment) does not halve it.
        self.size = max(self.FEWEST, min(self.most, round((self.size + fits) / 2)))


BULK_BATCH_SIZE = 20_000
"""Posts per transaction in a bulk import (``watchfloor import --bulk``), unless batch_size is larger.

Each commit rewrites every index page its posts touched, and the hash-keyed indexes (near-duplicate
bands, content keys, raw payload digests) are touched all over, so larger commits write fewer pages
per post. Storing 400,000 IRA tweets in one run, µs per post: 111-114 in batches of 5,000, 99 in
10,000, 86-88 in 20,000 and 86 in 50,000 (benchmarks/README.md): 20,000 has most of the gain.
"""


def pacer_for(ctx: ServiceContext, *, bulk: bool = False) -> BatchPacer:
    """The batch pacer for imports into ``ctx``'s store (time-bounded only where writers queue).

    ``bulk`` is for a large file while nobody works in the console: fixed batches of
    ``BULK_BATCH_SIZE`` posts (or batch_size, if larger) whatever they take, so on SQLite other
    writers, console pages included, may wait seconds behind each one.
    """
    if bulk:
        return BatchPacer(max(ctx.settings.batch_size, BULK_BATCH_SIZE), 0.0)
    hold = ctx.settings.import_write_ms / 1000 if ctx.store.dialect == "sqlite" else 0.0
    return BatchPacer(ctx.settings.batch_size, hold)


def _batches(
    items: Iterable[Envelope | Quarantined], pacer: BatchPacer
) -> Iterator[list[Envelope | Quarantined]]:
    iterator = iter(items)
    while batch := list(islice(iterator, pacer.size)):
        yield batch


def import_file(
    ctx: ServiceContext,
    *,
    actor: Actor,
    path: Path,
    format_name: str | None = None,
    options: MapOptions | None = None,
    progress: ProgressCallback | None = None,
    bulk: bool = False,
) -> ImportReport:
    """Import one file into the store and return the counts; raises InputError if it cannot be read.

    ``bulk`` stores large fixed batches for speed instead of batches that hold the writer briefly
    (see :func:`pacer_for`).
    """
    details: dict[str, DetailValue] = {"path": str(path), "format": format_name}
    with refusals_recorded(ctx, actor=actor, action="posts.import", details=details) as attempt:
        authorize(actor, "posts.import")
        fmt = resolve_format(path, format_name)
        options = options or MapOptions()
        source = str(path.resolve())
        attempt.details.update(path=source, format=fmt.name)
        report = ImportReport(run=ImportRun(id=0, source=source, format=fmt.name, started_at=ctx.clock.now()))
        pacer = pacer_for(ctx, bulk=bulk)
        with ExitStack() as deferred:
            for batch in _batches(iter_file(path, fmt, options), pacer):
                if bulk and report.batches == 0:
                    # Rebuilt when this block ends, however it ends (store.bulk_indexes).
                    deferred.enter_context(ctx.store.post_indexes_deferred(estimate_records(path, batch)))
                pacer.held(len(batch), _import_batch(ctx, batch, report, actor))
                attempt.object_ids = [f"import:{report.run.id}"]
                attempt.details.update(_counts(report))
                if progress is not None:
                    progress(report.run)
        report.run.finished_at = ctx.clock.now()
        with ctx.store.transaction() as tx:
            _start_run(tx, report.run)
            tx.finish_import(report.run, at=report.run.finished_at)
            record(
                tx,
                actor=actor,
                action="posts.import",
                at=ctx.clock.now(),
                object_ids=(f"import:{report.run.id}",),
                details={"path": source, "format": fmt.name, **_counts(report)},
            )
        return report


def estimate_records(path: Path, first: Sequence[Envelope | Quarantined]) -> int:
    """About how many records ``path`` holds: its size over the mean size of the first batch's records.

    A compressed file reads as fewer records than it holds, which errs towards keeping the indexes.
    """
    sizes = [len(item.raw) + 1 for item in first if item.raw]
    if not sizes or not path.is_file():
        return len(first)
    return max(len(first), round(path.stat().st_size * len(sizes) / sum(sizes)))


def _start_run(tx: StoreTx, run: ImportRun) -> None:
    """Store the run's row, in the transaction of its first batch (or of its finish, if it had none)."""
    if run.id == 0:
        run.id = tx.start_import(source=run.source, format=run.format, at=run.started_at)


def _counts(report: ImportReport) -> dict[str, DetailValue]:
    run = report.run
    return {
        "batches": report.batches,
        "records": run.records,
        "inserted": run.inserted,
        "duplicates": run.duplicates,
        "deletions": run.deletions,
        "skipped": run.skipped,
        "quarantined": run.quarantined,
        "alerts_raised": report.alerts_raised,
        "alerts_grouped": report.alerts_grouped,
        "alerts_withheld": report.alerts_withheld,
    }


def _import_batch(
    ctx: ServiceContext, batch: Sequence[Envelope | Quarantined], report: ImportReport, actor: Actor
) -> float:
    """Store one batch, match its posts and record it; returns the seconds its transaction held the
    writer (from the lock taken to the commit)."""
    run = report.run
    envelopes = [item for item in batch if isinstance(item, Envelope)]
    bad = [item for item in batch if isinstance(item, Quarantined)]
    with_posts = [e for e in envelopes if e.post is not None]
    removed: list[Deletion] = [e.deletion for e in envelopes if e.deletion is not None]
    skipped = [e for e in envelopes if e.post is None and e.deletion is None]
    for envelope in skipped:
        report.skipped_reasons[envelope.skipped_reason or "not a post"] += 1
    now = ctx.clock.now()
    prepared = prepare_batch([e.post for e in with_posts if e.post is not None], now=now)
    items = [
        msgspec.structs.replace(p, raw=e.raw, raw_format=e.format)
        for p, e in zip(prepared, with_posts, strict=True)
    ]
    by_key = {item.post.key: item.post for item in items}
    with ctx.store.transaction() as tx:
        taken = time.perf_counter()
        _start_run(tx, run)
        written = tx.write_posts(items, import_id=run.id)
        new_posts = [
            NewPost(id=post_id, post=by_key[key], cluster_id=cluster)
            for post_id, key, cluster in zip(
                written.inserted_ids, written.inserted_keys, written.inserted_clusters, strict=True
            )
        ]
        alerts = match_and_alert(
            tx, cache=ctx.matchers, posts=new_posts, settings=ctx.settings, now=now, actor=actor.name
        )
        tx.write_deletions(removed, seen_at=now)
        tx.write_quarantine(bad, import_id=run.id, at=now)
        post_refs, post_digest = object_refs("post", written.inserted_ids)
        alert_refs, alert_digest = object_refs("alert", alerts.raised)
        record(
            tx,
            actor=actor,
            action="posts.import_batch",
            at=now,
            object_ids=(f"import:{run.id}", *post_refs, *alert_refs),
            details={
                "import_id": run.id,
                "batch": report.batches + 1,
                "records": len(batch),
                "inserted": written.inserted,
                "duplicates": written.duplicates,
                "deletions": len(removed),
                "skipped": len(skipped),
                "quarantined": len(bad),
                "alerts_raised": len(alerts.raised),
                "alerts_grouped": alerts.grouped,
                "alerts_withheld": alerts.withheld,
                **post_digest,
                **alert_digest,
            },
        )
    held = time.perf_counter() - taken
    report.batches += 1
    report.alerts_raised += len(alerts.raised)
    report.alerts_grouped += alerts.grouped
    report.alerts_withheld += alerts.withheld
    run.records += len(batch)
    run.inserted += written.inserted
    run.duplicates += written.duplicates
    run.deletions += len(removed)
    run.quarantined += len(bad)
    run.skipped += len(skipped)
    room = 20 - len(report.quarantine_samples)
    if room > 0:
        report.quarantine_samples.extend(bad[:room])
    return held


def import_files(
    ctx: ServiceContext,
    *,
    actor: Actor,
    paths: Sequence[Path],
    format_name: str | None = None,
    options: MapOptions | None = None,
    progress: ProgressCallback | None = None,
) -> list[ImportReport]:
    """Import several files in order; every file is checked readable before any is imported."""
    for path in paths:
        details: dict[str, DetailValue] = {"path": str(path), "format": format_name}
        with refusals_recorded(ctx, actor=actor, action="posts.import", details=details):
            authorize(actor, "posts.import")
            resolve_format(path, format_name)
    return [
        import_file(ctx, actor=actor, path=p, format_name=format_name, options=options, progress=progress)
        for p in paths
    ]
