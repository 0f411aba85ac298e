"""Enrich one media file: what the fetcher calls on every photo or video it downloads.

``enrich_media(data, media_type, settings)`` dispatches on the media type the fetcher sniffed (when a
caller gives none or a generic one, on what ``sniff_media_type`` makes of the bytes). Images are
decoded safely, hashed (pHash and PDQ, of the whole image and of three regions) and read (OCR), and
their camera/time EXIF kept; videos are probed (duration, size) and their keyframes taken, each
hashed and read like an image. It is pure apart from local subprocesses (tesseract, ffprobe, ffmpeg)
and a temporary file: no network, no store, and the same bytes give the same enrichment, so
re-running it is harmless.

Anything skipped is said in ``Enrichment.notes`` ("OCR unavailable: ..."), so a thin enrichment is
visibly thin. No face detection or recognition of any kind happens here or anywhere (DESIGN.md).
"""

from __future__ import annotations

from watchfloor import __version__
from watchfloor.connectors.media.sniff import SNIFF_BYTES, sniff_media_type
from watchfloor.domain.media import Enrichment, Keyframe
from watchfloor.pipeline.media.errors import MediaRejected
from watchfloor.pipeline.media.hashes import hash_image
from watchfloor.pipeline.media.images import decode_image
from watchfloor.pipeline.media.ocr import read_text
from watchfloor.pipeline.media.settings import EnrichSettings
from watchfloor.pipeline.media.video import RawFrame, read_video

ENRICHER = f"watchfloor-media/{__version__}"


def enrich_media(data: bytes, media_type: str, settings: EnrichSettings | None = None) -> Enrichment:
    """Read everything watchfloor keeps from one image or video; raises MediaRejected for bad files."""
    settings = settings or EnrichSettings()
    kind = media_type.split(";", 1)[0].strip().lower()
    if not kind.startswith(("image/", "video/")):  # a generic or missing type: the bytes decide
        kind = sniff_media_type(data[:SNIFF_BYTES]) or kind
    if kind.startswith("image/"):
        return _enrich_image(data, settings)
    if kind.startswith("video/"):
        return _enrich_video(data, settings)
    raise MediaRejected(f"cannot enrich {media_type or 'an unknown type'}: only images and videos are read")


def _enrich_image(data: bytes, settings: EnrichSettings) -> Enrichment:
    decoded = decode_image(data, max_pixels=settings.max_pixels)
    hashes = hash_image(decoded.image)
    ocr = read_text(decoded.image, settings)
    return Enrichment(
        enricher=ENRICHER,
        width=decoded.width,
        height=decoded.height,
        phash=hashes.phash,
        pdq=hashes.pdq,
        pdq_quality=hashes.pdq_quality,
        regions=hashes.regions,
        ocr_text=ocr.text,
        ocr_status=ocr.status,
        camera=decoded.camera,
        notes=(ocr.note,) if ocr.note else (),
    )


def _keyframe(frame: RawFrame, settings: EnrichSettings) -> tuple[Keyframe, str | None]:
    decoded = decode_image(frame.png, max_pixels=settings.max_pixels)
    hashes = hash_image(decoded.image)
    ocr = read_text(decoded.image, settings)
    keyframe = Keyframe(
        at_ms=frame.at_ms,
        data=frame.png,
        media_type="image/png",
        width=decoded.width,
        height=decoded.height,
        phash=hashes.phash,
        pdq=hashes.pdq,
        pdq_quality=hashes.pdq_quality,
        regions=hashes.regions,
        ocr_text=ocr.text,
        ocr_status=ocr.status,
    )
    return keyframe, ocr.note


def _enrich_video(data: bytes, settings: EnrichSettings) -> Enrichment:
    read = read_video(data, settings)
    notes = list(read.notes)
    frames: list[Keyframe] = []
    for raw in read.frames:
        try:
            keyframe, note = _keyframe(raw, settings)
        except MediaRejected as exc:  # ffmpeg wrote a frame Pillow refuses (e.g. over max_pixels)
            note = f"keyframe at {raw.at_ms} ms skipped: {exc}"
        else:
            frames.append(keyframe)
        if note and f"keyframes: {note}" not in notes:
            notes.append(f"keyframes: {note}")
    info = read.info
    return Enrichment(
        enricher=ENRICHER,
        width=info.width if info else None,
        height=info.height if info else None,
        duration_ms=info.duration_ms if info else None,
        ocr_status="skipped",  # a video's text is read per keyframe
        frames=tuple(frames),
        notes=tuple(notes),
    )
