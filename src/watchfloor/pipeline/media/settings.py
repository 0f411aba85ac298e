"""What the media enricher may do: OCR languages, time limits, the decompression-bomb limit, tool paths.

A small frozen value built once from :class:`watchfloor.config.Settings` (``EnrichSettings.from_settings``)
and passed to :func:`~watchfloor.pipeline.media.enrich_media`; the pipeline never reads the settings
object itself, so tests build one directly.
"""

from __future__ import annotations

import re
from typing import Protocol

import msgspec


class MediaSettingsSource(Protocol):
    """The fields of ``watchfloor.config.Settings`` the enricher reads (a protocol: no config import)."""

    @property
    def ocr_languages(self) -> str: ...
    @property
    def ocr_timeout_seconds(self) -> float: ...
    @property
    def tesseract_cmd(self) -> str: ...
    @property
    def media_max_keyframes(self) -> int: ...
    @property
    def media_max_megapixels(self) -> float: ...
    @property
    def media_ffmpeg_timeout_seconds(self) -> float: ...
    @property
    def ffmpeg_cmd(self) -> str: ...
    @property
    def ffprobe_cmd(self) -> str: ...


def parse_languages(value: str) -> tuple[str, ...]:
    """Split tesseract language codes written ``eng+deu``, ``eng,deu`` or ``eng deu``; order kept."""
    seen: list[str] = []
    for code in re.split(r"[+,\s]+", value.strip()):
        if code and code not in seen:
            seen.append(code)
    return tuple(seen)


class EnrichSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits and tools for one enrichment; the defaults are what a fresh install runs with."""

    # Tesseract language packs to read with, e.g. ("eng", "deu"); empty turns OCR off.
    ocr_languages: tuple[str, ...] = ("eng",)
    ocr_timeout_seconds: float = 20.0  # per image or keyframe; tesseract is killed after it
    max_keyframes: int = 8  # video frames kept: the first plus scene changes
    # Images declaring more pixels are refused before decoding (a 50 MP RGB image is 150 MB in memory).
    max_pixels: int = 50_000_000
    ffmpeg_timeout_seconds: float = 60.0  # per ffprobe or ffmpeg run
    tesseract_cmd: str = "tesseract"
    ffmpeg_cmd: str = "ffmpeg"
    ffprobe_cmd: str = "ffprobe"

    @classmethod
    def from_settings(cls, settings: MediaSettingsSource) -> EnrichSettings:
        """Build from the application's Settings (services pass ``ctx.settings``)."""
        return cls(
            ocr_languages=parse_languages(settings.ocr_languages),
            ocr_timeout_seconds=settings.ocr_timeout_seconds,
            max_keyframes=settings.media_max_keyframes,
            max_pixels=int(settings.media_max_megapixels * 1_000_000),
            ffmpeg_timeout_seconds=settings.media_ffmpeg_timeout_seconds,
            tesseract_cmd=settings.tesseract_cmd,
            ffmpeg_cmd=settings.ffmpeg_cmd,
            ffprobe_cmd=settings.ffprobe_cmd,
        )
