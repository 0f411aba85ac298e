"""Retention removes media files no remaining post uses, after the purge commits; a dry run removes none."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from tests.media.helpers import ADA, fake_enrich, files_of, import_statuses
from tests.media.server import MediaServer
from watchfloor.connectors.media.fetch import MediaFetcher
from watchfloor.domain.clock import FrozenClock
from watchfloor.pipeline.media import EnrichSettings
from watchfloor.services.context import ServiceContext
from watchfloor.services.media import MEDIA_FETCHER, fetch_due_media
from watchfloor.services.retention import purge


def _fetch(ctx: ServiceContext, fetcher: MediaFetcher) -> None:
    fetch_due_media(
        ctx, actor=MEDIA_FETCHER, fetcher=fetcher, enrich=fake_enrich, enrich_settings=EnrichSettings()
    )


def test_purge_deletes_unreferenced_media_files(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    clock = media_ctx.clock
    assert isinstance(clock, FrozenClock)
    url = media_server.url
    old = import_statuses(
        media_ctx, tmp_path, {"1": [("image", url("/red.png")), ("image", url("/blue.jpg"))]}
    )
    _fetch(media_ctx, fetcher)
    clock.advance(timedelta(days=20))
    newer = import_statuses(media_ctx, tmp_path, {"2": [("image", url("/red.png"))]})  # reuses red's file
    _fetch(media_ctx, fetcher)
    files = files_of(media_ctx)
    red = hashlib.sha256(media_server.files["/red.png"][1]).hexdigest()
    blue = hashlib.sha256(media_server.files["/blue.jpg"][1]).hexdigest()
    assert files.exists(red) and files.exists(blue)

    clock.advance(timedelta(days=11))  # day 31: post 1 expires, post 2 (day 20) does not
    preview = purge(media_ctx, actor=ADA, dry_run=True)
    assert preview.media_sha256s == [blue] and files.exists(blue)  # a dry run deletes nothing
    result = purge(media_ctx, actor=ADA)
    assert result.post_ids == [old["1"]] and result.media_sha256s == [blue]
    assert not files.exists(blue) and files.exists(red)  # red is still used by post 2
    with media_ctx.store.transaction() as tx:
        assert tx.get_media_object(blue) is None and tx.get_media_object(red) is not None
        assert tx.media_for_post(old["1"]) == []
        (event,) = tx.audit_events(action="retention.purge", limit=1)
    assert event.details["media_files"] == 1

    clock.advance(timedelta(days=20))  # day 51: post 2 expires too
    result = purge(media_ctx, actor=ADA)
    assert result.post_ids == [newer["2"]] and result.media_sha256s == [red]
    assert not files.exists(red) and files.usage() == (0, 0)
    with media_ctx.store.transaction() as tx:
        assert tx.media_counts().objects == 0
