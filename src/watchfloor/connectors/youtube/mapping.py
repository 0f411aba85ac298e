"""Pure mappers from YouTube Data API v3 responses (videos, search results, comments) to Posts.

A record is one API response (``youtube#…ListResponse``) or one bare resource; each item inside becomes
one envelope whose raw payload is that item re-encoded, located by its index in the response.
Decisions an analyst should know about:

* **Ids.** A video keeps its 11-character id. A comment is ``comment:<id>`` so its key can never collide
  with a video's, whatever YouTube's id alphabets do later. A top-level comment replies to the video
  (``reply_to`` = video id); a reply replies to ``comment:<parentId>``; ``reply_root`` is the video.
* **Tags are not hashtags.** Video ``tags`` are hidden keywords viewers never see; mapping them to
  ``hashtags`` would make ``#tag`` rules fire on words absent from the post. They stay in the raw.
* **The video is the media.** A video post carries one ``MediaRef(kind="video")`` pointing at the watch
  page, with the best thumbnail as its preview, so ``has:video`` finds YouTube videos.
* **Counts** are strings in the API; an absent count (hidden likes, comments off) stays ``None``.
* **Search results** carry only a snippet: HTML-escaped, truncated descriptions and no statistics.
* **Comment text** is ``textOriginal`` when the API gave it (only to the author, usually), else
  ``textDisplay`` with its HTML removed; links in that HTML give ``urls``, ``hashtags`` and ``mentions``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial
from typing import Any, TypeGuard
from urllib.parse import parse_qs, urlsplit

import orjson
from selectolax.lexbor import LexborHTMLParser

from watchfloor.connectors.base import MapOptions, MapResult, decode_json, quarantine
from watchfloor.connectors.values import as_number, as_str, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Geotag, Location, MediaRef, Metrics, Post, Quarantined
from watchfloor.domain.timeutil import parse_iso

PLATFORM = "youtube"
LINES = "youtube-api"
DOCUMENT = "youtube-api-document"
SOURCE_VERSION = "1"
WATCH = "https://www.youtube.com/watch?v="
COMMENT_PREFIX = "comment:"

_THUMBNAIL_ORDER = ("maxres", "standard", "high", "medium", "default")
_NO_LANGUAGE = {"und", "zxx", "mul"}
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)

JSON = dict[str, Any]


def map_lines(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one line holding an API response or a single resource."""
    return _map_document(raw, location, LINES)


