"""Importing posts with media that point at the loopback server, and a fast stand-in for the enricher."""

from __future__ import annotations

import json
from pathlib import Path

from tests.media.server import image_bytes
from watchfloor.domain.actor import Actor
from watchfloor.domain.media import Enrichment, Keyframe, PostMedia
from watchfloor.pipeline.media import EnrichSettings
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.store.media_files import MediaFiles

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
ADA = Actor(name="ada", roles=frozenset({"admin"}))
FRAME_PNG = image_bytes("white", "PNG", (16, 16))
FAKE_MP4 = (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 600


def import_statuses(
    ctx: ServiceContext, folder: Path, statuses: dict[str, list[tuple[str, str]]]
) -> dict[str, int]:
    """Import Mastodon statuses ``native -> [(attachment type, url)]``; return native -> store id."""
    lines = []
    for native, attachments in statuses.items():
        status = {
            "id": native,
            "created_at": "2026-11-29T10:00:00.000Z",
            "content": f"<p>post {native}</p>",
            "uri": f"https://m.example/users/a/statuses/{native}",
            "url": f"https://m.example/@a/{native}",
            "visibility": "public",
            "account": {"id": "1", "username": "a", "acct": "a", "url": "https://m.example/@a"},
            "media_attachments": [{"type": kind, "url": url} for kind, url in attachments],
        }
        lines.append(json.dumps(status))
    path = folder / f"statuses-{len(list(folder.glob('statuses-*')))}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(ctx, actor=ANA, path=path, format_name="mastodon-status")
    ids: dict[str, int] = {}
    with ctx.store.transaction() as tx:
        for stored in tx.posts_by_keys(
            [("mastodon", f"https://m.example/users/a/statuses/{n}") for n in statuses]
        ):
            ids[stored.post.native_id.rsplit("/", 1)[1]] = stored.id
    return ids


def fake_enrich(data: bytes, media_type: str, settings: EnrichSettings) -> Enrichment:
    """What the enricher returns, without running tesseract or ffmpeg: videos get one keyframe."""
    if media_type.startswith("video/"):
        frame = Keyframe(
            at_ms=0,
            data=FRAME_PNG,
            media_type="image/png",
            width=16,
            height=16,
            ocr_text="FRAME",
            ocr_status="done",
        )
        return Enrichment(enricher="fake/1", duration_ms=1000, width=64, height=48, frames=(frame,))
    return Enrichment(
        enricher="fake/1", width=48, height=32, phash="0f0f0f0f0f0f0f0f", ocr_status="done", ocr_text=""
    )


def entries(ctx: ServiceContext, post_id: int) -> list[PostMedia]:
    with ctx.store.transaction() as tx:
        return [e for e, _ in tx.media_for_post(post_id)]


def files_of(ctx: ServiceContext) -> MediaFiles:
    assert ctx.media is not None
    return ctx.media
