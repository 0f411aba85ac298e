"""Tell a file's type from its first bytes (magic numbers), never from what a server or a post claims.

A server may label an HTML error page ``image/jpeg``, and a hostile one may label anything as anything;
the fetcher and the enricher decide what a file is from its bytes alone. :func:`sniff_media_type`
recognises the images and videos posts carry, and a few other things (HTML, SVG, PDF, archives) so a
refusal can say what the file really was. It returns ``None`` for anything else. Pure.
"""

from __future__ import annotations

__all__ = ["SNIFF_BYTES", "sniff_media_type"]

SNIFF_BYTES = 512  # enough for every signature below, including HTML after leading whitespace

# ISO base media file format (``....ftyp<brand>``): the major brand says what the file is.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_ISO_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<title", b"<script")


def _iso_bmff(head: bytes) -> str | None:
    major = head[8:12]
    # Compatible brands follow the 4-byte minor version, up to the end of the ftyp box.
    box_size = int.from_bytes(head[0:4], "big")
    brands = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)} | {major}
    if major in _AVIF_BRANDS or (major in (b"mif1", b"msf1") and brands & _AVIF_BRANDS):
        return "image/avif"
    if brands & _HEIF_BRANDS or major in (b"mif1", b"msf1"):
        return "image/heic"
    if major == b"qt  ":
        return "video/quicktime"
    if major.startswith(b"3g"):
        return "video/3gpp"
    if major in _ISO_AUDIO_BRANDS:
        return "audio/mp4"
    return "video/mp4"  # isom, iso2..iso9, mp41, mp42, avc1, dash, M4V , MSNV, ...


def _matroska(head: bytes) -> str:
    # The EBML header's DocType element (ID 0x4282) says "webm" or "matroska" within the first bytes.
    return "video/webm" if b"webm" in head[:64] else "video/x-matroska"


def _riff(head: bytes) -> str | None:
    form = head[8:12]
    if form == b"WEBP":
        return "image/webp"
    if form == b"AVI ":
        return "video/x-msvideo"
    if form == b"WAVE":
        return "audio/wav"
    return None


def _markup(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(_HTML_STARTS):
        return "text/html"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "image/svg+xml"
    if text.startswith(b"<?xml"):
        return "application/xml"
    return None


def sniff_media_type(head: bytes) -> str | None:
    """The media type the first bytes of a file show (``image/png``, ``video/mp4``, ...), or ``None``.

    Give it at least the first :data:`SNIFF_BYTES` bytes (or the whole file when it is shorter).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return _riff(head)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska(head)
    if (
        head.startswith(b"BM")
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    ):
        return "image/bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"\x00\x00\x01\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return "image/x-icon"
    if head.startswith(b"OggS"):
        return "application/ogg"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "audio/mpeg"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"\x00\x00\x00\x0cjP  "):
        return "image/jp2"
    return _markup(head)