def map_document(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map a whole (pretty-printed) file holding a response, a resource, or a JSON array of them."""
    return _map_document(raw, location, DOCUMENT)


def _map_document(raw: bytes, location: Location, fmt: str) -> MapResult:
    doc = decode_json(raw)
    if _is_resource(doc) and not isinstance(doc.get("replies"), dict):
        # A bare resource: the record itself is the raw payload of its one envelope.
        return [_map_item(doc, raw, location, fmt)]
    results: MapResult = []
    for entry in doc if isinstance(doc, list) else [doc]:
        for item in [entry] if _is_resource(entry) else _items_of(entry):
            item_location = Location(source=location.source, line=location.line, index=len(results))
            results.extend(_map_item_tree(item, item_location, fmt, len(results)))
    return results


def _is_resource(value: object) -> TypeGuard[JSON]:
    """True for a single resource (``youtube#video``…) as opposed to a ``…ListResponse`` page."""
    kind = value.get("kind") if isinstance(value, dict) else None
    return isinstance(kind, str) and kind.startswith("youtube#") and not kind.endswith("Response")


def _items_of(response: object) -> list[Any]:
    if not isinstance(response, dict):
        raise BadRecord(f"expected a YouTube API response object, got {type(response).__name__}")
    error = response.get("error")
    if isinstance(error, dict):
        raise BadRecord(f"the API returned an error: {error.get('message', 'no message')}", field="error")
    kind = response.get("kind")
    if not isinstance(kind, str) or not kind.startswith("youtube#"):
        raise BadRecord("not a YouTube API response (kind is not 'youtube#…')", field="kind")
    items = response.get("items", [])
    if not isinstance(items, list):
        raise BadRecord(f"expected a list, got {type(items).__name__}", field="items")
    return items


def _map_item_tree(item: object, location: Location, fmt: str, start: int) -> MapResult:
    """Map one item; a comment thread also yields one envelope per reply it embeds."""
    if not isinstance(item, dict):
        return [
            Quarantined(raw=orjson.dumps(item), format=fmt, location=location, reason="item is not an object")
        ]
    if item.get("kind") != "youtube#commentThread" or not isinstance(item.get("replies"), dict):
        return [_map_item(item, orjson.dumps(item), location, fmt)]
    # Replies become their own envelopes, so the thread's raw copy leaves them out.
    thread = {k: v for k, v in item.items() if k != "replies"}
    results: MapResult = [_map_item(thread, orjson.dumps(thread), location, fmt)]
    replies = item["replies"].get("comments")
    video_id = _thread_video(item)
    for reply in replies if isinstance(replies, list) else []:
        reply_location = Location(source=location.source, line=location.line, index=start + len(results))
        raw = orjson.dumps(reply)
        if not isinstance(reply, dict):
            results.append(Quarantined(raw=raw, format=fmt, location=reply_location, reason="not an object"))
            continue
        results.append(_guard(partial(_comment, reply, fmt, video_id=video_id), raw, reply_location, fmt))
    return results


def _map_item(item: JSON, raw: bytes, location: Location, fmt: str) -> Envelope | Quarantined:
    kind = item.get("kind")
    if kind == "youtube#video":
        return _guard(partial(_video, item, item.get("id"), fmt, escaped=False), raw, location, fmt)
    if kind == "youtube#searchResult":
        ident = item.get("id")
        if isinstance(ident, dict) and ident.get("kind") == "youtube#video":
            return _guard(partial(_video, item, ident.get("videoId"), fmt, escaped=True), raw, location, fmt)
        what = ident.get("kind") if isinstance(ident, dict) else None
        reason = f"search result for {what or 'an unknown kind'}, not a video"
        return Envelope(raw=raw, format=fmt, location=location, skipped_reason=reason)
    if kind == "youtube#commentThread":
        return _guard(partial(_thread, item, fmt), raw, location, fmt)
    if kind == "youtube#comment":
        return _guard(partial(_comment, item, fmt, video_id=None), raw, location, fmt)
    reason = f"YouTube {kind or 'item without a kind'} is not a video or a comment"
    return Envelope(raw=raw, format=fmt, location=location, skipped_reason=reason)


def _guard(build: Callable[[], Post], raw: bytes, location: Location, fmt: str) -> Envelope | Quarantined:
    try:
        post = build()
    except BadRecord as exc:
        return quarantine(exc, raw, fmt, location)
    return Envelope(raw=raw, format=fmt, location=location, post=post)


def _video(item: JSON, video_id: object, fmt: str, *, escaped: bool) -> Post:
    if not isinstance(video_id, str) or not video_id:
        raise BadRecord("video has no id", field="id")
    snippet = _required_object(item, "snippet")
    fix = html.unescape if escaped else str  # search snippets come HTML-escaped
    title, description = as_str(snippet.get("title")), as_str(snippet.get("description"))
    channel_title = as_str(snippet.get("channelTitle"))
    langs = _languages(snippet.get("defaultLanguage"), snippet.get("defaultAudioLanguage"))
    thumbnail = _best_thumbnail(snippet.get("thumbnails"))
    details = item.get("contentDetails")
    rating = details.get("contentRating") if isinstance(details, dict) else None
    age_restricted = isinstance(rating, dict) and rating.get("ytRating") == "ytAgeRestricted"
    return Post(
        platform=PLATFORM,
        native_id=video_id,
        created_at=parse_iso(snippet.get("publishedAt"), field="snippet.publishedAt"),
        source=fmt,
        source_version=SOURCE_VERSION,
        url=WATCH + video_id,
        author_id=as_str(snippet.get("channelId")),
        author_name=fix(channel_title) if channel_title else None,
        title=fix(title) if title else None,
        text=fix(description) if description else None,
        langs=langs,
        lang_source="platform" if langs else None,
        media=(MediaRef(kind="video", url=WATCH + video_id, preview_url=thumbnail, native_id=video_id),),
        metrics=_statistics(item.get("statistics")),
        geo=_geotag(item.get("recordingDetails")),
        sensitive=True if age_restricted else None,  # absence of a rating does not mean safe
    )


def _thread(item: JSON, fmt: str) -> Post:
    snippet = _required_object(item, "snippet")
    top = snippet.get("topLevelComment")
    if not isinstance(top, dict):
        raise BadRecord("comment thread has no topLevelComment", field="snippet.topLevelComment")
    replies = snippet.get("totalReplyCount")
    return _comment(top, fmt, video_id=_thread_video(item), reply_count=_count(replies, "totalReplyCount"))


def _thread_video(item: JSON) -> str | None:
    snippet = item.get("snippet")
    return as_str(snippet.get("videoId")) if isinstance(snippet, dict) else None


def _comment(item: JSON, fmt: str, *, video_id: str | None, reply_count: int | None = None) -> Post:
    comment_id = as_str(item.get("id"))
    if comment_id is None:
        raise BadRecord("comment has no id", field="id")
    snippet = _required_object(item, "snippet")
    video_id = as_str(snippet.get("videoId")) or video_id
    parent = as_str(snippet.get("parentId"))
    created_at = parse_iso(snippet.get("publishedAt"), field="snippet.publishedAt")
    updated = snippet.get("updatedAt")
    updated_at = parse_iso(updated, field="snippet.updatedAt") if updated is not None else None
    display = as_str(snippet.get("textDisplay"))
    text, urls, hashtags, mentions = _from_display(display)
    original = snippet.get("textOriginal")
    if isinstance(original, str):
        text = original or None
    author = as_str(snippet.get("authorDisplayName"))
    channel = snippet.get("authorChannelId")
    likes = _count(snippet.get("likeCount"), "likeCount")
    return Post(
        platform=PLATFORM,
        native_id=COMMENT_PREFIX + comment_id,
        created_at=created_at,
        source=fmt,
        source_version=SOURCE_VERSION,
        url=f"{WATCH}{video_id}&lc={comment_id}" if video_id else None,
        author_id=as_str(channel.get("value")) if isinstance(channel, dict) else None,
        # Since 2023 the API gives "@handle" here instead of a display name.
        author_handle=author[1:] if author and author.startswith("@") else None,
        author_name=author if author and not author.startswith("@") else None,
        text=text,
        reply_to=COMMENT_PREFIX + parent if parent else video_id,
        reply_root=video_id,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        metrics=metrics_of(likes=likes, replies=reply_count),
        edited_at=updated_at if updated_at and updated_at != created_at else None,
    )


def _from_display(
    display: str | None,
) -> tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Return plain text, linked urls, hashtags and mentions from a comment's ``textDisplay`` HTML."""
    if not display:
        return None, (), (), ()
    tree = LexborHTMLParser(_BR.sub("\n", display))
    urls: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    for anchor in tree.css("a"):
        label = anchor.text().strip()
        href = anchor.attributes.get("href") or ""
        if label.startswith("#") and len(label) > 1:
            hashtags.append(label[1:])
        elif label.startswith("@") and len(label) > 1:
            mentions.append(label[1:])
        elif href and not _is_timestamp_link(href):
            urls.append(href)
    text = tree.body.text() if tree.body is not None else display
    return text or None, unique(urls), unique(hashtags), unique(mentions)


def _is_timestamp_link(href: str) -> bool:
    """A "1:23" link jumps inside the same video; it is navigation, not a link the author shared."""
    parts = urlsplit(href)
    return parts.netloc.endswith("youtube.com") and parts.path == "/watch" and "t" in parse_qs(parts.query)


def _statistics(stats: object) -> Metrics | None:
    if not isinstance(stats, dict):
        return None
    views = _count(stats.get("viewCount"), "statistics.viewCount")
    likes = _count(stats.get("likeCount"), "statistics.likeCount")
    comments = _count(stats.get("commentCount"), "statistics.commentCount")
    return metrics_of(views=views, likes=likes, replies=comments)


def _count(value: object, field: str) -> int | None:
    """Parse an API count, which is a decimal string for videos and a number for comments."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise BadRecord(f"expected a non-negative count, got {value!r}", field=field)


def _languages(*values: object) -> tuple[str, ...]:
    langs: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip():
            primary = value.strip().split("-")[0].split("_")[0].lower()
            if primary and primary not in _NO_LANGUAGE and primary not in langs:
                langs.append(primary)
    return tuple(langs)


def _best_thumbnail(thumbnails: object) -> str | None:
    if not isinstance(thumbnails, dict):
        return None
    for size in _THUMBNAIL_ORDER:
        entry = thumbnails.get(size)
        if isinstance(entry, dict) and as_str(entry.get("url")):
            return str(entry["url"])
    return None


def _geotag(details: object) -> Geotag | None:
    """Return the uploader's explicit recording location, if the response included one."""
    if not isinstance(details, dict) or not isinstance(details.get("location"), dict):
        return None
    lat, lon = as_number(details["location"].get("latitude")), as_number(details["location"].get("longitude"))
    if lat is None or lon is None:
        return None
    return Geotag(latitude=lat, longitude=lon, place_name=as_str(details.get("locationDescription")))


def _required_object(item: JSON, key: str) -> JSON:
    value = item.get(key)
    if not isinstance(value, dict):
        raise BadRecord(f"missing or not an object: {key}", field=key)
    return value
