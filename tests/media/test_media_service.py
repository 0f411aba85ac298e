"""The media fetcher service end to end: posts imported with media on the loopback server, fetched, stored."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.media.conftest import TEST_LIMITS
from tests.media.helpers import FAKE_MP4, FRAME_PNG, entries, fake_enrich, files_of, import_statuses
from tests.media.server import MediaServer
from watchfloor.config import Settings
from watchfloor.connectors.media.fetch import MediaFetcher
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError
from watchfloor.domain.media import Enrichment
from watchfloor.pipeline.media import EnrichSettings, MediaRejected
from watchfloor.services.context import ServiceContext
from watchfloor.services.media import MEDIA_FETCHER, Enricher, MediaRunSummary, fetch_due_media, retry_delay
from watchfloor.wiring import build_context, media_root

SETTINGS = EnrichSettings()


def _run(ctx: ServiceContext, fetcher: MediaFetcher, enrich: Enricher = fake_enrich) -> MediaRunSummary:
    return fetch_due_media(ctx, actor=MEDIA_FETCHER, fetcher=fetcher, enrich=enrich, enrich_settings=SETTINGS)


def test_fetches_stores_and_records_every_outcome(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    media_server.files["/fake.mp4"] = ("video/mp4", FAKE_MP4)
    url = media_server.url
    ids = import_statuses(
        media_ctx,
        tmp_path,
        {
            "1": [("image", url("/red.png")), ("image", url("/html-as-jpeg")), ("video", url("/fake.mp4"))],
            "2": [("image", url("/red.png"))],
            "3": [("image", url("/flaky"))],
            "4": [("image", url("/gone"))],
            "5": [("image", url("/redirect?to=http://10.0.0.1/x.jpg"))],
            "6": [("image", url("/big-declared"))],
        },
    )
    now = media_ctx.clock.now()
    summary = _run(media_ctx, fetcher)
    assert (summary.claimed, summary.fetched, summary.reused) == (8, 3, 0)
    assert (summary.retried, summary.failed, summary.refused) == (1, 1, 3)
    assert summary.completed_post_ids == sorted(ids[n] for n in ("1", "2", "4", "5", "6"))
    assert media_server.hits("/red.png") == 1  # one URL, one download, two posts

    red = media_server.files["/red.png"][1]
    red_sha = hashlib.sha256(red).hexdigest()
    root = files_of(media_ctx).root
    assert (root / red_sha[:2] / red_sha[2:4] / red_sha).read_bytes() == red

    first = entries(media_ctx, ids["1"])
    assert [e.state for e in first] == ["fetched", "refused", "fetched"]
    assert first[0].sha256 == red_sha and first[0].attempts == 1
    assert "is text/html, not an allowed media type (the server said image/jpeg)" in (
        first[1].last_error or ""
    )
    assert entries(media_ctx, ids["2"])[0].sha256 == red_sha
    (gone,) = entries(media_ctx, ids["4"])
    assert gone.state == "failed" and "HTTP 404" in (gone.last_error or "")
    (private,) = entries(media_ctx, ids["5"])
    assert private.state == "refused" and "resolves to 10.0.0.1, a private address" in (
        private.last_error or ""
    )
    (big,) = entries(media_ctx, ids["6"])
    assert big.state == "refused" and "Content-Length" in (big.last_error or "")
    (flaky,) = entries(media_ctx, ids["3"])
    assert (
        flaky.state == "pending"
        and flaky.attempts == 1
        and flaky.last_error
        and "HTTP 500" in flaky.last_error
    )
    assert flaky.next_attempt_at is not None
    assert now + timedelta(seconds=47) <= flaky.next_attempt_at <= now + timedelta(seconds=73)

    video_sha = first[2].sha256
    assert video_sha == hashlib.sha256(FAKE_MP4).hexdigest()
    with media_ctx.store.transaction() as tx:
        video = tx.get_media_object(video_sha)
        (frame,) = tx.frames_of(video_sha)
        frame_obj = tx.get_media_object(frame.frame_sha256)
        (event,) = tx.audit_events(actor="media-fetcher", action="media.fetch", limit=5)
    assert video is not None and video.media_type == "video/mp4" and video.duration_ms == 1000
    assert frame_obj is not None and frame_obj.ocr_text == "FRAME" and frame_obj.media_type == "image/png"
    assert files_of(media_ctx).read(frame.frame_sha256) == FRAME_PNG
    assert (
        event.details["fetched"] == 3
        and event.details["refused"] == 3
        and event.details["completed_posts"] == 5
    )

    # Nothing is due until the flaky entry's backoff ends; then it succeeds and its post completes.
    assert _run(media_ctx, fetcher).claimed == 0
    assert isinstance(media_ctx.clock, FrozenClock)
    media_ctx.clock.advance(timedelta(minutes=2))
    again = _run(media_ctx, fetcher)
    assert (again.fetched, again.completed_post_ids) == (1, [ids["3"]])
    assert entries(media_ctx, ids["3"])[0].attempts == 2

    # A later post with a URL fetched before reuses the stored file: no download.
    later = import_statuses(media_ctx, tmp_path, {"7": [("image", url("/red.png"))]})
    reused = _run(media_ctx, fetcher)
    assert (reused.reused, reused.fetched, reused.completed_post_ids) == (1, 0, [later["7"]])
    assert entries(media_ctx, later["7"])[0].sha256 == red_sha
    assert media_server.hits("/red.png") == 1


def test_gives_up_after_the_configured_attempts(
    tmp_path: Path, media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    settings = Settings(database_url=str(tmp_path / "t.db"), media_fetch_attempts=3)
    ctx = build_context(settings, clock=clock)
    try:
        ids = import_statuses(ctx, tmp_path, {"1": [("image", media_server.url("/always-500"))]})
        waits = []
        for _ in range(3):
            started = clock.now()
            _run(ctx, fetcher)
            (entry,) = entries(ctx, ids["1"])
            if entry.next_attempt_at is not None:
                waits.append(entry.next_attempt_at - started)
            clock.advance(timedelta(hours=7))
        assert entry.state == "failed" and entry.attempts == 3
        assert entry.last_error is not None and entry.last_error.startswith("gave up after 3 attempts: ")
        assert "HTTP 500" in entry.last_error
        assert timedelta(seconds=48) <= waits[0] <= timedelta(seconds=72)
        assert timedelta(minutes=4) <= waits[1] <= timedelta(minutes=6)
        assert media_server.hits("/always-500") == 3
        assert _run(ctx, fetcher).claimed == 0  # failed is final
    finally:
        ctx.store.close()


def test_retry_after_is_honoured(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    ids = import_statuses(media_ctx, tmp_path, {"1": [("image", media_server.url("/busy"))]})
    _run(media_ctx, fetcher)
    (entry,) = entries(media_ctx, ids["1"])
    assert entry.state == "pending" and entry.next_attempt_at is not None
    assert entry.next_attempt_at - media_ctx.clock.now() >= timedelta(seconds=600)


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(7)
    minutes = [retry_delay(n, rng=rng).total_seconds() / 60 for n in range(1, 8)]
    for got, base in zip(minutes, [1, 5, 25, 125, 360, 360, 360], strict=True):
        assert base * 0.8 <= got <= min(base * 1.2, 360)


def test_a_rejected_file_is_refused_and_not_kept(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    def bomb(data: bytes, media_type: str, settings: EnrichSettings) -> Enrichment:
        raise MediaRejected(
            "refused: the image declares 400 megapixels (more than 50): a decompression bomb?"
        )

    ids = import_statuses(media_ctx, tmp_path, {"1": [("image", media_server.url("/red.png"))]})
    summary = _run(media_ctx, fetcher, enrich=bomb)
    (entry,) = entries(media_ctx, ids["1"])
    assert (
        summary.refused == 1 and entry.state == "refused" and "decompression bomb" in (entry.last_error or "")
    )
    assert files_of(media_ctx).usage() == (0, 0)


def test_an_enricher_crash_costs_an_attempt_not_the_queue(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    def broken(data: bytes, media_type: str, settings: EnrichSettings) -> Enrichment:
        raise RuntimeError("boom")

    ids = import_statuses(
        media_ctx,
        tmp_path,
        {"1": [("image", media_server.url("/red.png")), ("image", media_server.url("/blue.jpg"))]},
    )
    summary = _run(media_ctx, fetcher, enrich=broken)
    assert summary.retried == 2
    assert all(
        "enriching image/" in (e.last_error or "") and "RuntimeError: boom" in (e.last_error or "")
        for e in entries(media_ctx, ids["1"])
    )


def test_without_a_media_directory_fetching_is_a_config_error(media_ctx: ServiceContext) -> None:
    with pytest.raises(ConfigError, match="WATCHFLOOR_MEDIA_DIR"):
        fetch_due_media(replace(media_ctx, media=None), actor=MEDIA_FETCHER)


def test_media_directory_defaults(tmp_path: Path) -> None:
    assert media_root(Settings(database_url=str(tmp_path / "floor.db"))) == tmp_path / "floor.db.media"
    assert media_root(Settings(database_url="postgresql://u@h/db")) is None
    assert (
        media_root(Settings(database_url="postgresql://u@h/db", media_dir=str(tmp_path / "m")))
        == tmp_path / "m"
    )


def test_real_enricher_end_to_end(
    tmp_path: Path, media_server: MediaServer, fetcher: MediaFetcher, mp4: bytes | None
) -> None:
    """The real enricher (Pillow, pHash, PDQ, ffmpeg keyframes; OCR if tesseract is there) on real files."""
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    ctx = build_context(Settings(database_url=str(tmp_path / "t.db")), clock=clock)
    try:
        attachments = [("image", media_server.url("/blue.jpg"))]
        if mp4 is not None:
            attachments.append(("video", media_server.url("/clip.mp4")))
        ids = import_statuses(ctx, tmp_path, {"1": attachments})
        summary = fetch_due_media(ctx, actor=MEDIA_FETCHER, fetcher=fetcher)  # enrichment as Settings say
        assert summary.fetched == len(attachments) and summary.completed_post_ids == [ids["1"]]
        with ctx.store.transaction() as tx:
            found = tx.media_for_post(ids["1"])
            image = found[0][1]
            assert image is not None and (image.width, image.height) == (48, 32) and image.phash
            if mp4 is not None:
                video = found[1][1]
                assert video is not None and video.is_video and video.duration_ms
                frames = tx.frames_of(video.sha256)
                assert frames and all(files_of(ctx).exists(f.frame_sha256) for f in frames)
                assert all(tx.get_media_object(f.frame_sha256) is not None for f in frames)
    finally:
        ctx.store.close()


def test_limits_follow_the_settings() -> None:
    from watchfloor.services.media import fetch_limits

    limits = fetch_limits(
        Settings(media_max_image_mb=3, media_max_video_mb=40, media_fetch_timeout_seconds=15)
    )
    assert (limits.max_image_bytes, limits.max_video_bytes, limits.deadline) == (3_000_000, 40_000_000, 15.0)
    assert limits.allow_loopback is False and TEST_LIMITS.allow_loopback is True
