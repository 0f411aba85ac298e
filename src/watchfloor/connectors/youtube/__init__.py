"""YouTube Data API v3 importers: saved responses one per line, or one pretty-printed response per file.

Google serialises ``"kind": "youtube#…"`` first in every response and resource, which is what
detection keys on. A pretty-printed file cannot be read line by line, hence the second format.
"""

from __future__ import annotations

import re

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.youtube.mapping import DOCUMENT, LINES, SOURCE_VERSION, map_document, map_lines

_KIND_FIRST = re.compile(rb'^\{\s*"kind"\s*:\s*"youtube#')
_KIND_ANYWHERE = re.compile(rb'"kind"\s*:\s*"youtube#')


def sniff_lines(sample: Sample) -> int:
    """Recognise compact YouTube API responses or resources, one per line."""
    line = sample.first_line
    if _KIND_FIRST.match(line):
        return 95
    if line.startswith(b"{") and len(line) > 1 and _KIND_ANYWHERE.search(line):
        return 75
    return 0


def sniff_document(sample: Sample) -> int:
    """Recognise a pretty-printed YouTube API response (or an array of them) filling the file."""
    if sample.first_line not in (b"{", b"[") or not _KIND_ANYWHERE.search(sample.head):
        return 0
    return 90


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=LINES,
        description="YouTube Data API v3 responses (videos, search, comment threads), one per line",
        layout="lines",
        sniff=sniff_lines,
        map_record=map_lines,
        source_version=SOURCE_VERSION,
    ),
    FileFormat(
        name=DOCUMENT,
        description="YouTube Data API v3 response saved as one pretty-printed JSON file",
        layout="document",
        sniff=sniff_document,
        map_record=map_document,
        source_version=SOURCE_VERSION,
    ),
)
