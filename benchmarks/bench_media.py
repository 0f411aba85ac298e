"""Media enrichment: near-duplicate image recall and false matches, hashing and OCR cost, OCR accuracy.

Run: ``python -m benchmarks.bench_media [N]`` (default 320 source images). Prints a summary, writes
``benchmarks/results/media.json`` and returns the same dict from ``run()``.

Images: generated deterministically (``benchmarks/media_images.py`` says how and why: there are no
licensed image files in ``../shared/data``), saved as JPEG quality 90 like a posted photo. Every hash
goes through the production path (``enrich_media`` with OCR off: safe decode, EXIF transpose,
thumbnail, pHash + PDQ), from the encoded bytes.

Definitions (issue goal: ≥ 95% recall at ≤ 1% false matches):

* ``production`` — the figures that matter, from the functions the rules use: each image's hash set
  as a post carries it (``enrich_media`` -> ``services.media.media_object`` -> ``image_facts``) and as
  a known-image list holds it (``services.images.file_hashes`` -> ``ImageListItem.tagged_hashes``,
  what ``image_list_hashes()`` gives the matcher), compared by ``domain.media.hashes_near`` at the
  rules' thresholds. ``whole`` drops the region hashes (the whole-image hashes alone, as before
  region hashes); ``regions`` is what production does. Both sets of an image are checked to be
  equal, so a pair matches the same way round either way and each unordered pair is tried once.
* recall — for each transformation, the share of transformed copies (as posts) that match their
  source (as a known image). ``main`` pools the four required transformations (resized 50%, cropped
  10% per side, JPEG q=30, text overlaid); ``rotated_5`` and ``cropped_uneven`` are reported apart
  as extra hard cases. ``recall_by_kind`` splits ``main`` by the source's kind.
* false-match rate — among all pairs of images (sources and copies, rotations included) from
  *different* sources, the share that match. ``false_match_rate_by_kind`` splits it by the pair's
  source kinds where both are the same kind (screenshot–screenshot is the hard case).
* ``pdq`` / ``phash`` / ``sweep`` — one whole-image hash alone, with no quality filter, at the match
  distance and at others: what justifies ``PDQ_MATCH_DISTANCE`` and ``PHASH_MATCH_DISTANCE``.

Cost, pinned to one core (tesseract's OpenMP threads follow the pinning): images per second by wall
time and by CPU time including child processes (tesseract runs as one), for (1) the baseline run
beside it — Pillow decode, RGB conversion and a 512-pixel thumbnail of the same JPEGs, what any
image pipeline pays — (2) hashing (``enrich_media`` with OCR off: whole image and three regions),
(2b) the same decode with the whole-image hashes only (the cost before region hashes) and (3)
hashing + OCR (English).
The box is shared: read the ratios.

OCR accuracy: generated two-line texts in six DejaVu fonts at five sizes (11-36 px) on four
backgrounds (black on white, yellow on blue, white on dark red, dark grey on light noise), read by
``ocr.read_text`` (production: greyscale, small images upscaled) and by plain ``pytesseract`` on the
same image (no preprocessing). Character error rate = Levenshtein distance / reference length,
summed over images, on whitespace-normalised text (lines joined by a space), case-sensitive.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from itertools import product
from typing import Any

import imagehash
import msgspec
import numpy as np
import pdqhash
from PIL import Image

from benchmarks.common import pin_one_core, write_result
from benchmarks.media_images import (
    FONTS,
    HARD_TRANSFORMS,
    TRANSFORMS,
    jpeg,
    source_image,
    text_image,
    words,
)
from watchfloor.domain.clock import SystemClock
from watchfloor.domain.errors import InputError
from watchfloor.domain.media import ImageListItem, hashes_near
from watchfloor.pipeline.media import EnrichSettings, enrich_media
from watchfloor.pipeline.media.hashes import (
    PDQ_MATCH_DISTANCE,
    PDQ_MIN_QUALITY,
    PHASH_MATCH_DISTANCE,
    thumbnail,
)
from watchfloor.pipeline.media.images import decode_image
from watchfloor.pipeline.media.ocr import installed_languages, read_text
from watchfloor.services.images import file_hashes
from watchfloor.services.media import media_object
from watchfloor.services.media_rules import image_facts

HASH_ONLY = EnrichSettings(ocr_languages=())
_NOW = SystemClock().now()
GOAL_RECALL, GOAL_FALSE = 0.95, 0.01
PDQ_SWEEP = (16, 24, 31, 36, 40, 44, 48, 52, 56, 64, 72, 80)
PHASH_SWEEP = (4, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20)


class _Hashed:
    """One image through the production path: its raw whole-image hashes (for the sweeps) and the
    tagged hash sets a post and a known image carry, with and without region hashes."""

    def __init__(self, data: bytes) -> None:
        enrichment = enrich_media(data, "image/jpeg", HASH_ONLY)
        assert enrichment.pdq and enrichment.phash and enrichment.pdq_quality is not None
        self.pdq, self.phash, self.quality = enrichment.pdq, enrichment.phash, enrichment.pdq_quality
        obj = media_object("0" * 64, len(data), "image/jpeg", enrichment, _NOW)
        self.post = {
            "whole": image_facts([msgspec.structs.replace(obj, regions=())])[1],
            "regions": image_facts([obj])[1],
        }
        try:
            kept = file_hashes(data)
        except InputError:  # too flat to be a known image: `images add` refuses it, it matches nothing
            self.known = {"whole": frozenset(), "regions": frozenset()}
        else:
            item = ImageListItem(id=0, list_id=0, phash=kept.phash or None, pdq=kept.pdq or None,
                                 sha256=None, label=None, added_by="bench", added_at=_NOW,
                                 regions=kept.regions)  # fmt: skip
            self.known = {
                "whole": frozenset(msgspec.structs.replace(item, regions=()).tagged_hashes),
                "regions": frozenset(item.tagged_hashes),
            }
        for variant, hashes in self.post.items():  # the two sides must agree (see the docstring)
            assert frozenset(hashes) == self.known[variant], (variant, hashes, self.known[variant])


def _words(hexes: list[str]) -> np.ndarray:
    """Hex hashes as rows of uint64 words (PDQ: 4 per hash, pHash: 1)."""
    return np.array([[int(h[i : i + 16], 16) for i in range(0, len(h), 16)] for h in hexes], dtype=np.uint64)


def _distances(words_: np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances of the rows of ``words_``."""
    return _cross(words_, words_)


