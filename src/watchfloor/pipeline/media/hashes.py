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

The match distances were chosen on ``benchmarks/bench_media.py`` (320 generated source images, four
transformed copies each, 2.5 million non-matching pairs; benchmarks/README.md has the table): the
largest distance whose false-match rate stays under 0.1% overall and under 1% between screenshots
(pictures of posts all share one layout: the look-alikes a watch floor sees most). Change them only
with a new benchmark run.

Known limit, measured: a whole-image hash does not survive a crop of 10% per side (recall 0 for
both hashes at these distances) or a caption bar over the bottom sixth (PDQ 0.12, pHash 0.33).
Hashing a few fixed regions as well (centre 80%, top 80%, bottom 80%) brings PDQ to 0.99 recall over
all four at the same distance and false-match rate (pHash too, but at 0.2% false matches); it needs
more than one hash per stored image (the benchmark's "regions_proposal"). Off-centre crops and
rotations stay unmatched either way.
"""

from __future__ import annotations

import imagehash
import msgspec
import numpy as np
import pdqhash
from PIL import Image

from watchfloor.domain.media import PDQ_MATCH_DISTANCE, PHASH_MATCH_DISTANCE, hamming

__all__ = [
    "HASH_SIDE",
    "PDQ_MATCH_DISTANCE",
    "PDQ_MIN_QUALITY",
    "PHASH_MATCH_DISTANCE",
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

# PDQ quality (0-100) below this means a nearly featureless image (a flat colour, a faint gradient):
# its hash matches other featureless images, so matching on it is unreliable (Meta's guidance: 50).
PDQ_MIN_QUALITY = 50


class ImageHashes(msgspec.Struct, frozen=True, kw_only=True):
    """The perceptual hashes of one image, in hex."""

    phash: str  # 16 hex digits
    pdq: str  # 64 hex digits
    pdq_quality: int  # 0-100


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


def hash_image(image: Image.Image) -> ImageHashes:
    """pHash and PDQ of an RGB image (decode it with ``images.decode_image`` first)."""
    small = thumbnail(image.convert("RGB") if image.mode != "RGB" else image)
    bits, quality = pdqhash.compute(np.asarray(small, dtype=np.uint8))
    return ImageHashes(phash=str(imagehash.phash(small)), pdq=bits_to_hex(bits), pdq_quality=int(quality))


def pdq_matches(a: str, b: str, *, distance: int = PDQ_MATCH_DISTANCE) -> bool:
    """Whether two PDQ hashes are within the match distance."""
    return hamming(a, b) <= distance


def phash_matches(a: str, b: str, *, distance: int = PHASH_MATCH_DISTANCE) -> bool:
    """Whether two pHashes are within the match distance."""
    return hamming(a, b) <= distance
