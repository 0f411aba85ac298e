"""Stage 1: put a post's free text in one Unicode form and fill the collection time.

Connectors map what the platform sent; this stage removes the differences that are encoding
accidents rather than content, so later stages and the store see one spelling of the same text:

* ``text``, ``title`` and ``author_name`` become NFC (composed accents). NFC only: case and
  compatibility characters (``ﬁ``, full-width letters) are kept as written, because the stored text
  is evidence. Matching folds them separately (``query.tokens`` applies NFKC and case folding).
* C0 control characters are removed except ``\\n`` and ``\\t``; ``\\r\\n`` and a lone ``\\r`` become
  ``\\n`` (deleting a bare ``\\r`` would glue two lines' words together); DEL is removed too. Lone
  UTF-16 surrogates (from broken JSON escapes) become U+FFFD, because nothing downstream — UTF-8
  encoders, fastText, SQLite — can take them. Nothing else is collapsed: repeated spaces and blank
  lines stay. A text left empty (or given as ``""``) becomes ``None``: absent, not empty.
* ``collected_at`` is set to the pipeline's clock when the connector did not give one.
* ``hashtags`` and ``mentions`` lose case-insensitive duplicates; the first spelling is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from watchfloor.domain.post import Post

NAME = "normalise"
VERSION = "1"

# One scan finds every character that needs fixing; most posts have none and pay only this search.
_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _fix_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r":
        return "\n"
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"
    return ""


def clean_text(text: str) -> str:
    """Return ``text`` in NFC with control characters removed (see the module docstring)."""
    if _BAD.search(text) is not None:
        text = _BAD.sub(_fix_char, text.replace("\r\n", "\n"))
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def unique_casefold(items: Iterable[str]) -> tuple[str, ...]:
    """Return ``items`` without case-insensitive duplicates or empty strings, first spelling kept."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return tuple(out)


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Return ``items`` without exact duplicates or empty strings, order kept."""
    return tuple(dict.fromkeys(i for i in items if i))


def _clean_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    if not tags:
        return tags
    cleaned = unique_casefold(clean_text(t) for t in tags)
    return tags if cleaned == tags else cleaned


def normalise_post(post: Post, *, now: datetime) -> Post:
    """Return ``post`` with its text normalised and ``collected_at`` filled; the same object if unchanged."""
    changes: dict[str, Any] = {}
    for field in ("text", "title", "author_name"):
        value = getattr(post, field)
        if value is not None:
            cleaned = clean_text(value)
            if cleaned != value or not cleaned:
                # Absent is None, never "" (STYLE 7) — also for a text that was only control characters.
                changes[field] = cleaned or None
    if post.collected_at is None:
        changes["collected_at"] = now
    hashtags = _clean_tags(post.hashtags)
    if hashtags is not post.hashtags:
        changes["hashtags"] = hashtags
    mentions = _clean_tags(post.mentions)
    if mentions is not post.mentions:
        changes["mentions"] = mentions
    return msgspec.structs.replace(post, **changes) if changes else post
