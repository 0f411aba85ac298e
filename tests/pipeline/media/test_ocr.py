"""OCR: generated images with known text are read accurately; a missing engine or language is a status."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest
from PIL import Image

from tests.pipeline.media.media import cer, encode, require_tool, scene, text_image
from watchfloor.pipeline.media import EnrichSettings, enrich_media
from watchfloor.pipeline.media.ocr import installed_languages, normalise_text, prepare, read_text

TEXT = [
    "Evacuate zone B before 18:00",
    "Shelter open at Central Station",
    "Send 0.5 BTC to claim your prize",
    "Offer ends tonight, click the link",
]
FONTS = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf"]
COLOURS = {"black on white": ((0, 0, 0), (255, 255, 255)), "yellow on blue": ((255, 230, 0), (30, 90, 160))}
# Measured on this set (Debian's tesseract 5.3.0, eng; 4 fonts × 3 sizes × 2 colourings = 24 images
# of the same 4 lines): CER 0.0023 overall (7 wrong characters in 3,072), 0.008 at worst for one
# image ("BTC" read as "BIC" at 20 px); plain pytesseract without the preprocessing: 0.0016, 0.023 at
# worst. The bounds leave room for other tesseract builds, not for a broken pipeline.
MAX_CER = 0.01
MAX_CER_ONE_IMAGE = 0.05


@pytest.fixture(scope="module")
def tesseract() -> str:
    return require_tool("tesseract")


def fake_tesseract(folder: Path, run: str) -> str:
    """A stand-in tesseract: lists eng, and runs the shell lines ``run`` to "read" an image."""
    script = folder / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --list-langs ]; then\n'
        '  printf "List of available languages (2):\\neng\\nosd\\n"; exit 0\n'
        "fi\n" + run
    )
    script.chmod(0o755)
    return str(script)


def test_generated_text_is_read_with_a_low_character_error_rate(tesseract: str) -> None:
    errors = length = 0
    worst: tuple[float, str, str] = (0.0, "", "")
    for font_name, size, colours in product(FONTS, (12, 20, 32), COLOURS):
        ink, paper = COLOURS[colours]
        image = text_image(TEXT, font_name, size, ink, paper)
        e = enrich_media(encode(image, "PNG"), "image/png")
        assert e.ocr_status == "done" and e.ocr_text is not None
        assert e.notes == ()
        wrong, total = cer(" ".join(TEXT), e.ocr_text)
        errors, length = errors + wrong, length + total
        worst = max(worst, (wrong / total, f"{font_name} {size}px {colours}", e.ocr_text))
    assert errors / length <= MAX_CER, (errors / length, worst)
    assert worst[0] <= MAX_CER_ONE_IMAGE, worst


def test_text_on_a_photo_and_in_a_jpeg_is_read(tesseract: str) -> None:
    photo = scene(1, (900, 500))
    caption = text_image(
        ["STORM WARNING FOR THE COAST"], "DejaVuSans-Bold.ttf", 36, (255, 255, 255), (20, 20, 20)
    )
    photo.paste(caption, (40, 380))
    e = enrich_media(encode(photo, "JPEG", quality=80), "image/jpeg")
    assert e.ocr_status == "done"
    assert "STORM WARNING FOR THE COAST" in (e.ocr_text or "")


def test_lines_are_kept_and_whitespace_normalised(tesseract: str) -> None:
    image = text_image(["first   line", "second line"], size=28)
    result = read_text(image, EnrichSettings())
    assert result.text == "first line\nsecond line"
    assert normalise_text("  a \t b  \n\n\n c\u00a0 d \n") == "a b\nc d"


def test_an_image_without_text_is_done_and_empty(tesseract: str) -> None:
    e = enrich_media(encode(Image.new("RGB", (300, 200), (240, 240, 240)), "PNG"), "image/png")
    assert (e.ocr_status, e.ocr_text) == ("done", "")


def test_small_images_are_upscaled_for_reading() -> None:
    assert prepare(Image.new("RGB", (300, 100))).size == (600, 200)  # at most ×2
    assert prepare(Image.new("RGB", (500, 100))).size == (1000, 200)
    assert prepare(Image.new("RGB", (100, 800))).size == (125, 1000)
    assert prepare(Image.new("RGB", (1200, 100))).size == (1200, 100)  # large enough already
    assert prepare(Image.new("RGB", (10, 10))).mode == "L"


def test_missing_tesseract_is_unavailable_with_a_note_and_the_rest_still_enriched() -> None:
    settings = EnrichSettings(tesseract_cmd="/nonexistent/tesseract")
    e = enrich_media(encode(text_image(["hello world"]), "PNG"), "image/png", settings)
    assert e.ocr_status == "unavailable" and e.ocr_text is None
    assert e.phash is not None and e.pdq is not None  # hashing does not need tesseract
    assert len(e.notes) == 1 and "tesseract" in e.notes[0] and "not installed" in e.notes[0]
    assert installed_languages("/nonexistent/tesseract") is None


def test_missing_language_pack(tesseract: str) -> None:
    image = text_image(["language packs"])
    only_missing = read_text(image, EnrichSettings(ocr_languages=("zzz",)))
    assert only_missing.status == "unavailable" and only_missing.text is None
    assert only_missing.note is not None and "tesseract-ocr-zzz" in only_missing.note
    # Some packs installed: read with those, and say which are missing.
    partly = read_text(image, EnrichSettings(ocr_languages=("eng", "zzz")))
    assert partly.status == "done" and partly.text == "language packs"
    assert partly.note is not None and "tesseract-ocr-zzz" in partly.note and "eng only" in partly.note
    assert "eng" in (installed_languages("tesseract") or ())


def test_ocr_turned_off() -> None:
    off = read_text(text_image(["off"]), EnrichSettings(ocr_languages=()))
    assert off.status == "skipped" and off.note and "turned off" in off.note


def test_engine_errors_and_timeouts_are_failed(tmp_path: Path) -> None:
    broken = fake_tesseract(tmp_path, 'echo "Error in pixReadMem: bad image" >&2; exit 1\n')
    failed = read_text(text_image(["x"]), EnrichSettings(tesseract_cmd=broken))
    assert failed.status == "failed" and failed.text is None
    assert failed.note and "pixReadMem" in failed.note
    (tmp_path / "slow").mkdir()
    slow = fake_tesseract(tmp_path / "slow", "sleep 5\n")
    timed_out = read_text(text_image(["x"]), EnrichSettings(tesseract_cmd=slow, ocr_timeout_seconds=0.3))
    assert (timed_out.status, timed_out.note) == ("failed", "OCR timed out")


def test_tesseract_runs_with_one_openmp_thread(tmp_path: Path) -> None:
    # OpenMP's spinning threads made each image 3-4 times slower on the shared 2-core machine.
    cmd = fake_tesseract(tmp_path, 'echo "threads=$OMP_THREAD_LIMIT" > "$2.txt"\n')
    assert read_text(text_image(["x"]), EnrichSettings(tesseract_cmd=cmd)).text == "threads=1"
