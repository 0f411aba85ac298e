"""What the media fetcher has done, and one stored file: `watchfloor media status` and `media show`.

Both are reads of post-derived data (a file's OCR text is post content), so both need ``media.read``
and record an audit event (``media.status``, ``media.show``), like every other read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.domain.media import MediaFrame, MediaObject, PostMedia
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import MediaCounts

__all__ = ["MediaDetails", "MediaStatus", "media_status", "show_media"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class MediaStatus:
    """The queue's counts, the newest failures and refusals, and the media directory's size."""

    counts: MediaCounts
    failures: list[PostMedia]
    media_dir: Path | None
    files: int
    bytes_on_disk: int


@dataclass
class MediaDetails:
    """One stored file: what was read from it, its keyframes (videos), and where it lives."""

    obj: MediaObject
    frames: list[tuple[MediaFrame, MediaObject | None]]
    path: Path | None
    on_disk: bool


def media_status(ctx: ServiceContext, *, actor: Actor, failures: int = 10) -> MediaStatus:
    """Counts per state, the newest ``failures`` failed/refused/retrying entries, and disk usage."""
    with refusals_recorded(ctx, actor=actor, action="media.status"):
        authorize(actor, "media.read")
        with ctx.store.transaction() as tx:
            counts = tx.media_counts()
            recent = tx.recent_media_failures(limit=failures)
            record(
                tx,
                actor=actor,
                action="media.status",
                at=ctx.clock.now(),
                details={"failures_shown": len(recent)},
            )
    files, size = ctx.media.usage() if ctx.media is not None else (0, 0)
    return MediaStatus(
        counts=counts,
        failures=recent,
        media_dir=ctx.media.root if ctx.media is not None else None,
        files=files,
        bytes_on_disk=size,
    )


def show_media(ctx: ServiceContext, *, actor: Actor, sha256: str) -> MediaDetails:
    """One stored file's metadata, hashes, OCR text, camera information and keyframes."""
    sha256 = sha256.strip().lower()
    if not _SHA256.fullmatch(sha256):
        raise InputError(
            f"{sha256[:80]!r} is not a SHA-256: expected 64 hex digits (see `watchfloor media status`)"
        )
    with refusals_recorded(ctx, actor=actor, action="media.show", object_ids=(f"media:{sha256[:64]}",)):
        authorize(actor, "media.read")
        with ctx.store.transaction() as tx:
            obj = tx.get_media_object(sha256)
            if obj is None:
                raise NotFound(f"no stored media file has SHA-256 {sha256}")
            frames = [(f, tx.get_media_object(f.frame_sha256)) for f in tx.frames_of(sha256)]
            record(tx, actor=actor, action="media.show", at=ctx.clock.now(), object_ids=(f"media:{sha256}",))
    path = ctx.media.path(sha256) if ctx.media is not None else None
    return MediaDetails(obj=obj, frames=frames, path=path, on_disk=path is not None and path.is_file())
