"""Decode an untrusted image safely, and read its size and the camera/time EXIF (never GPS).

Files come from anyone on the internet, so decoding is defensive:

* Only the formats social platforms serve are tried (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF): Pillow
  can open others whose decoders are riskier (EPS runs Ghostscript) and none of them is needed. HEIC
  is not decodable here (Pillow has no HEIF decoder without a plugin): such files are refused.
* The pixel count the header declares is checked against ``max_pixels`` before any pixel is decoded,
  so a 30,000×30,000 PNG of a few kilobytes (a decompression bomb) is refused without allocating
  2.7 GB. Pillow's own ``DecompressionBombWarning``/``Error`` (its global limit) become refusals too.
* ``verify()`` checks the file's structure, then the image is opened again and loaded in full: a
  truncated file fails there, never half-decoded. Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` is a
  process-wide switch that WeasyPrint turns on when it is imported (the console imports it for PDF
  reports), so the load runs with it off, under a lock, whoever else is in the process.
* Animated GIF/WebP/PNG: the first frame only. The EXIF orientation is applied, so a photo taken
  sideways is hashed and read upright. Transparency is flattened onto white (text on a transparent
  sticker reads black on white, not black on black).

EXIF: camera make, model and software, and ``DateTimeOriginal`` as written, nothing else. GPS tags
are never read: a photo's location is a person's location (DESIGN.md). The original file, as fetched,
still contains them; nothing here copies them anywhere.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from watchfloor.domain.media import CameraInfo
from watchfloor.pipeline.media.errors import MediaRejected

# Pillow format names tried, in order (MPO is how Pillow names multi-picture JPEGs from phones).
FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")

_MAKE, _MODEL, _SOFTWARE = 0x010F, 0x0110, 0x0131  # in IFD0
_EXIF_IFD, _DATETIME_ORIGINAL = 0x8769, 0x9003  # the Exif sub-IFD and its DateTimeOriginal
_MAX_TEXT = 120  # characters kept of an EXIF text field
_STRICT = threading.Lock()


@contextmanager
def _strict_loading() -> Iterator[None]:
    """Pillow refusing truncated files for the duration, whatever another library set globally."""
    with _STRICT:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


class DecodedImage(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded image: RGB pixels of the first frame, upright, and what its header and EXIF say."""

    image: Image.Image
    width: int  # as displayed (after the EXIF orientation)
    height: int
    format: str  # Pillow's format name
    camera: CameraInfo | None


def _formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in FORMATS if f in Image.OPEN)


def _refuse_bomb(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise MediaRejected(f"image declares an empty size ({width}×{height})")
    if width * height > max_pixels:
        raise MediaRejected(
            f"image declares {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), over the "
            f"limit of {max_pixels / 1e6:g}: refused as a possible decompression bomb "
            "(raise WATCHFLOOR_MEDIA_MAX_MEGAPIXELS if such images are expected)"
        )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) and check the declared size; raises MediaRejected."""
    try:
        image = Image.open(io.BytesIO(data), formats=_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRejected(f"refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise MediaRejected(
            "not an image watchfloor reads (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF), or its header is damaged"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRejected(f"image header cannot be read: {exc}") from exc
    _refuse_bomb(image.width, image.height, max_pixels)
    return image


def decode_image(data: bytes, *, max_pixels: int) -> DecodedImage:
    """Decode ``data`` into an upright RGB image of its first frame; raises MediaRejected."""
    with warnings.catch_warnings(), _strict_loading():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        probe = _open(data, max_pixels)
        try:
            probe.verify()
        except Exception as exc:  # verify raises whatever the plugin's parser raises
            raise MediaRejected(f"image is damaged: {exc}") from exc
        image = _open(data, max_pixels)
        fmt = image.format or "unknown"
        try:
            image.load()  # the first frame
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaRejected(f"refused as a decompression bomb: {exc}") from exc
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise MediaRejected(f"image cannot be decoded (damaged or truncated?): {exc}") from exc
    try:
        exif = image.getexif()
        camera = camera_info(exif)
        upright = ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF must not cost the picture: read it as stored, without camera data
        camera, upright = None, image
    rgb = _flatten(upright)
    return DecodedImage(image=rgb, width=rgb.width, height=rgb.height, format=fmt, camera=camera)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels, with any transparency composited onto white."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _text(value: object) -> str | None:
    """An EXIF text value as a short printable string, or None when absent or empty."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or None


def camera_info(exif: Image.Exif) -> CameraInfo | None:
    """Camera make/model/software and DateTimeOriginal from EXIF; None when it says none of them.

    Reads IFD0 and the Exif sub-IFD only. The GPS IFD (tag 0x8825) is deliberately never opened.
    """
    try:
        taken_at = _text(exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL))
    except Exception:  # a malformed sub-IFD must not cost the image: the time is just absent
        taken_at = None
    info = CameraInfo(
        make=_text(exif.get(_MAKE)),
        model=_text(exif.get(_MODEL)),
        software=_text(exif.get(_SOFTWARE)),
        taken_at=taken_at,
    )
    return info if info != CameraInfo() else None
