"""Fetch the photos and videos stored posts reference, store them content-addressed, and enrich them.

When a post is stored, each of its image, video and GIF references becomes a ``pending`` entry in the
media queue (``store/media_sql.py``). :func:`fetch_due_media` works through the due entries: a URL
already fetched for another post is reused without a download; otherwise the file is downloaded by the
SSRF-safe fetcher (``connectors/media/fetch.py``), enriched (``pipeline/media``: hashes, OCR text,
camera EXIF, video keyframes), written to the media directory under its SHA-256, and recorded. Network
and enrichment happen outside database transactions: one short transaction claims the due entries (a
lease, so two fetchers never take the same one), one short one stores each URL's outcome.

Outcomes: ``fetched``; ``refused`` at once when policy forbids the file (private address, too large,
wrong type, a decompression bomb), reason kept; ``failed`` at once on a final answer (404, 410), or
after ``media_fetch_attempts`` attempts at a transient failure (timeouts, 5xx, 429), retried in
between with exponential backoff and jitter (1 min × 5^n, at most 6 h, at least what Retry-After
asked). Nothing is dropped silently. One ``media.fetch`` audit event per run that did anything, with
its counts (never one per file). Posts whose media all finished then get their image text and hashes
and are matched against the rules again (``services/media_rules.py``, one ``media.rematch`` event).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchfloor.config import Settings
from watchfloor.connectors.media.fetch import MB, FetchedMedia, FetchLimits, MediaFetcher, MediaRefused
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.media import Enrichment, MediaFrame, MediaObject, MediaState, PostMedia
from watchfloor.pipeline.media import EnrichSettings, MediaRejected, enrich_media
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.media_rules import apply_waiting_image_facts
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.media_files import MediaFiles

__all__ = [
    "MEDIA_FETCHER",
    "MediaRunSummary",
    "fetch_due_media",
    "fetch_limits",
    "media_files",
    "media_object",
    "retry_delay",
]

MEDIA_FETCHER = Actor.system("media-fetcher")
LEASE = timedelta(minutes=30)  # at least; a claimed entry is due again this long after its fetcher died
ENRICH_ALLOWANCE = timedelta(minutes=1)  # per URL, on top of the fetch deadline, when sizing the lease
RETRY_BASE = timedelta(minutes=1)
RETRY_FACTOR = 5
RETRY_CAP = timedelta(hours=6)

_RNG = random.Random()

Enricher = Callable[[bytes, str, EnrichSettings], Enrichment]


@dataclass
class MediaRunSummary:
    """What one run of the fetcher did; ``completed_post_ids``: posts whose media all finished."""

    claimed: int = 0
    fetched: int = 0
    reused: int = 0  # entries whose URL had been fetched before: no download
    retried: int = 0
    failed: int = 0
    refused: int = 0
    released: int = 0  # claimed but handed back unstarted because the run was asked to stop
    completed_post_ids: list[int] = field(default_factory=list)
    alerts_raised: int = 0  # by rules matched again on the completed posts' image text and hashes


def media_files(ctx: ServiceContext) -> MediaFiles:
    """The media directory, or a ConfigError saying how to set one."""
    if ctx.media is None:
        raise ConfigError(
            "no media directory is set: with a PostgreSQL database, set WATCHFLOOR_MEDIA_DIR to a folder "
            "for fetched photos and videos (e.g. /var/lib/watchfloor/media)"
        )
    return ctx.media


def fetch_limits(settings: Settings) -> FetchLimits:
    """The fetcher's limits from Settings (sizes in MB, the overall deadline per fetch)."""
    deadline = float(settings.media_fetch_timeout_seconds)
    return FetchLimits(
        max_image_bytes=settings.media_max_image_mb * MB,
        max_video_bytes=settings.media_max_video_mb * MB,
        connect_timeout=min(10.0, deadline),
        read_timeout=min(30.0, deadline),
        deadline=deadline,
    )


def retry_delay(
    attempts: int, *, retry_after: float | None = None, rng: random.Random | None = None
) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1 min × 5^(n-1), ±20 % jitter, ≤ 6 h,
    and at least the server's Retry-After."""
    growth: int = RETRY_FACTOR ** min(max(attempts - 1, 0), 10)
    base = min(RETRY_CAP, RETRY_BASE * growth)
    jitter: float = (rng or _RNG).uniform(0.8, 1.2)  # spreads retries out; not security
    return max(min(RETRY_CAP, base * jitter), timedelta(seconds=retry_after or 0.0))


