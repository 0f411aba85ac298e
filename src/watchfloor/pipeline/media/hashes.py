"""Perceptual hashes of an image (pHash and PDQ), their hex form, and the distances that count as a match.

Two hashes per image, because teams exchange both: **PDQ** (256 bits, Meta's open algorithm, what
trust-and-safety hash-sharing programmes and ThreatExchange use) and **pHash** (64 bits, imagehash's
DCT hash, what many open-source tools and older lists carry). Both survive resizing, recompression and
small overlays; neither survives heavy cropping or rotation well, and neither is a cryptographic hash:
an adversary can perturb an image until its hash moves (or craft a collision).

Both are computed from the same thumbnail (longer side at most ``HASH_SIDE`` pixels): PDQ downsamples
to 64×64 and pHash to 32×32 anyway, so hashing a 512-pixel thumbnail changes the result only slightly
and makes hashing a 12-megapixel photo cost the same as hashing a small one.

Hex forms: pHash is imagehash's ``str(hash)``, 16 hex digits. PDQ is 64 hex digits in the order of the
reference implementation's ``Hash256::format`` (16-bit word 15 first), the form ThreatExchange and
``pdq-photo-hasher`` print, so hashes from partners compare directly with ours. (Derived from the
reference code's bit layout and pdqhash's ``hash_to_vector``; no partner-supplied test vector was at
hand to confirm it end to end: check one before importing a partner's list.)

The match distances were chosen on ``benchmarks/bench_media.py`` (320 generated source images, six
transformed copies each, 2.5 million non-matching pairs; benchmarks/README.md has the table): the
largest distance whose false-match rate stays under 0.1% overall and under 1% between screenshots
(pictures of posts all share one layout: the look-alikes a watch floor sees most). Change them only
with a new benchmark run.

Regions. A whole-image hash does not survive a crop of 10% per side (recall 0 at these distances) or
a caption bar over the bottom sixth (about 0.35). So each image is also hashed over three fixed
regions (``REGIONS``): its centre 80% (what a crop of 10% per side leaves), its top 80%
and its bottom 80% (what is left clean when a caption bar covers the bottom or the top). Any hash of a
post is compared with any hash of a known image (``domain.media.tagged_hashes``): the cropped copy's
whole image meets the original's centre, the captioned copy's top meets the original's top. Measured
through that production path, recall over the four transformations rises from 0.58 to 0.99 while
false matches stay at 0.06% of pairs (0.9% between screenshots, as before: that is the whole-image
pHash). Other region sets measured no better within five hashes per image (centre 70% or 90%,
top/bottom 75% or 85%, left/right 80%). A region's PDQ is used when its quality is at least
``PDQ_MIN_QUALITY``, else its pHash: smooth, low-contrast pictures (45% of the generated textures)
have unreliable PDQ hashes but distinct pHashes; pHashes of every region regardless would push false
matches between screenshots to 2.2%. Off-centre crops and rotations stay unmatched (recall under
0.1): fixed regions only undo edits that keep the picture centred.
"""

from __future__ import annotations

import imagehash
import msgspec
import numpy as np
import pdqhash
from PIL import Image

from watchfloor.domain.media import (
    PDQ_MATCH_DISTANCE,
    PDQ_MIN_QUALITY,
    PHASH_MATCH_DISTANCE,
    RegionHash,
    hamming,
)

__all__ = [
    "HASH_SIDE",
    "PDQ_MATCH_DISTANCE",
    "PDQ_MIN_QUALITY",
    "PHASH_MATCH_DISTANCE",
    "REGIONS",
    "ImageHashes",
    "bits_to_hex",
    "hash_image",
    "pdq_matches",
    "phash_matches",
    "thumbnail",
]

HASH_SIDE = 512

# The match distances live in domain/media.py (the query layer matches with them too); the numbers
# behind them, from the benchmark:
# PDQ ≤ 31 of 256 bits, ThreatExchange's recommendation, confirmed: recall 0.98 resized to half, 0.97
# after JPEG quality 30 (0.99 and 1.00 when the source's quality is ≥ 50), with 0.00001 false matches
# (0.00014 between screenshots). A looser 48 would only lift caption-bar recall from 0.12 to 0.38
# while false matches between screenshots grew forty-fold.
# pHash ≤ 8 of 64 bits: recall 1.00 resized, 0.98 JPEG quality 30, with 0.0006 false matches overall
# and 0.009 between screenshots; at 10 those reach 0.0013 and 0.021. pHash confuses look-alikes far
# more than PDQ: prefer PDQ when both hashes are known.

# (PDQ_MIN_QUALITY, 50, lives in domain/media.py beside the distances: below it PDQ is not matched on.)

# Regions hashed besides the whole image, as (left, top, right, bottom) fractions of its size.
REGIONS: dict[str, tuple[float, float, float, float]] = {
    "centre_80": (0.1, 0.1, 0.9, 0.9),
    "top_80": (0.0, 0.0, 1.0, 0.8),
    "bottom_80": (0.0, 0.2, 1.0, 1.0),
}


class ImageHashes(msgspec.Struct, frozen=True, kw_only=True):
    """The perceptual hashes of one image, in hex."""

    phash: str  # 16 hex digits
    pdq: str  # 64 hex digits
    pdq_quality: int  # 0-100
    regions: tuple[RegionHash, ...] = ()  # the same over each of REGIONS


def thumbnail(image: Image.Image, side: int = HASH_SIDE) -> Image.Image:
    """The image shrunk so its longer side is at most ``side`` pixels (the image itself when smaller)."""
    if max(image.size) <= side:
        return image
    small = image.copy()
    small.thumbnail((side, side), Image.Resampling.BILINEAR)
    return small


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex of a 0/1 vector, most significant bit first (length a multiple of 8)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _hashes(image: Image.Image) -> tuple[str, str, int]:
    bits, quality = pdqhash.compute(np.asarray(image, dtype=np.uint8))
    return str(imagehash.phash(image)), bits_to_hex(bits), int(quality)


def hash_image(image: Image.Image) -> ImageHashes:
    """pHash and PDQ of an RGB image and of its ``REGIONS`` (decode it with ``images.decode_image`` first)."""
    small = thumbnail(image.convert("RGB") if image.mode != "RGB" else image)
    phash, pdq, quality = _hashes(small)
    w, h = small.size
    regions: list[RegionHash] = []
    for name, (left, top, right, bottom) in REGIONS.items():
        box = (round(w * left), round(h * top), round(w * right), round(h * bottom))
        if box[2] - box[0] < 8 or box[3] - box[1] < 8:  # a sliver of an image: nothing to hash
            continue
        r_phash, r_pdq, r_quality = _hashes(small.crop(box))
        regions.append(RegionHash(region=name, pdq=r_pdq, pdq_quality=r_quality, phash=r_phash))
    return ImageHashes(phash=phash, pdq=pdq, pdq_quality=quality, regions=tuple(regions))


def pdq_matches(a: str, b: str, *, distance: int = PDQ_MATCH_DISTANCE) -> bool:
    """Whether two PDQ hashes are within the match distance."""
    return hamming(a, b) <= distance


def phash_matches(a: str, b: str, *, distance: int = PHASH_MATCH_DISTANCE) -> bool:
    """Whether two pHashes are within the match distance."""
    return hamming(a, b) <= distance
