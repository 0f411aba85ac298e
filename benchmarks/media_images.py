"""Deterministic synthetic images for the media benchmark: distinct sources, transformed copies, text.

``../shared/data`` holds no images (its recorded payloads carry media URLs, not files), and the
benchmark may not download any, so source images are generated from a seed. Four kinds, a quarter
each, chosen to include the look-alikes that make perceptual hashes produce false matches:

* ``scene``: a photo-like landscape — sky and ground gradients split at a random horizon, smooth
  low-frequency noise, a few shapes, a light blur;
* ``poster``: a flat or two-colour background, one to three large shapes and two to four lines of
  big text (a meme or a flyer);
* ``screenshot``: a light or dark page with a coloured header bar, an avatar circle and lines of
  small text — screenshots of posts all share one layout, the hardest case for false matches;
* ``texture``: coloured multi-octave smooth noise (foliage, crowds, water at a distance).

Sizes vary (640×480 to 1200×675, portrait and square too). Generated images are cleaner than
photos (no sensor noise, no real objects); treat the recall and false-match figures as a check of
the thresholds on varied content, not as a measurement on a real feed.

Transformations (``TRANSFORMS``): resized to 50%, cropped 10% on each side, recompressed as JPEG at
quality 30, a caption bar with text overlaid; reported separately as hard extras
(``HARD_TRANSFORMS``): rotated 5°, and an uneven crop (5% left, 12% top, 15% right, 8% bottom).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSerif-Bold.ttf",
)
SIZES = ((1024, 768), (800, 800), (1200, 675), (720, 960), (640, 480), (960, 540))
KINDS = ("scene", "poster", "screenshot", "texture")
_WORD_TEXT = """
the city police fire storm road market school vote news today people water bridge closed protest hall
tomorrow evacuate zone before hours breaking route claim prize send free offer limited click link
share now follow report update live weather flood warning shelter open near center station train
bus delay power outage hospital help needed volunteers food supply truck border crossing weekend
rally march peace justice rights workers union strike price crypto wallet giveaway winner official
account verified support team message from your bank security alert login password expires
"""
WORDS = tuple(_WORD_TEXT.split())


@cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_DIR + name, size)


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """Values in [0, 1]: random cells upsampled bicubically (low-frequency, photo-like variation)."""
    w, h = size
    small = rng.random((max(2, cells * h // w), cells))
    img = Image.fromarray((small * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255


def _gradient(size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]) -> np.ndarray:
    w, h = size
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(np.array(top) * (1 - t) + np.array(bottom) * t, (h, w, 3)).copy()


def _shapes(draw: ImageDraw.ImageDraw, rng: random.Random, size: tuple[int, int], n: int) -> None:
    w, h = size
    for _ in range(n):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(20, w // 2), y0 + rng.randrange(20, h // 2)
        shape = rng.choice(("ellipse", "rectangle", "polygon", "line"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == "polygon":
            points = [(rng.randrange(w), rng.randrange(h)) for _ in range(rng.randrange(3, 7))]
            draw.polygon(points, fill=_colour(rng))
        else:
            draw.line((x0, y0, x1, y1), fill=_colour(rng), width=rng.randrange(3, 20))


def _scene(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    horizon = rng.randrange(h // 4, 3 * h // 4)
    sky = _gradient((w, horizon), _colour(rng), _colour(rng))
    ground = _gradient((w, h - horizon), _colour(rng), _colour(rng))
    pixels = np.concatenate([sky, ground], axis=0)
    pixels += (_smooth_noise(nrng, size, rng.randrange(4, 24))[..., None] - 0.5) * rng.randrange(40, 140)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    _shapes(ImageDraw.Draw(image), rng, size, rng.randrange(2, 8))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.5)))


def _poster(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    if rng.random() < 0.5:
        image = Image.new("RGB", size, _colour(rng))
    else:
        image = Image.fromarray(_gradient(size, _colour(rng), _colour(rng)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    _shapes(draw, rng, size, rng.randrange(1, 4))
    for line in range(rng.randrange(2, 5)):
        face = font(rng.choice(FONTS), rng.randrange(h // 16, h // 8))
        y = h // 10 + line * h // 5
        draw.text((w // 12, y), words(rng, rng.randrange(2, 5)).upper(), font=face, fill=_colour(rng))
    return image


def _screenshot(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    dark = rng.random() < 0.3
    image = Image.new("RGB", size, (21, 32, 43) if dark else (rng.randrange(235, 256),) * 3)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, w, h // 12), fill=_colour(rng))
    draw.ellipse((20, h // 12 + 20, 80, h // 12 + 80), fill=_colour(rng))
    face = font(rng.choice(FONTS[:3]), rng.randrange(16, 24))
    ink = (230, 230, 230) if dark else (20, 20, 20)
    y = h // 12 + 100
    while y < h - 40:
        draw.text((20, y), words(rng, rng.randrange(3, 10)), font=face, fill=ink)
        y += rng.randrange(28, 44)
    return image


def _texture(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    octaves = sum(_smooth_noise(nrng, size, c) / (i + 1) for i, c in enumerate((4, 16, 64)))
    octaves = (octaves - octaves.min()) / max(1e-6, float(octaves.max() - octaves.min()))
    a, b = np.array(_colour(rng)), np.array(_colour(rng))
    pixels = a * (1 - octaves[..., None]) + b * octaves[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


_MAKERS = {"scene": _scene, "poster": _poster, "screenshot": _screenshot, "texture": _texture}


def source_image(index: int) -> tuple[str, Image.Image]:
    """The ``index``-th source image and its kind (the same for the same index, in any process)."""
    rng = random.Random(f"bench-media-{index}")
    nrng = np.random.default_rng(index)
    kind = KINDS[index % len(KINDS)]
    return kind, _MAKERS[kind](rng, nrng, rng.choice(SIZES))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _overlay(image: Image.Image, seed: int) -> Image.Image:
    """A dark caption bar across the bottom sixth with white text, as reposters add."""
    rng = random.Random(f"overlay-{seed}")
    copy = image.convert("RGBA")
    layer = Image.new("RGBA", copy.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = copy.size
    draw.rectangle((0, h - h // 6, w, h), fill=(0, 0, 0, 170))
    face = font("DejaVuSans-Bold.ttf", max(12, h // 18))
    draw.text((w // 20, h - h // 7), words(rng, 4).upper(), font=face, fill=(255, 255, 255, 255))
    return Image.alpha_composite(copy, layer).convert("RGB")


def _crop(
    image: Image.Image, left: float = 0.1, top: float = 0.1, right: float = 0.1, bottom: float = 0.1
) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


TRANSFORMS: dict[str, Callable[[Image.Image, int], bytes]] = {
    "resized_50": lambda im, _: jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)),
    "cropped_10": lambda im, _: jpeg(_crop(im)),
    "jpeg_q30": lambda im, _: jpeg(im, 30),
    "text_overlay": lambda im, seed: jpeg(_overlay(im, seed)),
}
HARD_TRANSFORMS: dict[str, Callable[[Image.Image, int], bytes]] = {
    "rotated_5": lambda im, _: jpeg(im.rotate(5, Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))),
    # Off-centre: 5% left, 12% top, 15% right, 8% bottom (not one of the regions hashed below).
    "cropped_uneven": lambda im, _: jpeg(_crop(im, 0.05, 0.12, 0.15, 0.08)),
}


def text_image(
    text: str, font_name: str, size: int, ink: tuple[int, int, int], background: str | tuple[int, int, int]
) -> Image.Image:
    """``text`` (lines separated by newlines) drawn with a margin on a plain or noisy background."""
    face = font(font_name, size)
    lines = text.split("\n")
    width = int(max(face.getlength(line) for line in lines)) + 2 * size
    height = int(len(lines) * size * 1.5) + 2 * size
    if background == "noise":
        nrng = np.random.default_rng(len(text) * 31 + size)
        light = 200 + _smooth_noise(nrng, (width, height), 12)[..., None] * 55
        image = Image.fromarray(np.broadcast_to(light, (height, width, 3)).astype(np.uint8))
    else:
        image = Image.new("RGB", (width, height), background)
    ImageDraw.Draw(image).multiline_text((size, size), text, font=face, fill=ink, spacing=size // 2)
    return image
