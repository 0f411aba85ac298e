"""Map one row of any CSV to a Post, using the user's column map or well-known header names.

Analysts bring spreadsheets from everywhere (research datasets, exports of tools that no longer
exist). This mapper needs only three things per row: which platform, the post's id on it, and when it
was created; everything else is optional. The user says which column holds what with
``MapOptions.column_map`` (keys are Post field names, values are column names, matched ignoring case
and surrounding spaces). Fields the user did not map are looked for under common header names
(``id``, ``text``, ``created_at`` …); map a field to ``""`` to stop that guess.

``created_at`` may also be ``"snowflake:<column>"``: the time is then decoded from a Twitter/X id in
that column, for datasets such as CrisisLex that publish ids and text but no time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watchfloor.connectors.base import MapOptions, MapResult
from watchfloor.connectors.generic_csv.cells import (
    cell,
    decode_row,
    http_or_none,
    parse_langs,
    parse_native_id,
    parse_time,
    split_list,
    split_urls,
    strip_at,
)
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Post
from watchfloor.domain.timeutil import twitter_snowflake_time

FORMAT_NAME = "csv"
SOURCE_VERSION = "1"
SNOWFLAKE_PREFIX = "snowflake:"

# Post fields a column can be mapped to. "urls" are links inside the post; "url" is the post's own
# address. "platform" lets one file mix platforms (a column of "twitter", "reddit" …).
MAPPABLE_FIELDS: tuple[str, ...] = (
    "native_id",
    "text",
    "title",
    "created_at",
    "author_handle",
    "author_id",
    "author_name",
    "url",
    "urls",
    "langs",
    "hashtags",
    "mentions",
    "conversation",
    "platform",
)

# Header names tried, in order, for fields the user did not map (compared case-insensitively).
AUTO_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "native_id": ("id", "tweet id", "tweet_id", "post id", "post_id", "status id", "status_id", "id_str"),
    "text": ("text", "tweet", "tweet text", "full_text", "body", "message", "content"),
    "title": ("title",),
    "created_at": ("created_at", "created at", "timestamp", "date", "time", "datetime", "published_at"),
    "author_handle": ("author", "user", "username", "user_name", "screen_name", "handle"),
    "author_id": ("author_id", "user_id"),
    "author_name": ("author_name", "author_fullname", "user_fullname"),
    "url": ("url", "link", "permalink"),
    "urls": ("urls", "links", "expanded_urls"),
    "langs": ("lang", "language"),
    "hashtags": ("hashtags",),
    "mentions": ("mentions",),
    "platform": ("platform",),
}

# The minimum a row needs; the reason text tells the user how to supply each one.
_REQUIRED = {
    "native_id": 'no column holds the post id; map one, e.g. native_id="Tweet ID"',
    "created_at": (
        'no column holds the creation time; map one, e.g. created_at="date", or for tweet ids '
        'without times created_at="snowflake:Tweet ID"'
    ),
}


def map_csv_row(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one CSV row (a JSON object {header: cell}) to an envelope holding its Post."""
    row = decode_row(raw)
    plan = resolve_columns(tuple(row), tuple(options.column_map.items()))
    post = _build_post(row, plan, options)
    return [Envelope(raw=raw, format=FORMAT_NAME, location=location, post=post)]


@lru_cache(maxsize=64)
def resolve_columns(
    headers: tuple[str, ...], column_map: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Decide which header feeds each Post field: the user's map first, then common header names.

    Cached per (header row, column map): every row of a file asks the same question. Raises BadRecord
    when the user named a field or column that does not exist, listing what does.
    """
    by_key = {_key(h): h for h in headers}
    plan: dict[str, str] = {}
    for field_name, column in column_map:
        if field_name not in MAPPABLE_FIELDS:
            known = ", ".join(MAPPABLE_FIELDS)
            raise BadRecord(f"cannot map a column to unknown field {field_name!r}; fields: {known}")
        if not column.strip():
            plan[field_name] = ""  # explicitly not mapped
            continue
        wanted = column.strip()
        snowflake = field_name == "created_at" and wanted.lower().startswith(SNOWFLAKE_PREFIX)
        if snowflake:
            wanted = wanted[len(SNOWFLAKE_PREFIX) :].strip()
        header = by_key.get(_key(wanted))
        if header is None:
            raise BadRecord(
                f"column {wanted!r} (mapped to {field_name}) is not in the file; "
                f"its columns are: {_list_headers(headers)}",
                field=field_name,
            )
        plan[field_name] = SNOWFLAKE_PREFIX + header if snowflake else header
    for field_name, candidates in AUTO_COLUMNS.items():
        if field_name in plan:
            continue
        for candidate in candidates:
            if candidate in by_key:
                plan[field_name] = by_key[candidate]
                break
    for field_name, reason in _REQUIRED.items():
        if not plan.get(field_name):
            raise BadRecord(f"{reason}; the file's columns are: {_list_headers(headers)}", field=field_name)
    return tuple((f, c) for f, c in plan.items() if c)


def _build_post(row: Mapping[str, object], plan: Iterable[tuple[str, str]], options: MapOptions) -> Post:
    columns = dict(plan)

    def text_of(field_name: str) -> str | None:
        column = columns.get(field_name)
        return cell(row, column) if column else None

    platform = _platform(options, text_of("platform"))
    id_column = columns["native_id"]
    native_id = parse_native_id(cell(row, id_column), field=id_column)
    time_column = columns["created_at"]
    if time_column.startswith(SNOWFLAKE_PREFIX):
        source_column = time_column[len(SNOWFLAKE_PREFIX) :]
        snowflake_id = parse_native_id(cell(row, source_column), field=source_column)
        created_at = twitter_snowflake_time(snowflake_id, field=source_column)
    else:
        tz = _default_timezone(options.default_timezone)
        created_at = parse_time(cell(row, time_column), field=time_column, default_tz=tz)
    langs = parse_langs(text_of("langs"))
    own_url = text_of("url")
    return Post(
        platform=platform,
        native_id=native_id,
        created_at=created_at,
        source=FORMAT_NAME,
        source_version=SOURCE_VERSION,
        url=http_or_none(own_url),
        author_id=text_of("author_id"),
        author_handle=strip_at(text_of("author_handle")),
        author_name=text_of("author_name"),
        title=text_of("title"),
        text=text_of("text"),
        langs=langs,
        lang_source="platform" if langs else None,
        conversation=text_of("conversation"),
        hashtags=split_list(text_of("hashtags"), strip_prefix="#"),
        mentions=split_list(text_of("mentions"), strip_prefix="@"),
        urls=split_urls(text_of("urls")),
    )


def _platform(options: MapOptions, from_column: str | None) -> str:
    platform = options.platform or from_column
    if not platform:
        raise BadRecord(
            "no platform is known for this file; pass --platform NAME (for example --platform twitter) "
            "or map a column holding the platform",
            field="platform",
        )
    return platform.strip().lower()


@lru_cache(maxsize=16)
def _default_timezone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRecord(
            f"unknown time zone {name!r}; give an IANA name such as UTC or Europe/Amsterdam",
            field="default_timezone",
        ) from None


def _key(header: str) -> str:
    return header.strip().casefold()


def _list_headers(headers: Iterable[str]) -> str:
    return ", ".join(repr(h) for h in headers)
