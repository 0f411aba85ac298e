"""Map one row of a 4CAT dataset CSV to a Post.

4CAT (the Digital Methods Initiative's capture and analysis toolkit) writes every dataset with the
same required columns ``id, thread_id, body, author, timestamp`` (timestamp "YYYY-MM-DD HH:MM:SS",
UTC), usually ``unix_timestamp``, then columns that depend on the data source (``subject``,
``author_fullname``, ``url``, ``hashtags``, ``likes`` …). Only columns whose meaning is stable
across data sources are mapped; the rest stay in the raw row.

4CAT CSVs do not always say which platform they came from. The platform is, in order: the user's
``--platform``; a ``source_platform``/``platform``/``datasource`` column; else ``"unknown"``. Posts
from different "unknown" files can then share a natural key, so passing ``--platform`` is advised.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from watchfloor.connectors.base import MapOptions, MapResult
from watchfloor.connectors.fourcat.platform_names import normalise_platform
from watchfloor.connectors.generic_csv.cells import (
    cell,
    decode_row,
    http_or_none,
    parse_count,
    parse_langs,
    parse_native_id,
    parse_time,
    split_list,
    split_urls,
    strip_at,
)
from watchfloor.domain.post import Envelope, Location, Metrics, Post

FORMAT_NAME = "4cat-csv"
SOURCE_VERSION = "1"
UNKNOWN_PLATFORM = "unknown"

REQUIRED_COLUMNS = ("id", "thread_id", "body", "author", "timestamp")

# Candidate columns per meaning, first non-blank wins. Names are 4CAT's own, collected from its data
# sources (TikTok, Instagram, X import, Telegram, Reddit, 4chan, Threads …).
_PLATFORM_COLUMNS = ("source_platform", "platform", "datasource")
_URL_COLUMNS = ("url", "link", "tiktok_url", "permalink", "post_url")
_AUTHOR_NAME_COLUMNS = ("author_fullname", "author_full", "author_name")
_CONVERSATION_COLUMNS = ("board", "subreddit", "chat", "channel")
_LANG_COLUMNS = ("lang", "language", "language_guess")  # X's own guess is platform-declared
_LINK_COLUMNS = ("urls", "link_url")
_METRIC_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "likes": ("likes", "like_count", "num_likes", "favorite_count"),
    "reposts": ("retweet_count", "reposts", "num_reposts", "forwards"),
    "replies": ("reply_count", "replies", "num_comments", "comments", "num_replies"),
    "quotes": ("quote_count", "quotes"),
    "views": ("views", "plays", "impression_count", "num_views"),
    "score": ("score",),
}


def map_4cat_csv_row(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one 4CAT CSV row (a JSON object {header: cell}) to an envelope holding its Post."""
    row = decode_row(raw)
    native_id = parse_native_id(cell(row, "id"), field="id")
    thread_id = cell(row, "thread_id")
    parent_id = cell(row, "parent_id")
    langs = parse_langs(_first(row, _LANG_COLUMNS))
    post = Post(
        platform=_platform(row, options),
        native_id=native_id,
        created_at=_created_at(row),
        source=FORMAT_NAME,
        source_version=SOURCE_VERSION,
        url=http_or_none(_first(row, _URL_COLUMNS)),
        author_id=cell(row, "author_id"),
        author_handle=strip_at(cell(row, "author")),
        author_name=_first(row, _AUTHOR_NAME_COLUMNS),
        title=cell(row, "subject"),
        text=cell(row, "body"),
        langs=langs,
        lang_source="platform" if langs else None,
        # 4CAT sets thread_id (and parent_id) to the item's own id for top-level posts.
        reply_root=thread_id if thread_id and thread_id != native_id else None,
        reply_to=parent_id if parent_id and parent_id not in (native_id, "") else None,
        conversation=_first(row, _CONVERSATION_COLUMNS),
        hashtags=split_list(cell(row, "hashtags"), strip_prefix="#"),
        mentions=split_list(_first(row, ("mentions", "mentioned")), strip_prefix="@"),
        urls=split_urls(*(cell(row, c) for c in _LINK_COLUMNS)),
        metrics=_metrics(row),
    )
    return [Envelope(raw=raw, format=FORMAT_NAME, location=location, post=post)]


def _platform(row: Mapping[str, object], options: MapOptions) -> str:
    if options.platform:
        return options.platform.strip().lower()
    named = _first(row, _PLATFORM_COLUMNS)
    return normalise_platform(named) if named else UNKNOWN_PLATFORM


def _created_at(row: Mapping[str, object]) -> datetime:
    # unix_timestamp first: some 4CAT data sources format "timestamp" in the server's local time
    # (datetime.fromtimestamp without a zone), while the epoch value is unambiguous.
    epoch = cell(row, "unix_timestamp")
    if epoch is not None:
        return parse_time(epoch, field="unix_timestamp")
    return parse_time(cell(row, "timestamp"), field="timestamp")


def _metrics(row: Mapping[str, object]) -> Metrics | None:
    values: dict[str, int] = {}
    for name, columns in _METRIC_COLUMNS.items():
        for column in columns:
            text = cell(row, column)
            if text is None or text == "-1":
                continue  # 4CAT writes -1 when a count was not available
            count = parse_count(text, field=column)
            if count is not None:
                values[name] = count
                break
    return Metrics(**values) if values else None


def _first(row: Mapping[str, object], columns: tuple[str, ...]) -> str | None:
    for column in columns:
        value = cell(row, column)
        if value is not None:
            return value
    return None
