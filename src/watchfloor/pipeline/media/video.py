"""Read a video's duration and size with ffprobe, and take its keyframes with ffmpeg.

Keyframes are the first frame plus every scene change (``select='eq(n,0)+gt(scene,0.3)'``: a frame
whose difference from the previous one scores over 0.3), at most ``max_keyframes``, as PNG images
with their time. Each is then hashed and read like a photo, so a known image shown for two seconds
in a video, or a caption burnt into it, is found the same way.

Safety, because the file is untrusted and ffmpeg is large: the bytes go to a private temporary file;
ffprobe and ffmpeg may open files only (``-protocol_whitelist file``: no network, so no server-side
request forgery) and only through the container demuxers of web video (``-format_whitelist``: an HLS
playlist or ``concat`` script disguised as a video would otherwise make ffmpeg read other local files
or URLs into the keyframes); both run with a time limit and are killed after it. Frames are scaled
to fit ``MAX_FRAME_SIDE`` so a 4K video's keyframes stay a few hundred kilobytes each.

Absent tools are not errors: without ffprobe or ffmpeg the enrichment says so in its notes and has
no duration or keyframes. A file ffprobe runs on but cannot read is refused (``MediaRejected``).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from watchfloor.pipeline.media.errors import MediaRejected
from watchfloor.pipeline.media.settings import EnrichSettings

SCENE_THRESHOLD = 0.3
MAX_FRAME_SIDE = 1920
# ffmpeg demuxer names allowed to open the input: MP4/MOV/3GP, Matroska/WebM, AVI, FLV, MPEG-TS, Ogg.
DEMUXERS = "mov,matroska,webm,avi,flv,mpegts,ogg"
_SAFE_INPUT = ("-protocol_whitelist", "file", "-format_whitelist", DEMUXERS)
_PTS_TIME = re.compile(r"Parsed_showinfo.*\bn:\s*\d+\s.*\bpts_time:\s*(-?[0-9.]+)")


class VideoInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What ffprobe says about a video (sizes as displayed, after any rotation)."""

    duration_ms: int | None
    width: int | None
    height: int | None
    start_s: float = 0.0  # the container's start time, subtracted from frame timestamps


class RawFrame(msgspec.Struct, frozen=True, kw_only=True):
    """One keyframe as ffmpeg wrote it."""

    at_ms: int
    png: bytes


class VideoRead(msgspec.Struct, frozen=True, kw_only=True):
    """A video's metadata and keyframes, with notes on whatever could not be read."""

    info: VideoInfo | None
    frames: tuple[RawFrame, ...]
    notes: tuple[str, ...]


