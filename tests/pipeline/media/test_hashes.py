"""Perceptual hashes: copies of one picture stay within the match distances, different pictures do not."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.pipeline.media.media import encode, font, scene
from watchfloor.domain.media import hamming, hashes_near, tagged_hashes
from watchfloor.pipeline.media import EnrichSettings, enrich_media
from watchfloor.pipeline.media.hashes import (
    PDQ_MATCH_DISTANCE,
    PHASH_MATCH_DISTANCE,
    REGIONS,
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


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share))))


def _caption_bar(image: Image.Image) -> Image.Image:
    """A dark bar over the bottom sixth with white words, as reposters add."""
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    w, h = copy.size
    draw.rectangle((0, h - h // 6, w, h), fill=(10, 10, 10))
    draw.text(
        (w // 20, h - h // 7), "SHARE BEFORE DELETED", font=font("DejaVuSans-Bold.ttf", h // 18), fill="white"
    )
    return copy


def _tagged(data: bytes, *, regions: bool = True) -> tuple[str, ...]:
    e = enrich_media(data, "image/jpeg", NO_OCR)
    return tagged_hashes(
        pdq=e.pdq, pdq_quality=e.pdq_quality, phash=e.phash, regions=e.regions if regions else ()
    )


def test_every_image_is_also_hashed_over_three_regions() -> None:
    h = hash_image(scene(3))
    assert [r.region for r in h.regions] == list(REGIONS) == ["centre_80", "top_80", "bottom_80"]
    assert all(len(r.pdq) == 64 and len(r.phash) == 16 and 0 <= r.pdq_quality <= 100 for r in h.regions)
    assert len({h.pdq, *(r.pdq for r in h.regions)}) == 4  # four different pictures, four hashes
    assert hash_image(Image.new("RGB", (6, 6), "red")).regions == ()  # a sliver: nothing to hash
    enriched = enrich_media(encode(scene(3), "PNG"), "image/png", NO_OCR)
    assert enriched.regions == h.regions  # the enricher carries them (PNG: the same pixels)


@pytest.mark.parametrize("seed", range(4))
def test_cropped_and_captioned_copies_match_only_through_the_regions(seed: int) -> None:
    original = scene(seed, (800, 600))
    known = _tagged(encode(original, "JPEG", quality=92))
    for name, copy in (("cropped 10%", _crop(original, 0.1)), ("caption bar", _caption_bar(original))):
        data = encode(copy, "JPEG", quality=85)
        assert hashes_near(_tagged(data), frozenset(known)), name
        assert not hashes_near(
            _tagged(data, regions=False), _tagged(encode(original, "JPEG"), regions=False)
        ), name
    others = [_tagged(encode(scene(seed + 50 + k, (800, 600)), "JPEG")) for k in range(4)]
    assert not any(hashes_near(other, frozenset(known)) for other in others)
