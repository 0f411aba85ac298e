"""The file-importer contract: how a format is recognised, split into records and mapped.

Reading bytes from disk lives in :mod:`watchfloor.connectors.files` (the only I/O here); mapping is a
pure function from one record's raw bytes to envelopes, so it can be tested on captured payloads and
replayed idempotently.

The helpers at the end are the parts of that contract every mapper carries out the same way: decoding
a record's JSON (bad JSON is a ``BadRecord``), and mapping the elements of a JSON array one by one so
that a bad element is quarantined on its own while its neighbours still map.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from watchfloor.domain.errors import BadRecord
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


def json_key(name: bytes) -> re.Pattern[bytes]:
    """A pattern finding ``"name":`` (a JSON key, not the same word inside a value) for sniffers."""
    return re.compile(rb'"' + re.escape(name) + rb'"\s*:')


def record_location(source: str, line: int | None = None, index: int | None = None) -> Location:
    """Build a Location (a small helper so mappers do not import msgspec types directly)."""
    return Location(source=source, line=line, index=index)


def decode_json(raw: bytes) -> object:
    """Parse one record's JSON, or raise ``BadRecord`` saying it is not JSON (so it is quarantined)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(f"not valid JSON: {exc}") from None


def decode_json_object(raw: bytes) -> dict[str, Any]:
    """Parse one record that must be a JSON object, or raise ``BadRecord`` saying what it is instead."""
    value = decode_json(raw)
    if not isinstance(value, dict):
        raise BadRecord(f"expected a JSON object, got {type(value).__name__}")
    return value


def quarantine(exc: BadRecord, raw: bytes, fmt: str, location: Location) -> Quarantined:
    """The quarantine entry for one record (or one element of a record) that raised ``exc``."""
    return Quarantined(raw=raw, format=fmt, location=location, reason=exc.reason, field=exc.field)


ElementMapper = Callable[[object, bytes, Location], Sequence[Envelope | Quarantined]]
ObjectMapper = Callable[[dict[str, Any], bytes, Location], Sequence[Envelope | Quarantined]]


def map_elements(
    elements: Iterable[object], location: Location, fmt: str, map_element: ElementMapper
) -> MapResult:
    """Map each element of a JSON array on its own; a bad element is quarantined and the rest still map.

    Each element gets its own raw payload (the element re-encoded, not the whole array, so one stored
    payload is one item) and its position as ``Location.index``. ``map_element`` receives
    ``(element, element_raw, element_location)`` and returns that element's entries as a finished
    sequence (not a generator), so an element that raises half-way leaves no partial entries behind.
    """
    results: MapResult = []
    for index, element in enumerate(elements):
        element_raw = orjson.dumps(element)
        element_location = Location(source=location.source, line=location.line, index=index)
        try:
            results.extend(map_element(element, element_raw, element_location))
        except BadRecord as exc:
            results.append(quarantine(exc, element_raw, fmt, element_location))
    return results


def map_object_or_array(
    raw: bytes, location: Location, *, fmt: str, what: str, map_object: ObjectMapper
) -> MapResult:
    """Map a JSON line holding one object, or an array of them such as a saved API page.

    One object is mapped with the line's own bytes as its raw payload. An array is mapped element by
    element through :func:`map_elements`, so a bad element costs only that element. ``what`` names one
    object for error messages (``"a Status object"``); anything else raises ``BadRecord``.
    """
    value = decode_json(raw)
    if isinstance(value, dict):
        return list(map_object(value, raw, location))
    if not isinstance(value, list):
        raise BadRecord(f"expected {what} or an array of them, got {type(value).__name__}")

    def map_element(
        element: object, element_raw: bytes, element_location: Location
    ) -> Sequence[Envelope | Quarantined]:
        if not isinstance(element, dict):
            raise BadRecord(f"expected {what}, got {type(element).__name__}")
        return map_object(element, element_raw, element_location)

    return map_elements(value, location, fmt, map_element)