def _tail(stderr: bytes | None) -> str:
    """The last meaningful line ffmpeg/ffprobe printed, for a refusal or a note."""
    lines = [line.strip() for line in (stderr or b"").decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else "no message"


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number == number and number >= 0 else None  # NaN and negatives are absent


def _quarter_turned(stream: dict[str, Any]) -> bool:
    """Whether the stream is displayed turned by 90° or 270° (phone videos shot upright)."""
    rotation: object = stream.get("tags", {}).get("rotate", 0)
    for side in stream.get("side_data_list", []):
        rotation = side.get("rotation", rotation)
    try:
        return round(abs(float(str(rotation)))) % 180 == 90
    except ValueError:
        return False


def parse_probe(report: dict[str, Any]) -> VideoInfo:
    """Duration, displayed size and start time from ffprobe's JSON; refuses a file with no video."""
    streams = [
        s
        for s in report.get("streams", [])
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    if not streams:
        raise MediaRejected("file has no video stream ffprobe can read")
    stream, fmt = streams[0], report.get("format", {})
    width, height = stream.get("width"), stream.get("height")
    if isinstance(width, int) and isinstance(height, int) and _quarter_turned(stream):
        width, height = height, width  # shot in portrait: ffmpeg turns the frames upright too
    duration = _number(fmt.get("duration")) or _number(stream.get("duration"))
    return VideoInfo(
        duration_ms=round(duration * 1000) if duration is not None else None,
        width=width if isinstance(width, int) and width > 0 else None,
        height=height if isinstance(height, int) and height > 0 else None,
        start_s=_number(fmt.get("start_time")) or 0.0,
    )


def probe(path: Path, settings: EnrichSettings) -> tuple[VideoInfo | None, str | None]:
    """ffprobe the file: (info, None), or (None, note) when ffprobe is missing or timed out."""
    command = [settings.ffprobe_cmd, "-v", "error", *_SAFE_INPUT]
    command += ["-print_format", "json", "-show_format", "-show_streams", str(path)]
    try:
        done = subprocess.run(  # noqa: S603 (the configured tool, fixed arguments, no shell)
            command, capture_output=True, timeout=settings.ffmpeg_timeout_seconds, check=False
        )
    except FileNotFoundError:
        return None, (
            f"video not read: ffprobe ({settings.ffprobe_cmd!r}) is not installed; "
            "install Debian's ffmpeg for duration, size and keyframes"
        )
    except subprocess.TimeoutExpired:
        return None, f"video not read: ffprobe timed out after {settings.ffmpeg_timeout_seconds:g} s"
    except OSError as exc:
        return None, f"video not read: ffprobe cannot run ({exc})"
    if done.returncode != 0:
        raise MediaRejected(f"video cannot be read: {_tail(done.stderr)}")
    try:
        report = json.loads(done.stdout or b"{}")
    except ValueError as exc:
        raise MediaRejected("video cannot be read: ffprobe gave no usable report") from exc
    return parse_probe(report), None


def keyframes(path: Path, out: Path, info: VideoInfo, settings: EnrichSettings) -> VideoRead:
    """Take the first frame and scene changes as PNG files in ``out``; notes say what went wrong."""
    side = MAX_FRAME_SIDE
    fit = f"scale=w='min(iw,{side})':h='min(ih,{side})':force_original_aspect_ratio=decrease"
    chain = f"select='eq(n\\,0)+gt(scene\\,{SCENE_THRESHOLD})',{fit},showinfo"
    command = [settings.ffmpeg_cmd, "-hide_banner", "-nostdin", "-nostats", "-v", "info"]
    command += [*_SAFE_INPUT, "-i", str(path), "-map", "0:v:0", "-an", "-sn", "-dn"]
    command += ["-vf", chain, "-vsync", "vfr", "-frames:v", str(settings.max_keyframes)]
    command += [str(out / "frame%04d.png")]
    notes: list[str] = []
    stderr: bytes | None = None
    try:
        done = subprocess.run(  # noqa: S603 (the configured tool, fixed arguments, no shell)
            command, capture_output=True, timeout=settings.ffmpeg_timeout_seconds, check=False
        )
        stderr = done.stderr
        if done.returncode != 0:
            notes.append(f"ffmpeg stopped with an error: {_tail(stderr)}")
    except FileNotFoundError:
        note = f"no keyframes: ffmpeg ({settings.ffmpeg_cmd!r}) is not installed; install Debian's ffmpeg"
        return VideoRead(info=info, frames=(), notes=(note,))
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr if isinstance(exc.stderr, bytes) else None
        notes.append(
            f"ffmpeg timed out after {settings.ffmpeg_timeout_seconds:g} s: keyframes from the start only"
        )
    except OSError as exc:
        return VideoRead(info=info, frames=(), notes=(f"no keyframes: ffmpeg cannot run ({exc})",))
    times = [
        float(m[1])
        for m in map(_PTS_TIME.search, (stderr or b"").decode("utf-8", "replace").splitlines())
        if m
    ]
    files = sorted(out.glob("frame*.png"))
    if len(times) < len(files):
        notes.append(
            f"ffmpeg reported times for {len(times)} of {len(files)} keyframes; the rest were dropped"
        )
    frames = tuple(
        RawFrame(at_ms=max(0, round((t - info.start_s) * 1000)), png=f.read_bytes())
        for t, f in zip(times, files, strict=False)
    )
    return VideoRead(info=info, frames=frames, notes=tuple(notes))


def read_video(data: bytes, settings: EnrichSettings) -> VideoRead:
    """Probe ``data`` and take its keyframes; raises MediaRejected when ffprobe cannot read it."""
    with tempfile.TemporaryDirectory(prefix="watchfloor-video-") as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        info, note = probe(path, settings)
        if info is None:
            return VideoRead(info=None, frames=(), notes=(note,) if note else ())
        if settings.max_keyframes <= 0:
            return VideoRead(info=info, frames=(), notes=("keyframes are turned off (max_keyframes is 0)",))
        if (info.width or 0) * (info.height or 0) > settings.max_pixels:
            note = f"no keyframes: frames of {info.width}×{info.height} are over the pixel limit"
            return VideoRead(info=info, frames=(), notes=(note,))
        out = Path(tmp) / "frames"
        out.mkdir()
        return keyframes(path, out, info, settings)
