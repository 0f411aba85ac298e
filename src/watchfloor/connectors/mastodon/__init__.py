"""Mastodon importer: REST ``Status`` JSON saved one per line (or one timeline page array per line)."""

from __future__ import annotations

from watchfloor.connectors.base import FileFormat, Sample, json_key
from watchfloor.connectors.mastodon.mapping import FORMAT, SOURCE_VERSION, map_status_line

# Keys every Mastodon-API Status has; "acct" and "spoiler_text" appear in no other platform's posts.
_REQUIRED = tuple(json_key(key) for key in (b"uri", b"created_at", b"content", b"acct", b"spoiler_text"))


def sniff_mastodon(sample: Sample) -> int:
    """Return 90 for a line (object or array) carrying the Status keys ``acct`` and ``spoiler_text``."""
    line = sample.first_line
    if not line.startswith((b"{", b"[")):
        return 0
    return 90 if all(key.search(line) for key in _REQUIRED) else 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=FORMAT,
        description="Mastodon Status JSON, one status or one saved timeline page (array) per line",
        layout="lines",
        sniff=sniff_mastodon,
        map_record=map_status_line,
        source_version=SOURCE_VERSION,
    ),
)
