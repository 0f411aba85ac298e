"""`watchfloor media ...`: fetch the photos and videos posts reference, see how fetching goes, show a file."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.errors import ConfigError, PermissionDenied, WatchfloorError
from watchfloor.services.media import MEDIA_FETCHER, MediaRunSummary, fetch_due_media
from watchfloor.services.media_info import MediaDetails, media_status, show_media

media_app = typer.Typer(
    help=(
        "Photos and videos posts reference: fetched into the media directory, named by SHA-256.\n\n"
        "Examples:\n\n"
        "  watchfloor media fetch --loop --every 30\n\n"
        "  watchfloor media status\n\n"
        "  watchfloor media show SHA256"
    ),
    no_args_is_help=True,
)
app.add_typer(media_app, name="media")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def describe_run(summary: MediaRunSummary) -> str:
    """One line: what a fetcher run did."""
    if not summary.claimed:
        return "Media: nothing due."
    parts = [
        f"{summary.fetched:,} fetched",
        f"{summary.reused:,} reused",
        f"{summary.retried:,} to retry",
        f"{summary.failed:,} failed",
        f"{summary.refused:,} refused",
    ]
    if summary.released:
        parts.append(f"{summary.released:,} handed back (stopping)")
    done = len(summary.completed_post_ids)
    alerts = f"; {summary.alerts_raised:,} alerts from what the images show" if summary.alerts_raised else ""
    return (
        f"Media: {', '.join(parts)} of {summary.claimed:,} due; {done:,} posts have all their media{alerts}."
    )


@media_app.command("fetch")
def media_fetch(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Media entries per run.")] = 50,
    loop: Annotated[bool, typer.Option("--loop", help="Keep fetching until Ctrl-C or SIGTERM.")] = False,
    every: Annotated[
        int, typer.Option(min=1, max=3600, help="With --loop: seconds to wait when nothing is due.")
    ] = 30,
) -> None:
    """Fetch due media: download, check, store by SHA-256, and read hashes, text and keyframes.

    Runs as the system process "media-fetcher". Private and internal addresses, oversize files and
    types other than images and videos are refused (see docs/media.md); failures are retried later.

    Example: watchfloor --db floor.db media fetch --loop --every 30
    """
    context = state_of(ctx).context()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if loop:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    while True:
        try:
            summary = fetch_due_media(context, actor=MEDIA_FETCHER, limit=limit, should_stop=stop.is_set)
        except (ConfigError, PermissionDenied):
            raise
        except WatchfloorError as exc:
            if not loop:
                raise
            err.print(f"[red]Media fetch failed:[/red] {escape(str(exc))} (retrying in {every} s)")
            summary = MediaRunSummary()
        if summary.claimed or not loop:
            err.print(escape(describe_run(summary)))
        if not loop or stop.is_set():
            break
        if summary.claimed < limit and stop.wait(every):
            break


@media_app.command("status")
def media_status_command(
    ctx: typer.Context,
    failures: Annotated[int, typer.Option(min=0, max=1000, help="How many recent failures to list.")] = 10,
) -> None:
    """Entries per state, the latest failures and refusals with their reasons, and the media directory.

    Example: watchfloor media status --failures 20
    """
    state = state_of(ctx)
    status = media_status(state.context(), actor=state.actor(), failures=failures)
    counts = status.counts
    table = Table("state", "entries", title="Media queue")
    for name, n in counts.by_state.items():
        label = (
            f"{name} ({counts.retrying:,} after a failure)" if name == "pending" and counts.retrying else name
        )
        table.add_row(label, f"{n:,}")
    out.print(table)
    where = str(status.media_dir) if status.media_dir else "not set (WATCHFLOOR_MEDIA_DIR)"
    out.print(
        f"Stored: {counts.objects:,} files ({_size(counts.object_bytes)}), "
        f"{counts.frames:,} video keyframes.\n"
        f"Media directory: {escape(where)}: {status.files:,} files, {_size(status.bytes_on_disk)} on disk."
    )
    if status.failures:
        recent = Table("post", "#", "state", "tries", "url", "reason", title="Recent failures and refusals")
        for e in status.failures:
            recent.add_row(
                str(e.post_id),
                str(e.position),
                e.state,
                str(e.attempts),
                escape(e.url[:80]),
                escape(e.last_error or ""),
            )
        out.print(recent)


_REGION_NAMES = {
    "centre_80": "hashes, centre 80%",
    "top_80": "hashes, top 80%",
    "bottom_80": "hashes, bottom 80%",
}


def _render(details: MediaDetails) -> None:
    obj = details.obj
    table = Table("field", "value", title=f"Media {obj.sha256}", show_header=False)
    rows: list[tuple[str, str | None]] = [
        ("type", obj.media_type),
        ("size", _size(obj.size)),
        ("dimensions", f"{obj.width} × {obj.height}" if obj.width and obj.height else None),
        ("duration", f"{obj.duration_ms / 1000:.1f} s" if obj.duration_ms else None),
        ("stored", f"{obj.stored_at:%Y-%m-%d %H:%M:%S}Z"),
        ("enriched", f"{obj.enriched_at:%Y-%m-%d %H:%M:%S}Z" if obj.enriched_at else "not yet"),
        ("pHash", obj.phash),
        ("PDQ", f"{obj.pdq} (quality {obj.pdq_quality})" if obj.pdq else None),
        *(
            (_REGION_NAMES.get(r.region, r.region), f"PDQ {r.pdq} (quality {r.pdq_quality}), pHash {r.phash}")
            for r in obj.regions
        ),
        ("OCR", obj.ocr_status),
        ("camera", " / ".join(v for v in (obj.camera.make, obj.camera.model) if v) if obj.camera else None),
        ("software", obj.camera.software if obj.camera else None),
        ("taken (EXIF)", obj.camera.taken_at if obj.camera else None),
        ("file", f"{details.path}" + ("" if details.on_disk else " (missing)") if details.path else None),
    ]
    for name, value in rows:
        if value:
            table.add_row(name, escape(value))
    out.print(table)
    if obj.notes:
        out.print("Notes from enrichment:\n" + "\n".join(f"  - {escape(note)}" for note in obj.notes))
    if obj.ocr_text and obj.ocr_text.strip():
        out.print("Text read from the image:\n" + escape(obj.ocr_text.strip()))
    if details.frames:
        frames = Table("#", "at", "frame sha256", "pHash", "text", title="Keyframes")
        for frame, frame_obj in details.frames:
            text = (frame_obj.ocr_text or "").strip().replace("\n", " ")[:60] if frame_obj else ""
            frames.add_row(
                str(frame.index),
                f"{frame.at_ms / 1000:.1f} s",
                frame.frame_sha256,
                (frame_obj.phash or "") if frame_obj else "(missing)",
                escape(text),
            )
        out.print(frames)


@media_app.command("show")
def media_show(
    ctx: typer.Context,
    sha256: Annotated[str, typer.Argument(help="The file's SHA-256 (from `media status` or a post).")],
) -> None:
    """Show one stored file: type, size, hashes (whole and per region), enrichment notes, OCR text,
    camera information and video keyframes.

    Example: watchfloor media show 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b
    """
    state = state_of(ctx)
    _render(show_media(state.context(), actor=state.actor(), sha256=sha256))
