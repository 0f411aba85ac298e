"""What the console shows of a post's photos and videos: their fetch state, thumbnails, image matches.

Media are never hot-linked from the platform: the console shows the copy the fetcher stored, served by
:func:`post_media_file` under the same rule as the post itself (``posts.view`` under a legal basis in
force, one ``media.view`` audit event naming the post and the file's SHA-256), and only a file that
belongs to that post. "Why this alert" for an ``imagehash:~list`` rule names the list image the post's
picture resembled and how many bits apart their hashes were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import NotFound
from watchfloor.domain.media import ImageMatch, hash_distance, match_distance
from watchfloor.domain.post import Post
from watchfloor.query.ast import Field, walk
from watchfloor.query.parser import parse_query
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = ["MediaFile", "ShownMedia", "image_matches", "post_media_file", "shown_media"]


@dataclass(frozen=True)
class ShownMedia:
    """One media reference of a post as the console lists it."""

    position: int
    kind: str
    url: str
    state: str  # pending | fetched | failed | refused
    last_error: str | None
    sha256: str | None = None
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    ocr_status: str | None = None
    frames: list[str] = field(default_factory=list)  # keyframe SHA-256s of a video, in time order
    notes: tuple[str, ...] = ()  # what enrichment could not do ("OCR unavailable: ..."), keyframes included

    @property
    def thumbnail(self) -> str | None:
        """The stored image to show for it: the image itself, or a video's first keyframe."""
        if self.media_type and self.media_type.startswith("image/"):
            return self.sha256
        return self.frames[0] if self.frames else None


@dataclass(frozen=True)
class MediaFile:
    """A stored file to send to the browser."""

    sha256: str
    media_type: str
    data: bytes


def shown_media(tx: StoreTx, post_id: int) -> list[ShownMedia]:
    """The post's media references with what was fetched (empty when it has none)."""
    shown = []
    for entry, obj in tx.media_for_post(post_id):
        base = ShownMedia(position=entry.position, kind=entry.kind, url=entry.url, state=entry.state,
                          last_error=entry.last_error)  # fmt: skip
        if obj is None:
            shown.append(base)
            continue
        frames = [f.frame_sha256 for f in tx.frames_of(obj.sha256)] if obj.is_video else []
        shown.append(
            replace(base, sha256=obj.sha256, media_type=obj.media_type, width=obj.width, height=obj.height,
                    duration_ms=obj.duration_ms, ocr_status=obj.ocr_status, frames=frames,
                    notes=obj.notes)
        )  # fmt: skip
    return shown


def image_matches(tx: StoreTx, post: Post, query: str) -> list[ImageMatch]:
    """For each ``imagehash:~list`` in a rule query, the list image nearest to one of the post's images.

    Every hash of the post (whole image and regions) is compared with every hash of each list image,
    as the rule did; the nearest pair within the match distance is the one reported — nearest relative
    to its algorithm's limit (PDQ 20 of 31 bits is nearer than pHash 6 of 8), PDQ first on a tie.
    """
    names = {
        node.value[1:]
        for node in walk(parse_query(query, allow_regex=True, allow_lists=True).root)
        if isinstance(node, Field) and node.name == "imagehash"
    }
    found: list[ImageMatch] = []
    for name in sorted(names):
        known = tx.image_list_named(name)
        if known is None or not post.image_hashes:
            continue
        best: tuple[float, int, ImageMatch] | None = None
        for item in tx.image_list_items(known.id):
            for tagged in item.tagged_hashes:
                limit = match_distance(tagged)
                for mine in post.image_hashes:
                    distance = hash_distance(mine, tagged)
                    if distance is None or distance > limit:
                        continue
                    pdq = tagged.startswith("pdq:")
                    key = (distance / limit, 0 if pdq else 1)
                    if best is None or key < best[:2]:
                        algorithm: Literal["pdq", "phash"] = "pdq" if pdq else "phash"
                        match = ImageMatch(list_name=name, item_id=item.id, label=item.label,
                                           algorithm=algorithm, distance=distance)  # fmt: skip
                        best = (*key, match)
        if best is not None:
            found.append(best[2])
    return found


def _belongs(tx: StoreTx, post_id: int, sha256: str) -> str | None:
    """The stored media type of ``sha256`` if it is one of the post's files or keyframes."""
    for _entry, obj in tx.media_for_post(post_id):
        if obj is None:
            continue
        if obj.sha256 == sha256:
            return obj.media_type
        if obj.is_video and any(f.frame_sha256 == sha256 for f in tx.frames_of(obj.sha256)):
            frame = tx.get_media_object(sha256)
            return frame.media_type if frame is not None else None
    return None


def post_media_file(
    ctx: ServiceContext, *, actor: Actor, post_id: int, sha256: str, basis_id: int | None
) -> MediaFile:
    """The stored bytes of one of post ``post_id``'s photos, videos or keyframes, under a legal basis."""
    refs = [f"post:{post_id}", f"media:{sha256[:64]}"]
    with (
        refusals_recorded(ctx, actor=actor, action="media.view", object_ids=refs, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.view")
        basis = require_basis(tx, basis_id, now=ctx.clock.now(), doing="viewing a post's media")
        media_type = _belongs(tx, post_id, sha256)
        if media_type is None or ctx.media is None or not ctx.media.exists(sha256):
            raise NotFound(f"post {post_id} has no stored media file {sha256[:16]}…")
        data = ctx.media.read(sha256)
        record(tx, actor=actor, action="media.view", at=ctx.clock.now(), object_ids=refs, basis_id=basis.id,
               details={"bytes": len(data), "media_type": media_type})  # fmt: skip
    return MediaFile(sha256=sha256, media_type=media_type, data=data)
