"""The magic-byte sniffer and the content-addressed media directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.media.server import HTML, SVG, image_bytes
from watchfloor.connectors.media.sniff import sniff_media_type
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.store.media_files import MediaFiles


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_sniffs_images_pillow_writes(fmt: str, expected: str) -> None:
    assert sniff_media_type(image_bytes("red", fmt)[:512]) == expected


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 32


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
        (_ftyp(b"mp42", b"mp42", b"isom"), "video/mp4"),
        (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
        (_ftyp(b"3gp4", b"3gp4"), "video/3gpp"),
        (_ftyp(b"avif", b"avif", b"mif1"), "image/avif"),
        (_ftyp(b"mif1", b"avif"), "image/avif"),
        (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"M4A ", b"M4A "), "audio/mp4"),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 20,
            "video/webm",
        ),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska" + b"\x00" * 20, "video/x-matroska"),
        (HTML, "text/html"),
        (b"\n\n  <html><body>oops</body></html>", "text/html"),
        (SVG, "image/svg+xml"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"PK\x03\x04" + b"\x00" * 26, "application/zip"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (b"", None),
        (b"just some text", None),
        (b"BM not a bitmap at all", None),
    ],
)
def test_sniffs_from_bytes_only(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected


def test_sniffs_a_real_mp4(mp4: bytes | None) -> None:
    if mp4 is None:
        pytest.skip("ffmpeg is not installed")
    assert sniff_media_type(mp4[:512]) == "video/mp4"


def test_media_files_are_content_addressed_and_write_once(tmp_path: Path) -> None:
    files = MediaFiles(tmp_path / "media")
    data = image_bytes("red", "PNG")
    sha = files.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    path = tmp_path / "media" / sha[:2] / sha[2:4] / sha
    assert files.path(sha) == path and path.read_bytes() == data
    assert files.exists(sha) and files.read(sha) == data
    before = path.stat().st_mtime_ns
    assert files.put(data) == sha and path.stat().st_mtime_ns == before  # kept, not rewritten
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert files.usage() == (1, len(data))
    assert files.delete(sha) and not files.exists(sha) and not files.delete(sha)
    with pytest.raises(NotFound):
        files.read(sha)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "abc", "g" * 64, "0" * 63 + "/"])
def test_media_files_refuse_anything_but_a_hash(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError, match="not a SHA-256"):
        MediaFiles(tmp_path).path(bad)


def test_usage_of_a_missing_directory_is_zero(tmp_path: Path) -> None:
    assert MediaFiles(tmp_path / "nothing-yet").usage() == (0, 0)