def _curve(distances: np.ndarray, bits: int) -> np.ndarray:
    """Share of ``distances`` at or below each distance 0..bits."""
    counts = np.bincount(distances.ravel(), minlength=bits + 1)
    return np.cumsum(counts) / max(1, distances.size)


def _rates(
    dist: np.ndarray, bits: int, family: np.ndarray, label: list[str], kind: list[str], sources: list[int]
) -> dict[str, Any]:
    """Recall per transformation and false-match rates from one all-pairs distance matrix."""
    upper = np.triu(np.ones_like(dist, dtype=bool), k=1)
    different = upper & (family[:, None] != family[None, :])
    false_curve = _curve(dist[different], bits)
    recall_curves: dict[str, np.ndarray] = {}
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(label):
        if name != "source":
            by_label[name].append(int(dist[i, sources[family[i]]]))
    for name, values in by_label.items():
        recall_curves[name] = _curve(np.array(values), bits)
    main = np.concatenate([np.array(by_label[name]) for name in TRANSFORMS])
    recall_curves["main"] = _curve(main, bits)
    kinds = np.array(kind)
    same_kind = {
        k: _curve(dist[different & (kinds[:, None] == k) & (kinds[None, :] == k)], bits)
        for k in sorted(set(kind))
    }
    return {"recall": recall_curves, "false": false_curve, "false_by_kind": same_kind,
            "pairs": int(different.sum())}  # fmt: skip


