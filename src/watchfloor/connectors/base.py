"""The file-importer contract: how a format is recognised, split into records and mapped.

Reading bytes from disk lives in :mod:`watchfloor.connectors.files` (the only I/O here); mapping is a
pure function from one record's raw bytes to envelopes, so it can be tested on captured payloads and
replayed idempotently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from watchfloor.domain.post import Envelope, Location, Quarantined

# How a file is split into records before mapping:
#   "lines":    one JSON value per line (NDJSON/JSONL; .gz and .zst are decompressed transparently);
#               the raw payload is the line's bytes verbatim.
#   "csv":      one record per CSV row; the raw payload is the row as a JSON object {header: cell}.
#   "document": the whole file is one JSON document (Telegram Desktop result.json, a saved API page);
#               the mapper returns one envelope or quarantine entry per item inside it.
Layout = Literal["lines", "csv", "document"]


@dataclass(frozen=True, slots=True)
class Sample:
    """The start of a file (decompressed) and its name: what format detection looks at."""

    name: str
    head: bytes  # first 64 KiB, decompressed
    first_line: bytes  # first non-empty line, stripped (bytes up to the first newline of head)
    csv_header: tuple[str, ...] | None  # parsed header row if the file looks like CSV, else None


@dataclass(frozen=True, slots=True)
class MapOptions:
    """Options the user gave on the command line that a mapper may need (e.g. generic CSV columns)."""

    platform: str | None = None  # override/assign the platform (generic CSV)
    column_map: Mapping[str, str] = field(default_factory=dict)  # post field -> CSV column
    default_timezone: str | None = None  # for formats whose times carry no zone


MapResult = list[Envelope | Quarantined]
Mapper = Callable[[bytes, Location, MapOptions], MapResult]


@dataclass(frozen=True, slots=True)
class FileFormat:
    """A format watchfloor can import.

    ``sniff`` returns a confidence from 0 (certainly not) to 100 (certain) from a sample; detection picks
    the single best score and refuses ties. ``map_record`` is pure: it may raise
    :class:`~watchfloor.domain.errors.BadRecord` to quarantine the whole record, or return
    ``Quarantined`` items for bad elements inside a multi-item record.
    """

    name: str  # the --format value, e.g. "bluesky-jetstream"
    description: str  # one line for `watchfloor formats`
    layout: Layout
    sniff: Callable[[Sample], int]
    map_record: Mapper
    source_version: str = "1"  # bump when the mapping changes what it produces


def record_location(source: str, line: int | None = None, index: int | None = None) -> Location:
    """Build a Location (a small helper so mappers do not import msgspec types directly)."""
    return Location(source=source, line=line, index=index)
