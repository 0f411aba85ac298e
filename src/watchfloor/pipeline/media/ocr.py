"""Read the text in an image with tesseract (Debian's ``tesseract-ocr``, through pytesseract).

Memes, screenshots of posts and scam flyers carry their message in the picture, where keyword rules
cannot see it; OCR puts it where they can. OCR is optional: without the tesseract binary, or without
any of the configured language packs, the status is ``unavailable`` with a note saying what to
install, and everything else about the image is still enriched.

* Languages: ``EnrichSettings.ocr_languages`` (tesseract codes: ``eng``, ``deu``, ``ara``...). The
  installed packs are listed once per tesseract binary (``tesseract --list-langs``) and cached for the
  life of the process; a pack installed later is seen after a restart. When only some of the
  configured packs are installed the image is read with those, and a note names the missing ones.
* Images are read in greyscale, and small ones upscaled (longer side to ``UPSCALE_TO`` pixels, at
  most ×``MAX_UPSCALE``): tesseract misreads letters only a few pixels tall ("pi" for "prize" in
  12-pixel text), and the small captions of a 500-pixel meme are common. On the generated text of
  ``benchmarks/bench_media.py`` this took 11-pixel text from a character error rate of 0.002 to 0
  (a handful of characters; at 12 px and up the difference is within noise); upscaling images
  already 1,000 pixels or more (to 2,000) cost 10-20% more time for no gain.
* The text is whitespace-normalised: runs of spaces and tabs become one space, blank lines are
  dropped, lines are kept (a meme's top and bottom text stay apart).
* ``failed`` means tesseract ran and errored or exceeded ``ocr_timeout_seconds`` on this image.

Tesseract runs with ``OMP_THREAD_LIMIT=1``: Debian's build uses OpenMP, whose threads spin while
waiting; on the 2-core reference machine one small image took 0.43 s of wall time and 0.39 s of
CPU with it, 0.12 s and 0.12 s without. pytesseract reads the binary's path and the child's
environment from module globals, so they are set, and calls serialised, under a lock: one process
runs one tesseract at a time. Its own ``get_languages`` caches the first answer for every binary,
which is why it is not used.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import threading
from collections import ChainMap

import msgspec
import pytesseract
from PIL import Image

from watchfloor.domain.media import OcrStatus
from watchfloor.pipeline.media.settings import EnrichSettings

UPSCALE_TO = 1000  # pixels on the longer side an upscaled small image gets
MAX_UPSCALE = 2.0
_LOCK = threading.Lock()
# The environment tesseract runs in: the process's own, with OpenMP limited to one thread.
_CHILD_ENV = ChainMap({"OMP_THREAD_LIMIT": "1"}, os.environ)
_LANGUAGE = re.compile(r"^[A-Za-z0-9_]+$")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


class OcrResult(msgspec.Struct, frozen=True, kw_only=True):
    """What OCR made of one image: the status, the text (``done`` only) and a note when not plain."""

    status: OcrStatus
    text: str | None = None
    note: str | None = None


@functools.lru_cache(maxsize=8)
def installed_languages(tesseract_cmd: str) -> tuple[str, ...] | None:
    """The language packs ``tesseract_cmd`` has, or None when the binary cannot be run (cached).

    A timeout raises ``subprocess.TimeoutExpired`` instead, so that a slow moment is not cached as
    "not installed" for the life of the process.
    """
    try:
        done = subprocess.run(  # noqa: S603 (the configured binary, fixed arguments, no shell)
            [tesseract_cmd, "--list-langs"], capture_output=True, timeout=30, check=False, env=_CHILD_ENV
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    # The first line is a header ("List of available languages in ..."); "osd" is not a language.
    return tuple(s for line in lines[1:] if _LANGUAGE.match(s := line.strip()) and s != "osd")


def normalise_text(text: str) -> str:
    """Collapse runs of spaces on each line and drop blank lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def prepare(image: Image.Image) -> Image.Image:
    """The image as tesseract reads it best: greyscale, small images upscaled."""
    grey = image.convert("L")
    longer = max(grey.size)
    scale = min(MAX_UPSCALE, UPSCALE_TO / longer) if longer else 1.0
    if scale > 1.05:
        size = (round(grey.width * scale), round(grey.height * scale))
        grey = grey.resize(size, Image.Resampling.LANCZOS)
    return grey


def read_text(image: Image.Image, settings: EnrichSettings) -> OcrResult:
    """OCR ``image`` with the configured languages; never raises for a missing or failing engine."""
    if not settings.ocr_languages:
        return OcrResult(status="skipped", note="OCR is turned off (WATCHFLOOR_OCR_LANGUAGES is empty)")
    try:
        installed = installed_languages(settings.tesseract_cmd)
    except subprocess.TimeoutExpired:
        return OcrResult(status="failed", note="OCR failed: tesseract did not list its languages in time")
    if installed is None:
        return OcrResult(
            status="unavailable",
            note=(
                f"OCR unavailable: tesseract ({settings.tesseract_cmd!r}) is not installed or cannot "
                "run; install Debian's tesseract-ocr and restart"
            ),
        )
    usable = [lang for lang in settings.ocr_languages if lang in installed]
    missing = [lang for lang in settings.ocr_languages if lang not in installed]
    packs = ", ".join(f"tesseract-ocr-{lang}" for lang in missing)
    if not usable:
        return OcrResult(
            status="unavailable",
            note=f"OCR unavailable: tesseract lacks the language pack(s) {packs}; install and restart",
        )
    note = None
    if missing:
        note = f"OCR read with {'+'.join(usable)} only: install {packs} for {', '.join(missing)}"
    with _LOCK:
        pytesseract.pytesseract.tesseract_cmd = settings.tesseract_cmd
        pytesseract.pytesseract.environ = _CHILD_ENV
        try:
            raw = pytesseract.image_to_string(
                prepare(image), lang="+".join(usable), timeout=settings.ocr_timeout_seconds
            )
        except RuntimeError as exc:  # pytesseract's timeout, and TesseractError (a RuntimeError)
            reason = "timed out" if "timeout" in str(exc).lower() else f"failed: {exc}"
            return OcrResult(status="failed", note=f"OCR {reason}"[:300])
        except OSError as exc:  # the binary vanished since the language check
            return OcrResult(status="unavailable", note=f"OCR unavailable: {exc}")
    return OcrResult(status="done", text=normalise_text(str(raw)), note=note)
