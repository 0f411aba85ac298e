"""Media in SQL: the fetch queue (``post_media``), stored files (``media_objects``) and video keyframes.

Queueing: when :meth:`SqlTx.write_posts` inserts new posts it calls :func:`queue_post_media`, which
adds one ``pending`` entry per image, video or GIF reference (its ``url``, or a video's ``preview_url``
when it has no file URL), at the reference's index in ``Post.media``. A pending entry's
``next_attempt_us`` is when it may next be tried (at first, when the post was collected), so the due
entries come off the ``(state, next_attempt_us)`` index oldest first. A fetcher claims due entries by
moving ``next_attempt_us`` past a lease in one conditional UPDATE, so two fetchers never take the same
entry, and an entry whose fetcher died is due again when the lease ends.

Retention: :func:`purge_post_media` deletes the entries of purged posts and then every media object
(with its keyframes) that no entry, no evidence part, no known-image list item and no remaining video
still uses; it returns their hashes so the service can delete the files once the purge has committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Row, and_, delete, func, select, tuple_, update

from watchfloor.domain.media import (
    FETCHABLE_KINDS,
    CameraInfo,
    Enrichment,
    MediaFrame,
    MediaObject,
    MediaState,
    PostMedia,
    RegionHash,
)
from watchfloor.domain.post import Post
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import MediaCounts
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import (
    evidence_parts,
    image_list_items,
    media_frames,
    media_objects,
    post_media,
)

__all__ = ["MediaSql", "decode_regions", "encode_regions", "purge_post_media", "queue_post_media"]

_CHUNK = 1_000
_ERROR_CLIP = 1_000  # characters of an error message kept on an entry
_QUEUE_COLUMNS = ("post_id", "position", "kind", "url", "state", "attempts", "next_attempt_us", "updated_us")


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def queue_post_media(conn: Connection, dialect: Dialect, new_posts: Iterable[tuple[int, Post]]) -> None:
    """Add a pending fetch entry per fetchable media reference of newly stored ``(post id, post)``."""
    queued: list[tuple[Any, ...]] = []
    for post_id, post in new_posts:
        if not post.media:
            continue
        at_us = to_micros(post.collected_at or post.created_at)
        for position, ref in enumerate(post.media):
            url = ref.url or (ref.preview_url if ref.kind == "video" else None)
            if ref.kind in FETCHABLE_KINDS and url:
                queued.append((post_id, position, ref.kind, url, "pending", 0, at_us, at_us))
    dialect.insert_ignore(conn, "post_media", _QUEUE_COLUMNS, queued)


def _entry(row: Row[Any]) -> PostMedia:
    m = row._mapping
    return PostMedia(
        post_id=int(m["post_id"]),
        position=int(m["position"]),
        kind=m["kind"],
        url=m["url"],
        state=m["state"],
        attempts=int(m["attempts"]),
        next_attempt_at=from_micros(m["next_attempt_us"]),
        last_error=m["last_error"],
        sha256=m["sha256"],
        updated_at=instant(int(m["updated_us"])),
    )


def encode_regions(regions: Sequence[RegionHash]) -> str | None:
    """Region hashes as the JSON text stored in ``region_hashes`` columns (NULL when there are none)."""
    return msgspec.json.encode(tuple(regions)).decode() if regions else None


def decode_regions(text: str | None) -> tuple[RegionHash, ...]:
    return msgspec.json.decode(text, type=tuple[RegionHash, ...]) if text else ()


def _notes(notes: Sequence[str]) -> str | None:
    return msgspec.json.encode(tuple(notes)).decode() if notes else None


def _object(m: Any) -> MediaObject:
    camera, notes = m["camera"], m["notes"]
    return MediaObject(
        sha256=m["sha256"],
        size=int(m["size"]),
        media_type=m["media_type"],
        stored_at=instant(int(m["stored_us"])),
        width=m["width"],
        height=m["height"],
        duration_ms=m["duration_ms"],
        phash=m["phash"],
        pdq=m["pdq"],
        pdq_quality=m["pdq_quality"],
        ocr_text=m["ocr_text"],
        ocr_status=m["ocr_status"],
        camera=msgspec.json.decode(camera, type=CameraInfo) if camera else None,
        enriched_at=from_micros(m["enriched_us"]),
        regions=decode_regions(m["region_hashes"]),
        notes=msgspec.json.decode(notes, type=tuple[str, ...]) if notes else (),
    )


def _enrichment_values(enrichment: Enrichment) -> dict[str, Any]:
    camera = enrichment.camera
    return {
        "width": enrichment.width,
        "height": enrichment.height,
        "duration_ms": enrichment.duration_ms,
        "phash": enrichment.phash,
        "pdq": enrichment.pdq,
        "pdq_quality": enrichment.pdq_quality,
        "ocr_text": enrichment.ocr_text,
        "ocr_status": enrichment.ocr_status,
        "camera": msgspec.json.encode(camera).decode() if camera is not None else None,
        "region_hashes": encode_regions(enrichment.regions),
        "notes": _notes(enrichment.notes),
    }


def _object_values(obj: MediaObject) -> dict[str, Any]:
    return {
        "sha256": obj.sha256,
        "size": obj.size,
        "media_type": obj.media_type,
        "width": obj.width,
        "height": obj.height,
        "duration_ms": obj.duration_ms,
        "phash": obj.phash,
        "pdq": obj.pdq,
        "pdq_quality": obj.pdq_quality,
        "ocr_text": obj.ocr_text,
        "ocr_status": obj.ocr_status,
        "camera": msgspec.json.encode(obj.camera).decode() if obj.camera is not None else None,
        "stored_us": to_micros(obj.stored_at),
        "enriched_us": to_micros(obj.enriched_at) if obj.enriched_at else None,
        "region_hashes": encode_regions(obj.regions),
        "notes": _notes(obj.notes),
    }


def _used(conn: Connection, shas: Sequence[str]) -> set[str]:
    """Which of ``shas`` a queue entry, an evidence part, a known-image list item or a keyframe uses."""
    used: set[str] = set()
    for chunk in _chunks(shas):
        for column in (
            post_media.c.sha256,
            evidence_parts.c.sha256,
            image_list_items.c.sha256,
            media_frames.c.frame_sha256,
        ):
            used.update(conn.execute(select(column).where(column.in_(chunk)).distinct()).scalars())
    return used


def purge_post_media(conn: Connection, post_ids: Sequence[int]) -> list[str]:
    """Delete the queue entries of ``post_ids`` and the media objects nothing uses any more (see the
    module docstring); return the hashes of the deleted objects, whose files the caller removes."""
    candidates: set[str] = set()
    for chunk in _chunks(post_ids):
        candidates.update(
            conn.execute(
                select(post_media.c.sha256)
                .where(post_media.c.post_id.in_(chunk), post_media.c.sha256.is_not(None))
                .distinct()
            ).scalars()
        )
        conn.execute(delete(post_media).where(post_media.c.post_id.in_(chunk)))
    unused = sorted(candidates - _used(conn, sorted(candidates)))
    frames: set[str] = set()
    for chunk in _chunks(unused):  # a dropped video's keyframes go with it, unless something else uses them
        frames.update(
            conn.execute(select(media_frames.c.frame_sha256).where(media_frames.c.video_sha256.in_(chunk)))
            .scalars()
            .all()
        )
        conn.execute(delete(media_frames).where(media_frames.c.video_sha256.in_(chunk)))
    frames -= set(unused)
    dropped = sorted({*unused, *(frames - _used(conn, sorted(frames)))})
    for chunk in _chunks(dropped):
        conn.execute(delete(media_objects).where(media_objects.c.sha256.in_(chunk)))
    return dropped


class MediaSql:
    """The media queue and stored media objects, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    # -- the queue ------------------------------------------------------------------------------------

    def claim_due_media(self, *, now: datetime, limit: int, lease_until: datetime) -> list[PostMedia]:
        """Take up to ``limit`` due pending entries, oldest first, for this fetcher until ``lease_until``."""
        now_us = to_micros(now)
        due = and_(post_media.c.state == "pending", post_media.c.next_attempt_us <= now_us)
        keys = self.conn.execute(
            select(post_media.c.post_id, post_media.c.position)
            .where(due)
            .order_by(post_media.c.next_attempt_us, post_media.c.post_id, post_media.c.position)
            .limit(limit)
        ).all()
        if not keys:
            return []
        claimed = self.conn.execute(
            update(post_media)
            .where(tuple_(post_media.c.post_id, post_media.c.position).in_([tuple(k) for k in keys]), due)
            .values(next_attempt_us=to_micros(lease_until))
            .returning(*post_media.c)
        ).all()
        return sorted((_entry(r) for r in claimed), key=lambda e: (e.next_attempt_at, e.post_id, e.position))

    def set_media_outcome(
        self,
        post_id: int,
        position: int,
        *,
        state: MediaState,
        attempts: int,
        at: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        sha256: str | None = None,
    ) -> bool:
        """Record where an entry stands after an attempt; False if the entry is gone (its post purged)."""
        if state == "pending" and next_attempt_at is None:
            raise ValueError("a pending entry needs next_attempt_at")
        result = self.conn.execute(
            update(post_media)
            .where(post_media.c.post_id == post_id, post_media.c.position == position)
            .values(
                state=state,
                attempts=attempts,
                next_attempt_us=to_micros(next_attempt_at)
                if state == "pending" and next_attempt_at
                else None,
                last_error=error[:_ERROR_CLIP] if error else None,
                sha256=sha256,
                updated_us=to_micros(at),
            )
        )
        return bool(result.rowcount)

    def media_entry_exists(self, post_id: int, position: int) -> bool:
        found = self.conn.execute(
            select(post_media.c.post_id).where(
                post_media.c.post_id == post_id, post_media.c.position == position
            )
        ).first()
        return found is not None

    def fetched_sha_for_url(self, url: str) -> str | None:
        """The stored file of any entry already fetched from exactly this URL (fetch each URL once)."""
        return self.conn.execute(
            select(post_media.c.sha256)
            .where(post_media.c.url == url, post_media.c.state == "fetched", post_media.c.sha256.is_not(None))
            .limit(1)
        ).scalar()

    def media_for_posts(
        self, post_ids: Sequence[int]
    ) -> dict[int, list[tuple[PostMedia, MediaObject | None]]]:
        """Each post's queue entries in media order, with the stored object of those fetched."""
        found: dict[int, list[tuple[PostMedia, MediaObject | None]]] = {}
        joined = post_media.outerjoin(media_objects, media_objects.c.sha256 == post_media.c.sha256)
        columns = [*post_media.c, *(c.label(f"o_{c.name}") for c in media_objects.c)]
        for chunk in _chunks(list(post_ids)):
            stmt = (
                select(*columns)
                .select_from(joined)
                .where(post_media.c.post_id.in_(chunk))
                .order_by(post_media.c.post_id, post_media.c.position)
            )
            for row in self.conn.execute(stmt):
                m = row._mapping
                obj = None
                if m["o_sha256"] is not None:
                    obj = _object({c.name: m[f"o_{c.name}"] for c in media_objects.c})
                found.setdefault(int(m["post_id"]), []).append((_entry(row), obj))
        return found

    def media_for_post(self, post_id: int) -> list[tuple[PostMedia, MediaObject | None]]:
        return self.media_for_posts([post_id]).get(post_id, [])

    def posts_with_pending_media(self, post_ids: Sequence[int]) -> set[int]:
        """Which of ``post_ids`` still have a media entry waiting for an attempt."""
        pending: set[int] = set()
        for chunk in _chunks(list(post_ids)):
            pending.update(
                int(p)
                for p in self.conn.execute(
                    select(post_media.c.post_id)
                    .where(post_media.c.post_id.in_(chunk), post_media.c.state == "pending")
                    .distinct()
                ).scalars()
            )
        return pending

    def posts_awaiting_image_facts(self, *, limit: int) -> list[int]:
        """Posts whose media have all finished but whose image facts were not applied yet (oldest first)."""
        finished = (
            select(post_media.c.post_id)
            .where(post_media.c.facts_us.is_(None), post_media.c.state != "pending")
            .distinct()
            .order_by(post_media.c.post_id)
            .limit(limit * 4)
        )
        candidates = [int(p) for p in self.conn.execute(finished).scalars()]
        pending = self.posts_with_pending_media(candidates)
        return [p for p in candidates if p not in pending][:limit]

    def mark_image_facts_applied(self, post_ids: Sequence[int], *, at: datetime) -> None:
        """Record that these posts' finished media have had their facts written and been matched."""
        for chunk in _chunks(list(post_ids)):
            self.conn.execute(
                update(post_media)
                .where(
                    post_media.c.post_id.in_(chunk),
                    post_media.c.state != "pending",
                    post_media.c.facts_us.is_(None),
                )
                .values(facts_us=to_micros(at))
            )

    def media_counts(self) -> MediaCounts:
        """Queue entries per state (and how many pending ones failed before), stored objects and bytes."""
        by_state = dict.fromkeys(("pending", "fetched", "failed", "refused"), 0)
        for state, n in self.conn.execute(
            select(post_media.c.state, func.count()).group_by(post_media.c.state)
        ).all():
            by_state[state] = int(n)
        retrying = self.conn.execute(
            select(func.count()).where(post_media.c.state == "pending", post_media.c.attempts > 0)
        ).scalar_one()
        objects, size = self.conn.execute(
            select(func.count(), func.coalesce(func.sum(media_objects.c.size), 0))
        ).one()
        frames = self.conn.execute(select(func.count()).select_from(media_frames)).scalar_one()
        return MediaCounts(
            by_state=by_state,
            retrying=int(retrying),
            objects=int(objects),
            object_bytes=int(size),
            frames=int(frames),
        )

    def recent_media_failures(self, *, limit: int) -> list[PostMedia]:
        """The newest failed or refused entries and pending ones that failed before, newest first."""
        stmt = (
            select(post_media)
            .where(post_media.c.last_error.is_not(None), post_media.c.state != "fetched")
            .order_by(post_media.c.updated_us.desc(), post_media.c.post_id.desc())
            .limit(limit)
        )
        return [_entry(r) for r in self.conn.execute(stmt)]

    # -- stored objects ---------------------------------------------------------------------------------

    def get_media_object(self, sha256: str) -> MediaObject | None:
        row = self.conn.execute(select(media_objects).where(media_objects.c.sha256 == sha256)).first()
        return None if row is None else _object(row._mapping)

    def put_media_object(self, obj: MediaObject) -> bool:
        """Store an object's row; False (nothing changes) if its hash is stored already."""
        stmt = (
            self.dialect.insert(media_objects)
            .values(**_object_values(obj))
            .on_conflict_do_nothing()
            .returning(media_objects.c.sha256)
        )
        return self.conn.execute(stmt).first() is not None

    def set_media_enrichment(self, sha256: str, enrichment: Enrichment, *, at: datetime) -> bool:
        """Replace what was read from a stored file (re-enrichment); False if no such object."""
        result = self.conn.execute(
            update(media_objects)
            .where(media_objects.c.sha256 == sha256)
            .values(**_enrichment_values(enrichment), enriched_us=to_micros(at))
        )
        return bool(result.rowcount)

    def put_media_frames(self, frames: Sequence[MediaFrame]) -> None:
        """Store video keyframe links (their frame objects first); existing ones are kept."""
        self.dialect.insert_ignore(
            self.conn,
            "media_frames",
            ("video_sha256", "frame_no", "at_ms", "frame_sha256"),
            [(f.video_sha256, f.index, f.at_ms, f.frame_sha256) for f in frames],
        )

    def frames_of(self, video_sha256: str) -> list[MediaFrame]:
        stmt = (
            select(media_frames)
            .where(media_frames.c.video_sha256 == video_sha256)
            .order_by(media_frames.c.frame_no)
        )
        return [
            MediaFrame(
                video_sha256=r.video_sha256,
                index=int(r.frame_no),
                at_ms=int(r.at_ms),
                frame_sha256=r.frame_sha256,
            )
            for r in self.conn.execute(stmt)
        ]
