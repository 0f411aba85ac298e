"""Map one line of a Zeeschuimer / 4CAT NDJSON export to a Post.

Zeeschuimer (a browser extension of the Digital Methods Initiative) records what a platform's web
app loads while a researcher browses, one item per line:
``{"nav_index", "item_id", "timestamp_collected" (ms), "source_platform" (module id such as
"tiktok.com"), "source_platform_url", "source_url", "user_agent", "data"}`` where ``data`` is the
platform's internal JSON, kept verbatim in the envelope. TikTok, Instagram, Threads, X and LinkedIn
items are mapped field by field; for any other module the item is mapped from generic keys (id, time,
text) when it has them, and quarantined with a reason saying so when it does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from watchfloor.connectors.base import MapOptions, MapResult, decode_json
from watchfloor.connectors.fourcat.platform_names import normalise_platform
from watchfloor.connectors.fourcat.zs_items import map_instagram, map_threads, map_tiktok
from watchfloor.connectors.fourcat.zs_json import (
    FORMAT_NAME,
    Capture,
    JsonObject,
    as_object,
    as_str,
    http_url,
    new_post,
)
from watchfloor.connectors.fourcat.zs_linkedin import map_linkedin
from watchfloor.connectors.fourcat.zs_twitter import map_twitter
from watchfloor.connectors.generic_csv.cells import parse_time
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Post
from watchfloor.domain.timeutil import parse_epoch

ItemMapper = Callable[[JsonObject, Capture], Post]

_MAPPERS: Mapping[str, ItemMapper] = {
    "tiktok": map_tiktok,
    "instagram": map_instagram,
    "threads": map_threads,
    "twitter": map_twitter,
    "linkedin": map_linkedin,
}
FULLY_MAPPED = tuple(sorted(_MAPPERS))

# Keys tried, in order, for platforms without a dedicated mapper.
_ID_KEYS = ("id", "id_str", "pk", "rest_id", "code", "shortcode", "aweme_id")
_TIME_KEYS = (
    "created_at",
    "createdAt",
    "createTime",
    "create_time",
    "taken_at",
    "creationTs",
    "published_at",
    "publishedAt",
    "timestamp",
)
_TEXT_KEYS = ("text", "desc", "content", "body", "description")


def map_zeeschuimer_line(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one Zeeschuimer NDJSON line to an envelope holding its Post, or raise BadRecord."""
    item = decode_json(raw)
    if not isinstance(item, dict):
        raise BadRecord("expected a JSON object per line")
    module = as_str(item.get("source_platform"))
    if module is None:
        raise BadRecord("the line has no source_platform", field="source_platform")
    data = item.get("data")
    if not isinstance(data, dict):
        raise BadRecord("the line has no data object", field="data")
    capture = Capture(
        module=module,
        platform=options.platform.strip().lower() if options.platform else normalise_platform(module),
        item_id=as_str(item.get("item_id")),
        collected_at=_collected_at(item.get("timestamp_collected")),
    )
    mapper = _MAPPERS.get(normalise_platform(module), _map_generic)
    post = mapper(data, capture)
    return [Envelope(raw=raw, format=FORMAT_NAME, location=location, post=post)]


def _collected_at(value: object) -> datetime | None:
    if value is None:
        return None
    return parse_epoch(value, field="timestamp_collected", unit="ms")


def _map_generic(data: JsonObject, capture: Capture) -> Post:
    """Map an item of a platform without a dedicated mapper from common keys; absent text stays None."""
    native_id = _first_str(data, _ID_KEYS) or capture.item_id
    if native_id is None:
        raise BadRecord(_unsupported(capture, "id"), field="data")
    created_at = _generic_time(data)
    if created_at is None:
        raise BadRecord(_unsupported(capture, "creation time"), field="data")
    text = _first_str(data, _TEXT_KEYS) or as_str(as_object(data.get("caption")).get("text"))
    return new_post(
        capture,
        native_id=native_id,
        created_at=created_at,
        url=http_url(data.get("url")),
        title=as_str(data.get("title")),
        # Text is kept as the platform sent it; some (Gab, Truth Social) send HTML here.
        text=text,
    )


def _generic_time(data: JsonObject) -> datetime | None:
    for key in _TIME_KEYS:
        value = data.get(key)
        if isinstance(value, bool) or value in (None, ""):
            continue
        if isinstance(value, int | float | str):
            return parse_time(str(value), field=f"data.{key}")
    return None


def _unsupported(capture: Capture, missing: str) -> str:
    fully = ", ".join(FULLY_MAPPED)
    return (
        f"found no {missing} in this {capture.module} item; watchfloor maps {fully} captures "
        "field by field, and other platforms only when the item has an id and a creation time"
    )


def _first_str(data: JsonObject, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = as_str(data.get(key))
        if value is not None:
            return value
    return None
