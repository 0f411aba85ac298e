"""Photos and videos a post references: the fetch queue entry, the stored file and what was read from it.

A post's :class:`~watchfloor.domain.post.MediaRef` says where a file is; a :class:`PostMedia` is the
queue entry that fetches it (one per post and position); a :class:`MediaObject` is one stored file,
keyed by the SHA-256 of its bytes, with the perceptual hashes, OCR text and camera/time metadata read
from it. Files are content-addressed, so the same image posted a thousand times is fetched once per
URL, stored once and enriched once.

What is deliberately absent (DESIGN.md): no face detection or recognition, no GPS coordinates from
EXIF (a photo's location is a person's location), nothing inferred about the people in an image.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import msgspec

# pending: waiting for its (next) attempt; fetched: stored as a MediaObject; failed: gave up after the
# last retry (the reason is kept); refused: never fetched because policy forbids it (private address,
# too large, type not allowed) — also with the reason.
MediaState = Literal["pending", "fetched", "failed", "refused"]
MEDIA_STATES: tuple[MediaState, ...] = ("pending", "fetched", "failed", "refused")

# not_run: not enriched yet; done: read (the text may be empty); unavailable: tesseract is not
# installed or lacks the language; failed: the engine errored on this file; skipped: not an image.
OcrStatus = Literal["not_run", "done", "unavailable", "failed", "skipped"]

FETCHABLE_KINDS = frozenset({"image", "video", "gif"})  # MediaRef kinds the fetcher downloads


class PostMedia(msgspec.Struct, frozen=True, kw_only=True):
    """One media reference of one stored post, and where fetching it stands."""

    post_id: int
    position: int  # index in ``Post.media``
    kind: str  # MediaRef kind: image | video | gif
    url: str  # the file's address (for videos, the platform's preview image when no file URL is given)
    state: MediaState
    attempts: int
    next_attempt_at: datetime | None  # when a pending entry may be tried (None: now)
    last_error: str | None
    sha256: str | None  # the stored file, once fetched
    updated_at: datetime


class CameraInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The camera and time EXIF says (never GPS: a photo's location is a person's location)."""

    make: str | None = None
    model: str | None = None
    software: str | None = None
    taken_at: str | None = None  # EXIF DateTimeOriginal as written (EXIF has no reliable time zone)


class MediaObject(msgspec.Struct, frozen=True, kw_only=True):
    """One stored file, content-addressed, with everything read from it."""

    sha256: str
    size: int
    media_type: str  # sniffed from the bytes (image/jpeg, image/png, image/gif, image/webp, video/mp4, ...)
    stored_at: datetime
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None  # videos
    phash: str | None = None  # 64-bit pHash (imagehash), 16 hex digits
    pdq: str | None = None  # 256-bit PDQ hash, 64 hex digits (the hash trust-and-safety teams exchange)
    pdq_quality: int | None = None  # 0-100; PDQ hashes below ~50 are unreliable for matching
    ocr_text: str | None = None
    ocr_status: OcrStatus = "not_run"
    camera: CameraInfo | None = None
    enriched_at: datetime | None = None

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.media_type.startswith("video/")


class MediaFrame(msgspec.Struct, frozen=True, kw_only=True):
    """A keyframe taken from a video; the frame itself is a stored image :class:`MediaObject`."""

    video_sha256: str
    index: int
    at_ms: int
    frame_sha256: str


class ImageList(msgspec.Struct, frozen=True, kw_only=True):
    """A named set of known images (a propaganda set, a scam kit) that rules match against."""

    id: int
    name: str  # lower-case; rules write imagehash:~name
    description: str
    basis_id: int  # the legal basis the list is kept under
    created_by: str
    created_at: datetime
    items: int = 0


class ImageListItem(msgspec.Struct, frozen=True, kw_only=True):
    """One known image: its hashes (the image itself is kept only if uploaded)."""

    id: int
    list_id: int
    phash: str | None
    pdq: str | None
    sha256: str | None  # of the uploaded file, when one was uploaded
    label: str | None
    added_by: str
    added_at: datetime


def hamming(a: str, b: str) -> int:
    """Bits that differ between two equal-length hex hashes (pHash: 0-64, PDQ: 0-256)."""
    if len(a) != len(b):
        raise ValueError("hashes of different lengths cannot be compared")
    return (int(a, 16) ^ int(b, 16)).bit_count()


class ImageMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A post image within the distance of a known-list image: shown in "why this alert"."""

    list_name: str
    item_id: int
    label: str | None
    algorithm: Literal["pdq", "phash"]
    distance: int
    sha256: str | None = None  # the post's image (or video keyframe), when known


class Keyframe(msgspec.Struct, frozen=True, kw_only=True):
    """A frame taken from a video, with what was read from it (stored as an image MediaObject)."""

    at_ms: int
    data: bytes  # the encoded frame (PNG or JPEG)
    media_type: str
    width: int | None = None
    height: int | None = None
    phash: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    ocr_text: str | None = None
    ocr_status: OcrStatus = "not_run"


class Enrichment(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the enricher read from one file (``pipeline/media``), ready to store on its MediaObject.

    ``notes`` say what could not be done and why ("tesseract is not installed", "ffmpeg timed out"),
    so a partial enrichment is visible rather than silently thin. ``enricher`` carries the name and
    version for provenance (STYLE.md 20).
    """

    enricher: str
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    phash: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    ocr_text: str | None = None
    ocr_status: OcrStatus = "not_run"
    camera: CameraInfo | None = None
    frames: tuple[Keyframe, ...] = ()
    notes: tuple[str, ...] = ()


# Largest Hamming distance at which two images count as the same picture (resized, recompressed; a
# crop or a caption bar usually moves a hash further). PDQ's published guidance is 31 of 256 bits; the
# pHash figure is set from benchmarks/bench_media.py (see benchmarks/README.md for the recall and
# false-match rates, and pipeline/media/hashes.py for why these two).
PDQ_MATCH_DISTANCE = 31
PHASH_MATCH_DISTANCE = 8


def hash_distance(a: str, b: str) -> int | None:
    """Distance between two tagged hashes ("pdq:<hex>", "phash:<hex>"); None if the algorithms differ."""
    algo_a, _, hex_a = a.partition(":")
    algo_b, _, hex_b = b.partition(":")
    if algo_a != algo_b or len(hex_a) != len(hex_b):
        return None
    return hamming(hex_a, hex_b)


def match_distance(tagged: str) -> int:
    """The match threshold for a tagged hash's algorithm."""
    return PDQ_MATCH_DISTANCE if tagged.startswith("pdq:") else PHASH_MATCH_DISTANCE


def hashes_near(post_hashes: Iterable[str], known: Iterable[str]) -> bool:
    """Whether any post hash is within the match distance of any known hash of the same algorithm."""
    known = tuple(known)
    for mine in post_hashes:
        limit = match_distance(mine)
        for other in known:
            distance = hash_distance(mine, other)
            if distance is not None and distance <= limit:
                return True
    return False