def _at(rates: dict[str, Any], t: int) -> dict[str, Any]:
    return {
        "distance": t,
        "recall": {name: round(float(c[t]), 4) for name, c in rates["recall"].items()},
        "false_match_rate": float(rates["false"][t]),
        "false_match_rate_by_kind": {k: float(c[t]) for k, c in rates["false_by_kind"].items()},
    }


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between every row of ``a`` and every row of ``b``."""
    out = np.zeros((len(a), len(b)), dtype=np.int32)
    for col in range(a.shape[1]):
        out += np.bitwise_count(a[:, None, col] ^ b[None, :, col]).astype(np.int32)
    return out


def _production(
    hashed: list[_Hashed], variant: str, family: list[int], label: list[str], kind: list[str],
    sources: list[int],
) -> dict[str, Any]:  # fmt: skip
    """Recall and false matches of the production hash sets, compared by ``hashes_near``."""
    posts = [h.post[variant] for h in hashed]
    known = [h.known[variant] for h in hashed]
    matched: dict[str, list[bool]] = defaultdict(list)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for i, name in enumerate(label):
        if name != "source":
            hit = hashes_near(posts[i], known[sources[family[i]]])
            matched[name].append(hit)
            if name in TRANSFORMS:
                by_kind[kind[i]].append(hit)
    recall = {name: round(float(np.mean(v)), 4) for name, v in matched.items()}
    recall["main"] = round(float(np.mean([x for name in TRANSFORMS for x in matched[name]])), 4)
    pairs = false = 0
    pairs_kind: dict[str, int] = defaultdict(int)
    false_kind: dict[str, int] = defaultdict(int)
    for j in range(len(hashed)):  # the known image fixed in the inner loop, as the matcher sees a list
        for i in range(j):
            if family[i] == family[j]:
                continue
            hit = hashes_near(posts[i], known[j])
            pairs += 1
            false += hit
            if kind[i] == kind[j]:
                pairs_kind[kind[i]] += 1
                false_kind[kind[i]] += hit
    rate = false / max(1, pairs)
    return {
        "recall": recall,
        "recall_by_kind": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_kind.items())},
        "false_matches": false,
        "pairs": pairs,
        "false_match_rate": rate,
        "false_match_rate_by_kind": {k: false_kind[k] / max(1, n) for k, n in sorted(pairs_kind.items())},
        "hashes_per_image": round(float(np.mean([len(p) for p in posts])), 2),
        "meets_goal": recall["main"] >= GOAL_RECALL and rate <= GOAL_FALSE,
    }


def bench_near_duplicates(n: int) -> dict[str, Any]:
    """Hash n sources and their transformed copies; recall and false matches, production and per hash."""
    hashed: list[_Hashed] = []
    family: list[int] = []
    label: list[str] = []
    kind: list[str] = []
    sources: list[int] = []
    for i in range(n):
        source_kind, image = source_image(i)
        copies = [("source", jpeg(image))]
        copies += [(name, fn(image, i)) for name, fn in {**TRANSFORMS, **HARD_TRANSFORMS}.items()]
        for name, data in copies:
            if name == "source":
                sources.append(len(hashed))
            hashed.append(_Hashed(data))
            family.append(i)
            label.append(name)
            kind.append(source_kind)
    fam = np.array(family)
    quality = [h.quality for h in hashed]
    pdq_d = _distances(_words([h.pdq for h in hashed]))
    phash_d = _distances(_words([h.phash for h in hashed]))
    pdq_rates = _rates(pdq_d, 256, fam, label, kind, sources)
    phash_rates = _rates(phash_d, 64, fam, label, kind, sources)
    result = {
        "sources": n,
        "images": len(hashed),
        "non_matching_pairs": pdq_rates["pairs"],
        "data": "synthetic (benchmarks/media_images.py): scenes, posters, screenshots, textures",
        "pdq_quality_below_min": sum(q < PDQ_MIN_QUALITY for q in quality) / len(quality),
        "without_usable_hash": sum(not h.known["regions"] for h in hashed),  # too flat: match nothing
        "production": {
            "distances": {"pdq": PDQ_MATCH_DISTANCE, "phash": PHASH_MATCH_DISTANCE},
            "whole": _production(hashed, "whole", family, label, kind, sources),
            "regions": _production(hashed, "regions", family, label, kind, sources),
        },
        "pdq": _at(pdq_rates, PDQ_MATCH_DISTANCE),
        "phash": _at(phash_rates, PHASH_MATCH_DISTANCE),
        "sweep": {
            "pdq": [_at(pdq_rates, t) for t in PDQ_SWEEP],
            "phash": [_at(phash_rates, t) for t in PHASH_SWEEP],
        },
    }
    # Recall when the source's PDQ quality is at least PDQ_MIN_QUALITY (what Meta advises matching on).
    good = {f for f, index in enumerate(sources) if quality[index] >= PDQ_MIN_QUALITY}
    result["pdq"]["sources_quality_ok"] = len(good)
    result["pdq"]["recall_source_quality_ok"] = {
        name: float(np.mean([pdq_d[i, sources[family[i]]] <= PDQ_MATCH_DISTANCE
                             for i in range(len(label)) if label[i] == name and family[i] in good]))
        for name in {**TRANSFORMS, **HARD_TRANSFORMS}
    }  # fmt: skip
    for r in (result["pdq"], result["phash"]):
        r["meets_goal"] = r["recall"]["main"] >= GOAL_RECALL and r["false_match_rate"] <= GOAL_FALSE
    return result


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _rate(fn: Callable[[bytes], object], images: list[bytes], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` images/s by wall time, and by CPU time (children included)."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        for data in images:
            fn(data)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, _cpu() - cpu)
    return {
        "images": len(images),
        "images_per_s": len(images) / best_wall,
        "images_per_cpu_s": len(images) / max(best_cpu, 1e-9),
        "ms_per_image": best_wall / len(images) * 1000,
    }


def _baseline(data: bytes) -> None:
    import io

    with Image.open(io.BytesIO(data)) as image:
        thumbnail(image.convert("RGB"))


def _whole_only(data: bytes) -> None:
    """The hashing before region hashes: safe decode, thumbnail, PDQ and pHash of the whole image."""
    small = thumbnail(decode_image(data, max_pixels=HASH_ONLY.max_pixels).image)
    pdqhash.compute(np.asarray(small, dtype=np.uint8))
    imagehash.phash(small)


def bench_cost(n: int) -> dict[str, Any]:
    images = [jpeg(source_image(i)[1]) for i in range(n)]
    baseline = _rate(_baseline, images, 3)
    hashing = _rate(lambda d: enrich_media(d, "image/jpeg", HASH_ONLY), images, 3)
    whole = _rate(_whole_only, images, 3)
    result: dict[str, Any] = {
        "mean_megapixels": sum(source_image(i)[1].width * source_image(i)[1].height for i in range(n))
        / n
        / 1e6,
        "baseline_pillow_decode_resize": baseline,
        "hash": hashing,
        "hash_whole_image_only": whole,
        "hash_vs_baseline_cost": baseline["images_per_s"] / hashing["images_per_s"],
        "hash_vs_whole_image_only_cost": whole["images_per_cpu_s"] / hashing["images_per_cpu_s"],
    }
    if installed_languages("tesseract"):
        ocr_images = images[: max(8, n // 2)]
        full = _rate(lambda d: enrich_media(d, "image/jpeg", EnrichSettings()), ocr_images, 1)
        result["hash_ocr"] = full
        result["hash_ocr_vs_baseline_cost"] = baseline["images_per_s"] / full["images_per_s"]
    else:
        result["hash_ocr"] = None
    return result


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _flat(text: str) -> str:
    return " ".join(text.split())


BACKGROUNDS = {
    "black_on_white": ((0, 0, 0), "white"),
    "yellow_on_blue": ((255, 230, 0), (30, 90, 160)),
    "white_on_red": ((255, 255, 255), (150, 20, 30)),
    "grey_on_noise": ((60, 60, 60), "noise"),
}
OCR_SIZES = (11, 14, 18, 24, 36)


def bench_ocr() -> dict[str, Any] | None:
    """Character error rate on generated text, production preprocessing against plain pytesseract."""
    import pytesseract

    if not installed_languages("tesseract"):
        return None
    settings = EnrichSettings()
    rng = random.Random("bench-media-ocr")
    totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    seconds = 0.0
    cases = list(product(FONTS, OCR_SIZES, BACKGROUNDS))
    for font_name, size, background in cases:
        text = (
            f"{words(rng, rng.randrange(3, 6))}\n{words(rng, rng.randrange(3, 6))} {rng.randrange(10, 999)}"
        )
        ink, paper = BACKGROUNDS[background]
        image = text_image(text, font_name, size, ink, paper)
        start = time.perf_counter()
        ours = read_text(image, settings)
        seconds += time.perf_counter() - start
        plain = str(pytesseract.image_to_string(image, lang="eng"))
        reference = _flat(text)
        errors = (levenshtein(reference, _flat(ours.text or "")), levenshtein(reference, _flat(plain)))
        for key in ("all", f"size_{size}", background, font_name):
            row = totals[key]
            row["ours"][0] += errors[0]
            row["plain"][0] += errors[1]
            row["ours"][1] += len(reference)
            row["plain"][1] += len(reference)
    cer = {key: {v: round(c[0] / max(1, c[1]), 4) for v, c in row.items()} for key, row in totals.items()}
    return {
        "images": len(cases),
        "cer": cer["all"]["ours"],
        "cer_plain_pytesseract": cer["all"]["plain"],
        "by_group": {k: v for k, v in cer.items() if k != "all"},
        "ms_per_image": seconds / len(cases) * 1000,
    }


def run(n: int = 320) -> dict[str, Any]:
    pin_one_core()
    result = {
        "near_duplicates": bench_near_duplicates(n),
        "cost": bench_cost(min(n, 96)),
        "ocr": bench_ocr(),
    }
    path = write_result("media", result)
    nd, cost, ocr = result["near_duplicates"], result["cost"], result["ocr"]
    for name in ("whole", "regions"):
        r = nd["production"][name]
        print(
            f"production {name:7}: recall main {r['recall']['main']:.3f} "
            f"{ {k: v for k, v in r['recall'].items() if k != 'main'} } "
            f"false matches {r['false_match_rate']:.5f} of {r['pairs']:,} pairs "
            f"{ {k: round(v, 5) for k, v in r['false_match_rate_by_kind'].items()} }"
        )
    print(
        f"cost: baseline {cost['baseline_pillow_decode_resize']['images_per_s']:.1f} img/s, "
        f"hash {cost['hash']['images_per_s']:.1f} img/s "
        f"(whole image only {cost['hash_whole_image_only']['images_per_s']:.1f}), "
        f"hash+OCR {(cost['hash_ocr'] or {}).get('images_per_s', float('nan')):.2f} img/s"
    )
    if ocr:
        print(f"OCR CER {ocr['cer']:.4f} (plain pytesseract {ocr['cer_plain_pytesseract']:.4f})")
    print(f"wrote {path}")
    return result


def main() -> None:
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 320)


if __name__ == "__main__":
    main()
