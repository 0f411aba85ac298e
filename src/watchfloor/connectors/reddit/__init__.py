"""Reddit importers: API Listing JSON (one per line or one per file) and Pushshift/Arctic-Shift dumps.

Detection looks only at the first line: Reddit serialises ``"kind"`` first in every Listing, and a
dump line is a bare submission or comment with Reddit's own field names.
"""

from __future__ import annotations

import re

import orjson

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.reddit.mapping import (
    DUMP,
    LISTING,
    LISTING_DOCUMENT,
    SOURCE_VERSION,
    map_dump,
    map_listing,
    map_listing_document,
)

_LISTING_START = re.compile(rb'^\[?\s*\{\s*"kind"\s*:\s*"Listing"')
_LISTING_ANYWHERE = re.compile(rb'"kind"\s*:\s*"Listing"')
_MORECHILDREN_START = re.compile(rb'^\{\s*"json"\s*:\s*\{\s*"errors"')


def sniff_listing(sample: Sample) -> int:
    """Recognise a file whose lines are compact Reddit Listings (or arrays of them)."""
    line = sample.first_line
    if _LISTING_START.match(line):
        return 95
    if _MORECHILDREN_START.match(line) and b'"things"' in line:
        return 80
    if line[:1] in (b"{", b"[") and len(line) > 2 and _LISTING_ANYWHERE.search(line):
        return 70
    return 0


def sniff_listing_document(sample: Sample) -> int:
    """Recognise a pretty-printed file holding one Listing or an array of Listings."""
    if sample.first_line not in (b"{", b"[") or not _LISTING_ANYWHERE.search(sample.head):
        return 0
    return 90 if b'"children"' in sample.head else 0


def sniff_dump(sample: Sample) -> int:
    """Recognise NDJSON of bare Reddit submissions/comments (Pushshift, Arctic Shift)."""
    line = sample.first_line
    if not line.startswith(b"{"):
        return 0
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        # A first line longer than the 64 KiB sample: fall back to the characteristic keys.
        keys = (b'"subreddit"', b'"created_utc"', b'"link_id"', b'"parent_id"', b'"body"')
        return 60 if all(k in line for k in keys) else 0
    if not isinstance(obj, dict) or "kind" in obj or "subreddit" not in obj or "created_utc" not in obj:
        return 0
    is_submission = "title" in obj and ("selftext" in obj or "num_comments" in obj or "is_self" in obj)
    is_comment = "body" in obj and "link_id" in obj and "parent_id" in obj
    return 90 if is_submission or is_comment else 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=LISTING,
        description="Reddit API Listing JSON, one Listing (or post page array) per line",
        layout="lines",
        sniff=sniff_listing,
        map_record=map_listing,
        source_version=SOURCE_VERSION,
    ),
    FileFormat(
        name=LISTING_DOCUMENT,
        description="Reddit API Listing JSON, one pretty-printed Listing (or post page) per file",
        layout="document",
        sniff=sniff_listing_document,
        map_record=map_listing_document,
        source_version=SOURCE_VERSION,
    ),
    FileFormat(
        name=DUMP,
        description="Pushshift / Arctic Shift Reddit dump: one submission or comment per line (.zst)",
        layout="lines",
        sniff=sniff_dump,
        map_record=map_dump,
        source_version=SOURCE_VERSION,
    ),
)
