"""Test images and videos made at test time (Pillow, ffmpeg), and the tool requirement check.

OCR and video tests need Debian's tesseract-ocr and ffmpeg. Without them the tests skip on a
developer's machine, and fail where ``WATCHFLOOR_REQUIRE_SERVICES=1`` (CI: ``.ci/run`` installs both).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def require_tool(name: str) -> str:
    """The path of ``name``; skips (or fails in CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (Debian: apt-get install tesseract-ocr ffmpeg)"
        if os.environ.get("WATCHFLOOR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}; WATCHFLOOR_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    return path


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / name
    if not path.exists():
        if os.environ.get("WATCHFLOOR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"font {path} is missing (apt-get install fonts-dejavu-core)")
        pytest.skip(f"font {path} is missing (apt-get install fonts-dejavu-core)")
    return ImageFont.truetype(str(path), size)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture (gradient, shapes, blur, sensor-like noise) that differs for every seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top = [rng.randrange(256) for _ in range(3)]
    bottom = [rng.randrange(256) for _ in range(3)]
    for y in range(size[1]):
        t = y / size[1]
        colour = tuple(round(a * (1 - t) + b * t) for a, b in zip(top, bottom, strict=True))
        draw.line((0, y, size[0], y), fill=colour)
    for _ in range(rng.randrange(4, 9)):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x, y, x + rng.randrange(40, size[0] // 2), y + rng.randrange(40, size[1] // 2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 12, blurred.shape).astype(np.int16)
    return Image.fromarray(np.clip(blurred + noise, 0, 255).astype(np.uint8))


def text_image(
    lines: list[str],
    font_name: str = "DejaVuSans.ttf",
    size: int = 24,
    ink: tuple[int, int, int] = (0, 0, 0),
    paper: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """``lines`` drawn with a margin of one text height."""
    face = font(font_name, size)
    width = int(max(face.getlength(line) for line in lines)) + 2 * size
    height = int(len(lines) * size * 1.5) + 2 * size
    image = Image.new("RGB", (width, height), paper)
    ImageDraw.Draw(image).multiline_text(
        (size, size), "\n".join(lines), font=face, fill=ink, spacing=size // 2
    )
    return image


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(Levenshtein distance, reference length) on whitespace-normalised text."""
    a, b = " ".join(reference.split()), " ".join(hypothesis.split())
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1], len(a)


def make_video(tmp: Path, segments: list[list[str]], name: str = "clip.mp4") -> bytes:
    """An H.264 MP4 of ``segments`` played one after the other (each a list of ffmpeg input args).

    e.g. ``[["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2"], ...]``; every segment
    must produce 320×240 frames at 10 fps.
    """
    ffmpeg = require_tool("ffmpeg")
    inputs = [arg for segment in segments for arg in segment]
    streams = "".join(f"[{i}:v]" for i in range(len(segments)))
    out = tmp / name
    command = [ffmpeg, "-v", "error", "-y", *inputs, "-filter_complex"]
    command += [f"{streams}concat=n={len(segments)}:v=1:a=0,format=yuv420p", "-c:v", "libx264", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return out.read_bytes()


def lavfi(source: str, seconds: float) -> list[str]:
    """A generated 320×240, 10 fps input: ``testsrc``, ``testsrc2``, ``color=c=red``, ``smptebars``..."""
    joiner = ":" if "=" in source else "="
    return ["-f", "lavfi", "-i", f"{source}{joiner}size=320x240:rate=10:duration={seconds}"]


def still(path: Path, seconds: float) -> list[str]:
    """A still image (320×240) shown for ``seconds`` at 10 fps."""
    return ["-loop", "1", "-framerate", "10", "-t", str(seconds), "-i", str(path)]
