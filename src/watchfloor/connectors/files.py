"""Reading import files: transparent .gz/.zst decompression, samples for detection, record splitting.

This is the only I/O in the importers. It yields raw records with their location and leaves all
interpretation to the pure mappers, so a malformed line costs one quarantine entry, not the file.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import orjson
import zstandard

from watchfloor.connectors.base import FileFormat, MapOptions, Sample, quarantine
from watchfloor.domain.errors import BadRecord, InputError
from watchfloor.domain.post import Envelope, Location, Quarantined

SAMPLE_BYTES = 64 * 1024
# Reddit dumps use long zstd windows; see the Pushshift/Arctic-Shift notes in ecosystem.md.
_ZSTD_MAX_WINDOW = 2**31
csv.field_size_limit(16 * 1024 * 1024)


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading, decompressing .gz and .zst; raise InputError if unreadable."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open file: {exc.strerror or exc}") from None
    name = path.name.lower()
    if name.endswith(".gz"):
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw))
    if name.endswith((".zst", ".zstd")):
        reader = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW).stream_reader(raw)
        return cast(BinaryIO, io.BufferedReader(reader))
    return raw


def read_sample(path: Path) -> Sample:
    """Read the start of ``path`` (decompressed) for format detection."""
    try:
        with open_binary(path) as handle:
            head = handle.read(SAMPLE_BYTES)
    except (OSError, EOFError, zstandard.ZstdError) as exc:
        raise InputError(f"{path}: cannot read file: {exc}") from None
    head = head.removeprefix(b"\xef\xbb\xbf")
    first_line = b""
    for line in head.splitlines():
        if line.strip():
            first_line = line.strip()
            break
    return Sample(name=path.name, head=head, first_line=first_line, csv_header=_csv_header(head))


def _csv_header(head: bytes) -> tuple[str, ...] | None:
    text = head.decode("utf-8", errors="replace")
    if not text or text.lstrip()[:1] in ("{", "["):
        return None
    try:
        row = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        return None
    if len(row) < 2:
        return None
    return tuple(cell.strip() for cell in row)


def iter_file(path: Path, fmt: FileFormat, options: MapOptions) -> Iterator[Envelope | Quarantined]:
    """Yield every envelope and quarantine entry of ``path`` read as ``fmt``, in file order."""
    source = str(path)
    try:
        handle = open_binary(path)
    except InputError:
        raise
    with handle:
        try:
            if fmt.layout == "lines":
                yield from _iter_lines(handle, source, fmt, options)
            elif fmt.layout == "csv":
                yield from _iter_csv(handle, source, fmt, options)
            else:
                yield from _map_one(handle.read(), Location(source=source), fmt, options)
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise InputError(f"{path}: file is damaged or truncated: {exc}") from None


def _map_one(
    raw: bytes, location: Location, fmt: FileFormat, options: MapOptions
) -> list[Envelope | Quarantined]:
    try:
        return fmt.map_record(raw, location, options)
    except BadRecord as exc:
        return [quarantine(exc, raw, fmt.name, location)]


def _iter_lines(
    handle: BinaryIO, source: str, fmt: FileFormat, options: MapOptions
) -> Iterator[Envelope | Quarantined]:
    for number, line in enumerate(handle, start=1):
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        yield from _map_one(line, Location(source=source, line=number), fmt, options)


def _iter_csv(
    handle: BinaryIO, source: str, fmt: FileFormat, options: MapOptions
) -> Iterator[Envelope | Quarantined]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            location = Location(source=source, line=reader.line_num)
            yield Quarantined(raw=b"", format=fmt.name, location=location, reason=f"bad CSV: {exc}")
            continue
        location = Location(source=source, line=reader.line_num)
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raw = orjson.dumps(row)
            reason = f"row has {len(row)} cells but the header has {len(header)}"
            yield Quarantined(raw=raw, format=fmt.name, location=location, reason=reason)
            continue
        raw = orjson.dumps(dict(zip(header, row, strict=True)))
        yield from _map_one(raw, location, fmt, options)
