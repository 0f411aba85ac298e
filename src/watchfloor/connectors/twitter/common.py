"""Small pure helpers shared by the Twitter v1.1 and twarc2 (API v2) mappers.

Both API generations share ids, URLs, language codes, GeoJSON points and HTML-escaped text, so these
live once here; everything format-specific stays in ``mapping.py`` (v1.1) and ``mapping_v2.py``.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta, timezone
from typing import Any

from watchfloor.connectors.values import as_dict, as_number, as_str, dict_items
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Geotag
from watchfloor.domain.timeutil import ensure_plausible

PLATFORM = "twitter"
SOURCE_VERSION = "1"

# Twitter's own codes for "no language": undetermined, and the q* machine codes for texts that are
# only media links (qme), mentions (qam), hashtags (qht), cashtags (qct) or too short (qst).
_NO_LANGUAGE = frozenset({"und", "qme", "qam", "qht", "qct", "qst", "zxx"})
_MONTHS = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6}
_MONTHS |= {"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}


def parse_twitter_time(value: object, *, field: str) -> datetime:
    """Parse v1.1's ``"Wed Oct 10 20:19:24 +0000 2018"`` into aware UTC, or raise ``BadRecord``.

    Parsed by hand rather than with ``strptime`` so the result never depends on the process locale.
    """
    if not isinstance(value, str):
        raise BadRecord("missing or not a string", field=field)
    try:
        _, month, day, clock, offset, year = value.split()
        hour, minute, second = (int(p) for p in clock.split(":"))
        if len(offset) != 5 or offset[0] not in "+-":
            raise ValueError(offset)
        minutes = (-1 if offset[0] == "-" else 1) * (int(offset[1:3]) * 60 + int(offset[3:5]))
        zone = timezone(timedelta(minutes=minutes))
        parsed = datetime(int(year), _MONTHS[month], int(day), hour, minute, second, tzinfo=zone)
    except (ValueError, KeyError, OverflowError):
        raise BadRecord(f"not a Twitter timestamp: {value!r}", field=field) from None
    return ensure_plausible(parsed, field=field)


def tweet_id(obj: dict[str, Any], *, field: str, str_key: str = "id_str", int_key: str = "id") -> str:
    """Return a tweet or user id as a string, preferring the string form (JSON numbers lose digits)."""
    found = numeric_id(obj, str_key=str_key, int_key=int_key)
    if found is None:
        raise BadRecord("missing or not a numeric id", field=field)
    return found


def numeric_id(obj: dict[str, Any], *, str_key: str = "id_str", int_key: str = "id") -> str | None:
    """``tweet_id`` without the error: None when neither key holds a numeric id.

    For optional references (author, reply, quote, media ids): a malformed one is dropped (the raw
    payload keeps it) without raising, so a file that fills one with something else costs nothing.
    """
    value = obj.get(str_key)
    if isinstance(value, str) and value.isdigit():
        return value
    number = obj.get(int_key)
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        return str(number)
    if isinstance(number, str) and number.isdigit():
        return number
    return None


def tweet_url(native_id: str, screen_name: str | None) -> str:
    """The public web address of a tweet; ``/i/web/status/`` works when the author is unknown."""
    if screen_name:
        return f"https://twitter.com/{screen_name}/status/{native_id}"
    return f"https://twitter.com/i/web/status/{native_id}"


def tweet_text(value: object, *, field: str) -> str | None:
    """Return tweet text with Twitter's HTML escaping (``&amp;``, ``&lt;``, ``&gt;``) undone."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"expected a string, got {type(value).__name__}", field=field)
    return html.unescape(value) or None


def langs(value: object) -> tuple[str, ...]:
    """The declared language as a one-item tuple, or () for Twitter's 'no language' codes."""
    return (value,) if isinstance(value, str) and value and value not in _NO_LANGUAGE else ()


def geotag(point: object, place: object) -> Geotag | None:
    """Build a Geotag from a GeoJSON point (``[longitude, latitude]``) and a place, if either is given."""
    latitude = longitude = None
    point_dict = as_dict(point)
    coordinates = point_dict.get("coordinates") if point_dict else None
    if isinstance(coordinates, list) and len(coordinates) == 2:
        lon, lat = as_number(coordinates[0]), as_number(coordinates[1])
        # A non-numeric or out-of-range point is dropped, not fixed.
        if lon is not None and lat is not None and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
            latitude, longitude = lat, lon
    place_dict = as_dict(place) or {}
    place_name = as_str(place_dict.get("full_name")) or as_str(place_dict.get("name"))
    country = as_str(place_dict.get("country_code"))
    if latitude is None and place_name is None and country is None:
        return None
    return Geotag(latitude=latitude, longitude=longitude, place_name=place_name, country_code=country)


def best_video(variants: object) -> tuple[str | None, str | None]:
    """Return (url, mime type) of the highest-bitrate MP4 variant of a video, if any."""
    best: tuple[int, str, str] | None = None
    for variant in dict_items(variants):
        url, mime = as_str(variant.get("url")), as_str(variant.get("content_type"))
        rate = variant.get("bit_rate", variant.get("bitrate"))
        if url and mime == "video/mp4":
            score = rate if isinstance(rate, int) and not isinstance(rate, bool) else 0
            if best is None or score > best[0]:
                best = (score, url, mime)
    return (best[1], best[2]) if best else (None, None)
