"""Videos: duration and size from ffprobe, keyframes at scene changes (capped), each hashed and read."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.pipeline.media.media import lavfi, make_video, require_tool, still, text_image
from watchfloor.domain.media import hamming
from watchfloor.pipeline.media import EnrichSettings, MediaRejected, enrich_media
from watchfloor.pipeline.media.video import parse_probe

NO_OCR = EnrichSettings(ocr_languages=())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """4 s: 2 s of a test pattern, then 1 s of red, then 1 s of a different pattern (two cuts)."""
    folder = tmp_path_factory.mktemp("clip")
    segments = [lavfi("testsrc", 2), lavfi("color=c=red", 1), lavfi("smptebars", 1)]
    return make_video(folder, segments)


def test_duration_size_and_keyframes_at_scene_changes(clip: bytes) -> None:
    e = enrich_media(clip, "video/mp4", NO_OCR)
    assert (e.width, e.height) == (320, 240)
    assert e.duration_ms is not None and 3900 <= e.duration_ms <= 4100
    assert e.phash is None and e.pdq is None and e.ocr_status == "skipped"  # per keyframe instead
    assert [f.at_ms for f in e.frames] == [0, 2000, 3000]
    for frame in e.frames:
        assert frame.media_type == "image/png" and (frame.width, frame.height) == (320, 240)
        assert Image.open(io.BytesIO(frame.data)).format == "PNG"
        assert frame.pdq and len(frame.pdq) == 64 and frame.phash and len(frame.phash) == 16
        assert [r.region for r in frame.regions] == ["centre_80", "top_80", "bottom_80"]
        assert frame.ocr_status == "skipped"
    first, red, bars = e.frames
    assert hamming(first.pdq or "", bars.pdq or "") > 64  # three different pictures
    assert red.pdq_quality is not None and red.pdq_quality < 50  # a flat colour hashes unreliably
    assert e.notes == ("keyframes: OCR is turned off (WATCHFLOOR_OCR_LANGUAGES is empty)",)


def test_keyframes_are_capped(clip: bytes) -> None:
    e = enrich_media(clip, "video/mp4", EnrichSettings(ocr_languages=(), max_keyframes=2))
    assert [f.at_ms for f in e.frames] == [0, 2000]
    off = enrich_media(clip, "video/mp4", EnrichSettings(ocr_languages=(), max_keyframes=0))
    assert off.frames == () and off.duration_ms is not None
    assert "keyframes are turned off" in off.notes[0]
    huge = enrich_media(clip, "video/mp4", EnrichSettings(ocr_languages=(), max_pixels=320 * 240 - 1))
    assert huge.frames == () and (huge.width, huge.height) == (320, 240)
    assert huge.notes == ("no keyframes: frames of 320×240 are over the pixel limit",)


def test_text_in_a_keyframe_is_read(tmp_path: Path) -> None:
    require_tool("tesseract")
    card = text_image(["DONATE HERE"], "DejaVuSans-Bold.ttf", 40)
    canvas = Image.new("RGB", (320, 240), "white")
    canvas.paste(card, ((320 - card.width) // 2, (240 - card.height) // 2))
    canvas.save(tmp_path / "card.png")
    video = make_video(tmp_path, [lavfi("testsrc", 1), still(tmp_path / "card.png", 1)])
    e = enrich_media(video, "video/mp4")
    assert [f.at_ms for f in e.frames] == [0, 1000]
    assert e.frames[1].ocr_status == "done" and e.frames[1].ocr_text == "DONATE HERE"


def test_missing_tools_are_notes_not_errors(clip: bytes) -> None:
    no_probe = enrich_media(clip, "video/mp4", EnrichSettings(ffprobe_cmd="/nonexistent/ffprobe"))
    assert (no_probe.duration_ms, no_probe.width, no_probe.frames) == (None, None, ())
    assert (
        len(no_probe.notes) == 1 and "ffprobe" in no_probe.notes[0] and "not installed" in no_probe.notes[0]
    )
    no_ffmpeg = enrich_media(clip, "video/mp4", EnrichSettings(ffmpeg_cmd="/nonexistent/ffmpeg"))
    assert no_ffmpeg.duration_ms is not None and no_ffmpeg.frames == ()
    assert "ffmpeg" in no_ffmpeg.notes[0] and "not installed" in no_ffmpeg.notes[0]


def test_unreadable_videos_are_refused(tmp_path: Path) -> None:
    require_tool("ffprobe")
    with pytest.raises(MediaRejected, match="video cannot be read"):
        enrich_media(b"\0\0\0\x18ftypmp42" + b"garbage" * 100, "video/mp4", NO_OCR)
    ffmpeg = require_tool("ffmpeg")
    audio = tmp_path / "sound.mp4"
    command = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)]
    subprocess.run(command, check=True, timeout=60)
    with pytest.raises(MediaRejected, match="no video stream"):
        enrich_media(audio.read_bytes(), "video/mp4", NO_OCR)


def test_playlists_disguised_as_video_cannot_read_local_files(tmp_path: Path, clip: bytes) -> None:
    # An HLS playlist naming a local file: without the demuxer whitelist ffmpeg would open it and
    # put the other file's frames into the keyframes (a known ffmpeg file-disclosure trick).
    require_tool("ffprobe")
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(clip)
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{secret}\n#EXT-X-ENDLIST\n"
    with pytest.raises(MediaRejected, match="video cannot be read"):
        enrich_media(playlist.encode(), "video/mp4", NO_OCR)


def test_probe_report_parsing() -> None:
    portrait = {
        "streams": [
            {"codec_type": "audio"},
            {"codec_type": "video", "width": 1920, "height": 1080, "side_data_list": [{"rotation": -90}]},
        ],
        "format": {"duration": "12.345", "start_time": "1.5"},
    }
    info = parse_probe(portrait)
    assert (info.width, info.height, info.duration_ms, info.start_s) == (1080, 1920, 12345, 1.5)
    cover_only = {"streams": [{"codec_type": "video", "disposition": {"attached_pic": 1}}]}
    with pytest.raises(MediaRejected, match="no video stream"):
        parse_probe(cover_only)
    unknown = parse_probe({"streams": [{"codec_type": "video"}], "format": {"duration": "N/A"}})
    assert (unknown.width, unknown.height, unknown.duration_ms) == (None, None, None)
