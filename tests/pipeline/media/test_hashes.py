"""Perceptual hashes: copies of one picture stay within the match distances, different pictures do not."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.pipeline.media.media import encode, font, scene
from watchfloor.domain.media import hamming
from watchfloor.pipeline.media import EnrichSettings, enrich_media
from watchfloor.pipeline.media.hashes import (
    PDQ_MATCH_DISTANCE,
    PHASH_MATCH_DISTANCE,
    bits_to_hex,
    hash_image,
    pdq_matches,
    phash_matches,
    thumbnail,
)

NO_OCR = EnrichSettings(ocr_languages=())


def _hashes(data: bytes) -> tuple[str, str]:
    e = enrich_media(data, "image/jpeg", NO_OCR)
    assert e.pdq is not None and e.phash is not None
    return e.pdq, e.phash


def _captioned(image: Image.Image) -> Image.Image:
    """A small watermark in a corner, as reposting accounts add."""
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    draw.text((10, copy.height - 30), "@reposter", font=font("DejaVuSans-Bold.ttf", 18), fill=(255, 255, 255))
    return copy


@pytest.mark.parametrize("seed", range(6))
def test_resized_recompressed_and_watermarked_copies_match(seed: int) -> None:
    original = scene(seed, (800, 600))
    pdq, phash = _hashes(encode(original, "JPEG", quality=92))
    copies = {
        "half size": encode(original.resize((400, 300), Image.Resampling.LANCZOS), "JPEG", quality=85),
        "double size": encode(original.resize((1600, 1200), Image.Resampling.BICUBIC), "JPEG"),
        "JPEG quality 30": encode(original, "JPEG", quality=30),
        "PNG": encode(original, "PNG"),
        "WebP": encode(original, "WEBP", quality=60),
        "watermark": encode(_captioned(original), "JPEG", quality=85),
    }
    for name, data in copies.items():
        copy_pdq, copy_phash = _hashes(data)
        assert pdq_matches(pdq, copy_pdq), (name, hamming(pdq, copy_pdq))
        assert phash_matches(phash, copy_phash), (name, hamming(phash, copy_phash))


def test_different_pictures_are_far_apart() -> None:
    hashes = [_hashes(encode(scene(seed), "JPEG")) for seed in range(100, 112)]
    for (pdq_a, phash_a), (pdq_b, phash_b) in combinations(hashes, 2):
        assert hamming(pdq_a, pdq_b) > PDQ_MATCH_DISTANCE * 2
        assert hamming(phash_a, phash_b) > PHASH_MATCH_DISTANCE


def test_hex_forms() -> None:
    bits = np.zeros(256, dtype=np.uint8)
    bits[0] = 1  # most significant bit first: PDQ's reference format prints word 15 first
    assert bits_to_hex(bits) == "8" + "0" * 63
    assert bits_to_hex(np.ones(64, dtype=np.uint8)) == "f" * 16
    h = hash_image(scene(7))
    assert len(h.pdq) == 64 and len(h.phash) == 16
    assert h.pdq == h.pdq.lower() and h.phash == h.phash.lower()
    assert hash_image(scene(7)) == h  # deterministic


def test_hashing_uses_a_thumbnail_so_size_does_not_matter() -> None:
    big = scene(8, (3000, 2000))
    assert max(thumbnail(big).size) == 512
    small = thumbnail(scene(8, (300, 200)))
    assert small.size == (300, 200)
    assert hamming(hash_image(big).pdq, hash_image(big.resize((750, 500))).pdq) <= PDQ_MATCH_DISTANCE


def test_match_helpers_use_the_documented_distances() -> None:
    a = "0" * 64
    within = f"{(1 << PDQ_MATCH_DISTANCE) - 1:064x}"
    beyond = f"{(1 << (PDQ_MATCH_DISTANCE + 1)) - 1:064x}"
    assert pdq_matches(a, within) and not pdq_matches(a, beyond)
    assert phash_matches("0" * 16, f"{(1 << PHASH_MATCH_DISTANCE) - 1:016x}")
    assert not phash_matches("0" * 16, f"{(1 << (PHASH_MATCH_DISTANCE + 1)) - 1:016x}")
    assert 0 < PHASH_MATCH_DISTANCE < 64 // 4 and 0 < PDQ_MATCH_DISTANCE < 256 // 4
