"""Photos and videos a post references: the fetch queue entry, the stored file and what was read from it.

A post's :class:`~watchfloor.domain.post.MediaRef` says where a file is; a :class:`PostMedia` is the
queue entry that fetches it (one per post and position); a :class:`MediaObject` is one stored file,
keyed by the SHA-256 of its bytes, with the perceptual hashes (of the whole image and of three
regions, :class:`RegionHash`), OCR text and camera/time metadata read from it, and the enricher's
notes on what it could not read. :func:`tagged_hashes` decides which of an image's hashes are compared,
for posts and known images alike. Files are content-addressed, so the same image posted a thousand
times is fetched once per URL, stored once and enriched once.

What is deliberately absent (DESIGN.md): no face detection or recognition, no GPS coordinates from
EXIF (a photo's location is a person's location), nothing inferred about the people in an image.
"""

from __future__ import annotations

import functools
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


class RegionHash(msgspec.Struct, frozen=True, kw_only=True):
    """The PDQ and pHash of one fixed region of an image: what still matches after a crop or a caption.

    A whole-image hash moves too far when a repost crops the picture or adds a caption bar; the same
    region of both copies still hashes alike (``pipeline/media/hashes.py`` says which regions and why).
    """

    region: str  # "centre_80" (10% off every side), "top_80", "bottom_80" (the top or bottom 80%)
    pdq: str  # 64 hex digits
    pdq_quality: int  # 0-100; below PDQ_MIN_QUALITY the region's pHash is compared instead
    phash: str  # 16 hex digits


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
    regions: tuple[RegionHash, ...] = ()  # hashes of fixed regions (images and keyframes)
    notes: tuple[str, ...] = ()  # what the enricher could not do, and why (Enrichment.notes)

    @property
    def tagged_hashes(self) -> tuple[str, ...]:
        """The hashes rules compare ("pdq:<hex>", "phash:<hex>"): see :func:`tagged_hashes`."""
        return tagged_hashes(
            pdq=self.pdq, pdq_quality=self.pdq_quality or 0, phash=self.phash, regions=self.regions
        )

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
    regions: tuple[RegionHash, ...] = ()  # only for images added as files (a partner's hex has none)

    @property
    def tagged_hashes(self) -> tuple[str, ...]:
        """The hashes rules compare this known image with (``pdq`` was kept only when reliable)."""
        return tagged_hashes(pdq=self.pdq, pdq_quality=None, phash=self.phash, regions=self.regions)


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
    regions: tuple[RegionHash, ...] = ()


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
    regions: tuple[RegionHash, ...] = ()  # images: hashes of fixed regions (see RegionHash)


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


def _by_algorithm(known: Iterable[str]) -> dict[tuple[str, int], tuple[int, ...]]:
    """Known tagged hashes as integers, grouped by algorithm and hex length (only those compare)."""
    groups: dict[tuple[str, int], list[int]] = {}
    for tagged in known:
        algorithm, _, hex_ = tagged.partition(":")
        groups.setdefault((algorithm, len(hex_)), []).append(int(hex_, 16))
    return {key: tuple(values) for key, values in groups.items()}


# The matcher compares every post with the same few list sets (frozensets, rebuilt only when a list
# changes): parse each set once, not once per post.
_known_by_algorithm = functools.lru_cache(maxsize=256)(_by_algorithm)


def hashes_near(post_hashes: Iterable[str], known: Iterable[str]) -> bool:
    """Whether any post hash is within the match distance of any known hash of the same algorithm."""
    groups = _known_by_algorithm(known) if isinstance(known, frozenset) else _by_algorithm(known)
    for mine in post_hashes:
        algorithm, _, hex_ = mine.partition(":")
        others = groups.get((algorithm, len(hex_)))
        if not others:
            continue
        value, limit = int(hex_, 16), match_distance(mine)
        for other in others:
            if (value ^ other).bit_count() <= limit:
                return True
    return False


# PDQ quality (0-100) below this means a nearly featureless image (a flat colour, a faint gradient):
# its hash matches other featureless images, so matching on it is unreliable (Meta's guidance: 50).
PDQ_MIN_QUALITY = 50
# A pHash splits 64 DCT coefficients at their median, so a real one has 32 bits set; a flat or nearly
# flat picture gives 8000000000000000 (one bit) whatever its colour, and would match every other one.
PHASH_MIN_BITS = 16


def phash_informative(phash: str) -> bool:
    """Whether a pHash describes a picture rather than a flat area (see ``PHASH_MIN_BITS``)."""
    return int(phash, 16).bit_count() >= PHASH_MIN_BITS


def tagged_hashes(
    *, pdq: str | None, pdq_quality: int | None, phash: str | None, regions: Iterable[RegionHash] = ()
) -> tuple[str, ...]:
    """The tagged hashes ("pdq:<hex>", "phash:<hex>") one image is matched by: at most five.

    The whole image: its PDQ when its quality is at least ``PDQ_MIN_QUALITY`` (``None``: not known,
    as for a partner's hash, which is compared as given) and its pHash unless it is that of a flat
    picture. Each region: its PDQ when that is reliable, else its pHash (smooth, low-contrast pictures
    have unreliable PDQ hashes; their pHashes still tell them apart: benchmarks/README.md). Posts and
    known images go through this one function, so any hash of one can match any hash of the other.
    """
    found: list[str] = []
    if pdq and (pdq_quality is None or pdq_quality >= PDQ_MIN_QUALITY):
        found.append(f"pdq:{pdq}")
    if phash and phash_informative(phash):
        found.append(f"phash:{phash}")
    for region in regions:
        if region.pdq_quality >= PDQ_MIN_QUALITY:
            found.append(f"pdq:{region.pdq}")
        elif phash_informative(region.phash):
            found.append(f"phash:{region.phash}")
    return tuple(dict.fromkeys(found))
