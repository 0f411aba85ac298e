"""Bluesky importer: Jetstream v1 event files (JSON lines), as saved from the Jetstream socket."""

from __future__ import annotations

import re

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.bluesky.mapping import FORMAT, SOURCE_VERSION, map_jetstream_event

_KIND = re.compile(rb'"kind"\s*:\s*"(?:commit|identity|account)"')
_DID = re.compile(rb'"did"\s*:\s*"did:')
_TIME_US = re.compile(rb'"time_us"\s*:\s*\d')


def sniff_jetstream(sample: Sample) -> int:
    """Return 95 for a line with Jetstream's ``did``, ``time_us`` and ``kind`` keys, else 0."""
    line = sample.first_line
    if not line.startswith(b"{"):
        return 0
    if _KIND.search(line) and _DID.search(line) and _TIME_US.search(line):
        return 95
    return 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=FORMAT,
        description="Bluesky Jetstream v1 events, one JSON object per line (posts, reposts, deletes)",
        layout="lines",
        sniff=sniff_jetstream,
        map_record=map_jetstream_event,
        source_version=SOURCE_VERSION,
    ),
)
