"""Decoding untrusted images: formats, first frames, orientation, bombs, damage, and EXIF without GPS."""

from __future__ import annotations

import io
import struct
import zlib

import msgspec
import pytest
from PIL import Image, ImageDraw

from tests.pipeline.media.media import encode, scene
from watchfloor.domain.media import CameraInfo, Enrichment, hamming
from watchfloor.pipeline.media import EnrichSettings, MediaRejected, enrich_media
from watchfloor.pipeline.media.hashes import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY, PHASH_MATCH_DISTANCE
from watchfloor.pipeline.media.images import decode_image

NO_OCR = EnrichSettings(ocr_languages=())


def png_declaring(width: int, height: int) -> bytes:
    """A few-hundred-byte PNG whose header claims ``width``×``height`` greyscale pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize(
    ("fmt", "media_type", "options"),
    [
        ("PNG", "image/png", {}),
        ("JPEG", "image/jpeg", {"quality": 85}),
        ("GIF", "image/gif", {}),
        ("WEBP", "image/webp", {"quality": 80}),
        ("BMP", "image/bmp", {}),
        ("TIFF", "image/tiff", {"compression": "tiff_lzw"}),
    ],
)
def test_common_formats_decode_and_hash(fmt: str, media_type: str, options: dict[str, object]) -> None:
    data = encode(scene(1, (400, 300)), fmt, **options)
    e = enrich_media(data, media_type, NO_OCR)
    assert (e.width, e.height) == (400, 300)
    assert e.phash is not None and len(e.phash) == 16 and int(e.phash, 16) >= 0
    assert e.pdq is not None and len(e.pdq) == 64 and int(e.pdq, 16) >= 0
    assert e.pdq_quality is not None and 0 <= e.pdq_quality <= 100
    assert e.enricher.startswith("watchfloor-media/")
    assert e.ocr_status == "skipped" and e.camera is None
    # The same picture in every format is one picture to the hashes.
    reference = enrich_media(encode(scene(1, (400, 300)), "PNG"), "image/png", NO_OCR)
    assert hamming(e.pdq, reference.pdq or "") <= PDQ_MATCH_DISTANCE
    assert hamming(e.phash, reference.phash or "") <= PHASH_MATCH_DISTANCE


def test_pdq_quality_tells_featureless_images() -> None:
    flat = enrich_media(encode(Image.new("RGB", (300, 200), (200, 30, 30)), "PNG"), "image/png", NO_OCR)
    photo = enrich_media(encode(scene(3), "JPEG"), "image/jpeg", NO_OCR)
    assert flat.pdq_quality is not None and flat.pdq_quality < PDQ_MIN_QUALITY
    assert photo.pdq_quality is not None and photo.pdq_quality >= PDQ_MIN_QUALITY


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_are_read_from_their_first_frame(fmt: str) -> None:
    first, second = scene(10, (320, 240)), scene(11, (320, 240))
    data = encode(first, fmt, save_all=True, append_images=[second], duration=500, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    e = enrich_media(data, f"image/{fmt.lower()}", NO_OCR)
    one = enrich_media(encode(first, "PNG"), "image/png", NO_OCR)
    two = enrich_media(encode(second, "PNG"), "image/png", NO_OCR)
    assert e.pdq and one.pdq and two.pdq
    assert hamming(e.pdq, one.pdq) <= PDQ_MATCH_DISTANCE < hamming(e.pdq, two.pdq)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90° clockwise
    data = encode(scene(2, (200, 100)), "JPEG", exif=exif.tobytes())
    e = enrich_media(data, "image/jpeg", NO_OCR)
    assert (e.width, e.height) == (100, 200)


def test_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (100, 60), (0, 0, 0, 0))  # transparent *black*
    ImageDraw.Draw(image).rectangle((10, 10, 30, 30), fill=(0, 0, 0, 255))
    decoded = decode_image(encode(image, "PNG"), max_pixels=10**6)
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((80, 50)) == (255, 255, 255)
    assert decoded.image.getpixel((20, 20)) == (0, 0, 0)


def test_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = png_declaring(30_000, 30_000)
    assert len(bomb) < 200
    with pytest.raises(MediaRejected, match="decompression bomb"):
        enrich_media(bomb, "image/png", NO_OCR)
    # Under Pillow's own limit but over ours (50 megapixels): refused by watchfloor's check.
    with pytest.raises(MediaRejected, match=r"8000×7000 pixels \(56 megapixels\), over the limit of 50"):
        enrich_media(png_declaring(8000, 7000), "image/png", NO_OCR)
    # The limit is a setting.
    small = encode(scene(3, (200, 100)), "PNG")
    with pytest.raises(MediaRejected, match="decompression bomb"):
        enrich_media(small, "image/png", EnrichSettings(ocr_languages=(), max_pixels=19_999))
    assert enrich_media(small, "image/png", EnrichSettings(ocr_languages=(), max_pixels=20_000)).width == 200


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_images_are_refused(fmt: str) -> None:
    data = encode(scene(4, (300, 200)), fmt)
    with pytest.raises(MediaRejected):
        enrich_media(data[: len(data) * 2 // 3], f"image/{fmt.lower()}", NO_OCR)


@pytest.mark.parametrize(
    "data",
    [
        b"<!doctype html><html><body>not an image</body></html>",
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        # Pillow can open EPS, by running Ghostscript: it must not even be tried.
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        b"P6\n4 4\n255\n" + b"\xff" * 48,  # PPM: a real image in a format platforms never serve
    ],
)
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(MediaRejected, match=r"not an image|cannot be read|damaged"):
        enrich_media(data, "image/jpeg", NO_OCR)


def _photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D Mark IV\0"
    exif[0x0131] = "GIMP 2.10.34"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:20:30"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.34)
    gps[3], gps[4] = "E", (13.0, 24.0, 56.78)
    gps[6] = 34.5  # altitude
    return encode(scene(5), "JPEG", exif=exif.tobytes(), quality=90)


def test_exif_camera_and_time_are_read_and_gps_never() -> None:
    data = _photo_with_gps()
    written = Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    assert written[2] == (52.0, 31.0, 12.34)  # the file really carries a location
    e = enrich_media(data, "image/jpeg", NO_OCR)
    assert e.camera == CameraInfo(
        make="Canon", model="Canon EOS 5D Mark IV", software="GIMP 2.10.34", taken_at="2024:05:01 10:20:30"
    )
    encoded = msgspec.json.encode(e).decode()
    for trace in ("12.34", "56.78", "34.5", "gps", "GPS", "latitude", "longitude"):
        assert trace not in encoded
    assert not {"gps", "location", "latitude", "longitude", "geo"} & set(Enrichment.__struct_fields__)
    assert set(CameraInfo.__struct_fields__) == {"make", "model", "software", "taken_at"}


def test_images_without_exif_have_no_camera() -> None:
    assert enrich_media(encode(scene(6), "PNG"), "image/png", NO_OCR).camera is None
    exif = Image.Exif()
    exif[0x010F] = "  \0 "  # blank values count as absent
    assert enrich_media(encode(scene(6), "JPEG", exif=exif.tobytes()), "image/jpeg", NO_OCR).camera is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\0\0MM\0*\0\0\0\x08\xff\xff\x01",  # claims 65,535 entries, has none
        b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x09\0\0\0",  # orientation 9 (no such)
        b"garbage",
    ],
)
def test_malformed_exif_costs_only_the_camera_data(exif: bytes) -> None:
    e = enrich_media(encode(scene(7, (200, 100)), "JPEG", exif=exif), "image/jpeg", NO_OCR)
    assert (e.width, e.height, e.camera) == (200, 100, None)
    assert e.pdq is not None


def test_truncated_images_are_refused_even_after_weasyprint_is_imported() -> None:
    """WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process when imported."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES  # what the console process looks like
    data = encode(scene(4, (300, 200)), "JPEG")
    with pytest.raises(MediaRejected):
        enrich_media(data[: len(data) * 2 // 3], "image/jpeg", NO_OCR)
    assert ImageFile.LOAD_TRUNCATED_IMAGES  # left as it was found
