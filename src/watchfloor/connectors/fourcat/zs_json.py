"""Small pure helpers for reading platform-internal JSON captured by Zeeschuimer.

Platform web APIs change shape often and without notice, so every read here tolerates a missing or
differently-typed value and returns None; the mappers decide which absences are fatal. ``as_str`` and
``as_count`` here are more lenient than the shared ones in :mod:`watchfloor.connectors.values` (web
apps send ids and counts as numbers or strings interchangeably); lists and de-duplication use the
shared ``as_list`` and ``unique``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Post

FORMAT_NAME = "zeeschuimer-ndjson"
SOURCE_VERSION = "1"

JsonObject = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Capture:
    """What the Zeeschuimer envelope says about one captured item."""

    module: str  # Zeeschuimer's module id as written, e.g. "tiktok.com"
    platform: str  # watchfloor's platform name, e.g. "tiktok"
    item_id: str | None
    collected_at: datetime | None


def new_post(capture: Capture, *, native_id: str, created_at: datetime, **fields: Any) -> Post:
    """Build a Post stamped with this format's provenance and the capture's platform and time."""
    return Post(
        platform=capture.platform,
        native_id=native_id,
        created_at=created_at,
        source=FORMAT_NAME,
        source_version=SOURCE_VERSION,
        collected_at=capture.collected_at,
        **fields,
    )


def dig(value: object, *path: str | int) -> object:
    """Follow dict keys and list indexes; return None as soon as a step is missing."""
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value


def as_str(value: object) -> str | None:
    """Return a non-blank string (ints become their digits, as ids often are), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_count(value: object) -> int | None:
    """Return a non-negative count from an int or a digit string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_object(value: object) -> JsonObject:
    """Return ``value`` if it is a JSON object, else an empty one (so ``.get`` chains stay safe)."""
    return value if isinstance(value, Mapping) else {}


def require_id(value: object, *, field: str) -> str:
    """Return ``value`` as an id string or raise BadRecord naming the field."""
    text = as_str(value)
    if text is None:
        raise BadRecord("the item has no id", field=field)
    return text


def http_url(value: object) -> str | None:
    """Return ``value`` if it is an http(s) URL, else None."""
    text = as_str(value)
    if text and text.lower().startswith(("http://", "https://")):
        return text
    return None
