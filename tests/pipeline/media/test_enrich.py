"""The enricher's entry point: dispatch by media type, provenance, settings, and repeatability."""

from __future__ import annotations

import pytest

from tests.pipeline.media.media import encode, scene
from watchfloor import __version__
from watchfloor.config import Settings
from watchfloor.domain.errors import Permanent
from watchfloor.pipeline.media import ENRICHER, EnrichSettings, MediaRejected, enrich_media
from watchfloor.pipeline.media.settings import parse_languages

NO_OCR = EnrichSettings(ocr_languages=())


def test_settings_come_from_the_application_settings() -> None:
    assert EnrichSettings.from_settings(Settings()) == EnrichSettings()
    custom = Settings(
        ocr_languages="eng+deu, ara",
        ocr_timeout_seconds=5,
        tesseract_cmd="/opt/tesseract",
        media_max_megapixels=12.5,
        media_max_keyframes=3,
        media_ffmpeg_timeout_seconds=30,
        ffmpeg_cmd="/opt/ffmpeg",
        ffprobe_cmd="/opt/ffprobe",
    )
    assert EnrichSettings.from_settings(custom) == EnrichSettings(
        ocr_languages=("eng", "deu", "ara"),
        ocr_timeout_seconds=5,
        tesseract_cmd="/opt/tesseract",
        max_pixels=12_500_000,
        max_keyframes=3,
        ffmpeg_timeout_seconds=30,
        ffmpeg_cmd="/opt/ffmpeg",
        ffprobe_cmd="/opt/ffprobe",
    )
    assert EnrichSettings.from_settings(Settings(ocr_languages="")).ocr_languages == ()


def test_language_lists() -> None:
    assert parse_languages("eng") == ("eng",)
    assert parse_languages(" eng+deu,ara  chi_sim+eng ") == ("eng", "deu", "ara", "chi_sim")
    assert parse_languages("") == ()


def test_provenance_and_repeatability() -> None:
    data = encode(scene(1), "JPEG")
    first = enrich_media(data, "image/jpeg", NO_OCR)
    assert first.enricher == ENRICHER == f"watchfloor-media/{__version__}"
    assert enrich_media(data, "image/jpeg", NO_OCR) == first  # same bytes, same enrichment


def test_media_type_parameters_and_case_are_ignored() -> None:
    data = encode(scene(2), "PNG")
    assert enrich_media(data, "IMAGE/PNG; charset=binary", NO_OCR).width == 640


def test_a_generic_type_is_sniffed_from_the_bytes() -> None:
    data = encode(scene(3), "PNG")
    assert enrich_media(data, "application/octet-stream", NO_OCR).width == 640
    assert enrich_media(data, "", NO_OCR).pdq is not None


@pytest.mark.parametrize("media_type", ["text/html", "application/octet-stream", "", "audio/mpeg"])
def test_other_types_are_refused_permanently(media_type: str) -> None:
    page = b"<!doctype html><html><body>404 not found</body></html>"
    with pytest.raises(MediaRejected, match="only images and videos are read") as caught:
        enrich_media(page, media_type, NO_OCR)
    assert isinstance(caught.value, Permanent)  # the fetcher records it and does not retry