def fetch_due_media(
    ctx: ServiceContext,
    *,
    actor: Actor,
    limit: int = 50,
    fetcher: MediaFetcher | None = None,
    enrich: Enricher = enrich_media,
    enrich_settings: EnrichSettings | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> MediaRunSummary:
    """Fetch, store and enrich up to ``limit`` due media entries (see the module docstring).

    ``fetcher``, ``enrich`` and ``enrich_settings`` default to what Settings say; tests pass a fetcher
    allowed to reach their loopback server. When ``should_stop`` turns true (SIGTERM in the runner),
    the entries not started yet are handed back, due at once, and the run ends.
    """
    with refusals_recorded(ctx, actor=actor, action="media.fetch"):
        authorize(actor, "media.fetch")
    files = media_files(ctx)
    now = ctx.clock.now()
    per_url = timedelta(seconds=ctx.settings.media_fetch_timeout_seconds) + ENRICH_ALLOWANCE
    with ctx.store.transaction() as tx:
        due = tx.claim_due_media(now=now, limit=limit, lease_until=now + max(LEASE, per_url * limit))
    summary = MediaRunSummary(claimed=len(due))
    if not due:
        summary.alerts_raised = len(apply_waiting_image_facts(ctx, actor=actor).raised)
        return summary
    by_url: dict[str, list[PostMedia]] = {}
    for entry in due:
        by_url.setdefault(entry.url, []).append(entry)
    run = _Run(
        ctx, files, fetcher or MediaFetcher(fetch_limits(ctx.settings)), enrich, enrich_settings, summary
    )
    try:
        for url, entries in by_url.items():
            if should_stop is not None and should_stop():
                run.release(entries)
                continue
            run.one_url(url, entries)
    finally:
        if fetcher is None:
            run.fetcher.close()
    post_ids = sorted({e.post_id for e in due})
    with ctx.store.transaction() as tx:
        pending = tx.posts_with_pending_media(post_ids)
        summary.completed_post_ids = [p for p in post_ids if p not in pending]
        refs, digest = object_refs("post", summary.completed_post_ids)
        details = {
            "claimed": summary.claimed,
            "fetched": summary.fetched,
            "reused": summary.reused,
            "retried": summary.retried,
            "failed": summary.failed,
            "refused": summary.refused,
            "released": summary.released,
            "completed_posts": len(summary.completed_post_ids),
            **digest,
        }
        record(tx, actor=actor, action="media.fetch", at=ctx.clock.now(), object_ids=refs, details=details)
    # What the images say can only match now: write it into the posts and match them again (these
    # posts, and any an earlier run finished but crashed before this step).
    summary.alerts_raised = len(apply_waiting_image_facts(ctx, actor=actor).raised)
    return summary


@dataclass
class _Run:
    ctx: ServiceContext
    files: MediaFiles
    fetcher: MediaFetcher
    enrich: Enricher
    enrich_settings: EnrichSettings | None  # built from Settings when first needed
    summary: MediaRunSummary

    def one_url(self, url: str, entries: list[PostMedia]) -> None:
        with self.ctx.store.snapshot() as tx:
            known = tx.fetched_sha_for_url(url)
        if known is not None:
            self._finish(entries, state="fetched", sha256=known, attempted=False)
            self.summary.reused += len(entries)
            return
        kind = "video" if any(e.kind in ("video", "gif") for e in entries) else entries[0].kind
        try:
            got = self.fetcher.fetch(url, kind)
            enrichment = self._enrich(got)
        except (MediaRefused, MediaRejected) as exc:
            self._finish(entries, state="refused", error=str(exc))
            self.summary.refused += len(entries)
        except Permanent as exc:
            self._finish(entries, state="failed", error=str(exc))
            self.summary.failed += len(entries)
        except Transient as exc:
            self._retry(entries, str(exc), exc.retry_after)
        else:
            self._store(entries, got, enrichment)

    def release(self, entries: list[PostMedia]) -> None:
        """Hand claimed entries back untouched, due now (the run is stopping)."""
        now = self.ctx.clock.now()
        with self.ctx.store.transaction() as tx:
            for e in entries:
                tx.set_media_outcome(
                    e.post_id,
                    e.position,
                    state="pending",
                    attempts=e.attempts,
                    at=now,
                    next_attempt_at=now,
                    error=e.last_error,
                )
        self.summary.released += len(entries)

    def _enrich(self, got: FetchedMedia) -> Enrichment:
        if self.enrich_settings is None:
            self.enrich_settings = EnrichSettings.from_settings(self.ctx.settings)
        try:
            return self.enrich(got.data, got.media_type, self.enrich_settings)
        except MediaRejected:
            raise
        except Exception as exc:  # a bug or a broken tool must cost an attempt, not stop the whole queue
            raise Transient(f"enriching {got.media_type} failed: {type(exc).__name__}: {exc}") from exc

    def _retry(self, entries: list[PostMedia], error: str, retry_after: float | None) -> None:
        now = self.ctx.clock.now()
        limit = self.ctx.settings.media_fetch_attempts
        with self.ctx.store.transaction() as tx:
            for e in entries:
                attempts = e.attempts + 1
                if attempts >= limit:
                    reason = f"gave up after {attempts} attempts: {error}"
                    tx.set_media_outcome(
                        e.post_id, e.position, state="failed", attempts=attempts, at=now, error=reason
                    )
                    self.summary.failed += 1
                    continue
                tx.set_media_outcome(
                    e.post_id,
                    e.position,
                    state="pending",
                    attempts=attempts,
                    at=now,
                    next_attempt_at=now + retry_delay(attempts, retry_after=retry_after),
                    error=error,
                )
                self.summary.retried += 1

    def _finish(
        self,
        entries: list[PostMedia],
        *,
        state: MediaState,
        error: str | None = None,
        sha256: str | None = None,
        attempted: bool = True,
    ) -> None:
        now = self.ctx.clock.now()
        with self.ctx.store.transaction() as tx:
            for e in entries:
                tx.set_media_outcome(
                    e.post_id,
                    e.position,
                    state=state,
                    attempts=e.attempts + (1 if attempted else 0),
                    at=now,
                    error=error,
                    sha256=sha256,
                )

    def _store(self, entries: list[PostMedia], got: FetchedMedia, enrichment: Enrichment) -> None:
        now = self.ctx.clock.now()
        sha256 = self.files.put(got.data)
        obj = media_object(sha256, got.size, got.media_type, enrichment, now)
        frames: list[MediaFrame] = []
        frame_objects: list[MediaObject] = []
        for index, keyframe in enumerate(enrichment.frames):
            frame_sha = self.files.put(keyframe.data)
            frame_objects.append(
                MediaObject(
                    sha256=frame_sha,
                    size=len(keyframe.data),
                    media_type=keyframe.media_type,
                    stored_at=now,
                    width=keyframe.width,
                    height=keyframe.height,
                    phash=keyframe.phash,
                    pdq=keyframe.pdq,
                    pdq_quality=keyframe.pdq_quality,
                    regions=keyframe.regions,
                    ocr_text=keyframe.ocr_text,
                    ocr_status=keyframe.ocr_status,
                    enriched_at=now,
                )
            )
            frames.append(
                MediaFrame(video_sha256=sha256, index=index, at_ms=keyframe.at_ms, frame_sha256=frame_sha)
            )
        with self.ctx.store.transaction() as tx:
            live = [e for e in entries if tx.media_entry_exists(e.post_id, e.position)]
            if live:  # else every post purged meanwhile: store nothing
                for frame_obj in frame_objects:
                    tx.put_media_object(frame_obj)
                tx.put_media_object(obj)
                tx.put_media_frames(frames)
                for e in live:
                    tx.set_media_outcome(
                        e.post_id, e.position, state="fetched", attempts=e.attempts + 1, at=now, sha256=sha256
                    )
        if not live:
            with self.ctx.store.snapshot() as tx:
                for sha in {sha256, *(f.frame_sha256 for f in frames)}:
                    if tx.get_media_object(sha) is None:
                        self.files.delete(sha)
        self.summary.fetched += len(live)


def media_object(
    sha256: str, size: int, media_type: str, enrichment: Enrichment, now: datetime
) -> MediaObject:
    """The stored record of a file from what the enricher read (hashes, text, camera, notes)."""
    return MediaObject(
        sha256=sha256,
        size=size,
        media_type=media_type,
        stored_at=now,
        width=enrichment.width,
        height=enrichment.height,
        duration_ms=enrichment.duration_ms,
        phash=enrichment.phash,
        pdq=enrichment.pdq,
        pdq_quality=enrichment.pdq_quality,
        regions=enrichment.regions,
        ocr_text=enrichment.ocr_text,
        ocr_status=enrichment.ocr_status,
        camera=enrichment.camera,
        notes=enrichment.notes,
        enriched_at=now,
    )
