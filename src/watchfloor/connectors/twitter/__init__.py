"""Twitter/X importers: API v1.1 status lines (Hydrator, twarc1, PHEME) and twarc2 API v2 lines."""

from __future__ import annotations

import re

from watchfloor.connectors.base import FileFormat, Sample, json_key
from watchfloor.connectors.twitter.common import SOURCE_VERSION
from watchfloor.connectors.twitter.mapping import FORMAT as V1
from watchfloor.connectors.twitter.mapping import map_v1_line
from watchfloor.connectors.twitter.mapping_v2 import FORMAT as TWARC2
from watchfloor.connectors.twitter.mapping_v2 import map_twarc2_line

_ID_STR, _SCREEN_NAME, _CREATED_AT = json_key(b"id_str"), json_key(b"screen_name"), json_key(b"created_at")
_TEXT, _FULL_TEXT, _TWARC = json_key(b"text"), json_key(b"full_text"), json_key(b"__twarc")
_DELETE_NOTICE = re.compile(rb'^\{\s*"delete"\s*:\s*\{\s*"status"\s*:')
# 4CAT/Zeeschuimer items wrap Twitter's legacy status objects; they are that importer's, not ours.
_WRAPPED = re.compile(rb'"(?:nav_index|source_platform)"\s*:')
_V2_PAGE = re.compile(rb'^\{\s*"data"\s*:\s*[\[{]')
_V2_TWEET_KEYS = (json_key(b"author_id"), json_key(b"edit_history_tweet_ids"), json_key(b"conversation_id"))


def sniff_v1(sample: Sample) -> int:
    """Return 90 for v1.1 statuses (``id_str``, ``screen_name``, ``created_at``, text), 80 for deletes."""
    line = sample.first_line
    if not line.startswith((b"{", b"[")) or _TWARC.search(line) or _WRAPPED.search(line):
        return 0
    if _DELETE_NOTICE.search(line):
        return 80
    has_text = _TEXT.search(line) or _FULL_TEXT.search(line)
    return (
        90
        if has_text and _ID_STR.search(line) and _SCREEN_NAME.search(line) and _CREATED_AT.search(line)
        else 0
    )


def sniff_twarc2(sample: Sample) -> int:
    """Return 95 for lines with twarc's ``__twarc`` note, 70 for bare API v2 tweet pages, else 0."""
    line = sample.first_line
    if not line.startswith(b"{") or _ID_STR.search(line):
        return 0
    if _TWARC.search(line):
        return 95
    if _V2_PAGE.search(line) and any(key.search(line) for key in _V2_TWEET_KEYS):
        return 70
    return 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=V1,
        description="Twitter API v1.1 statuses, one per line or one array per line (Hydrator, twarc1, PHEME)",
        layout="lines",
        sniff=sniff_v1,
        map_record=map_v1_line,
        source_version=SOURCE_VERSION,
    ),
    FileFormat(
        name=TWARC2,
        description="twarc2 JSON lines: Twitter API v2 response pages or flattened tweets",
        layout="lines",
        sniff=sniff_twarc2,
        map_record=map_twarc2_line,
        source_version=SOURCE_VERSION,
    ),
)
