"""Map Twitter API v1.1 status objects (one per line, or one JSON array per line) to envelopes of posts.

This is what Hydrator, twarc1 and research releases such as PHEME hold, so old collections can be
brought onto the watch floor next to live data.

Decisions and limits, stated plainly:

* Text is ``extended_tweet.full_text``, else ``full_text``, else ``text`` (which is cut at 140
  characters on long tweets), with Twitter's HTML escaping undone. Entities come from the same level
  as the text; ``extended_entities.media`` is preferred because ``entities.media`` lists one photo only.
* A retweet yields two posts: the retweeted original (its own id) and the retweet, whose
  ``repost_of`` is the original's id and which carries no text, entities or counts of its own (in
  v1.1 a retweet's counts are the original's). A fully embedded ``quoted_status`` becomes its own
  post as well.
* Streaming ``delete`` notices become Deletions; other stream notices (``limit``, ``scrub_geo``,
  withheld notices) are skipped with their name.
* A photo's ``url`` is the image; a video's or GIF's ``url`` is its highest-bitrate MP4 and
  ``preview_url`` its still image. ``ext_alt_text`` is used as alt text when the collector asked for it.
* Points are GeoJSON ``[longitude, latitude]``; the deprecated ``geo`` field (``[lat, lon]``) is ignored.
"""

from __future__ import annotations

from typing import Any

from watchfloor.connectors.base import MapOptions, MapResult, map_object_or_array
from watchfloor.connectors.twitter.common import (
    PLATFORM,
    SOURCE_VERSION,
    best_video,
    geotag,
    langs,
    numeric_id,
    parse_twitter_time,
    tweet_id,
    tweet_text,
    tweet_url,
)
from watchfloor.connectors.values import as_count, as_dict, as_str, dict_items, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import (
    Deletion,
    Envelope,
    Location,
    MediaKind,
    MediaRef,
    Metrics,
    Post,
)
from watchfloor.domain.timeutil import parse_epoch

FORMAT = "twitter-v1"

_MAX_DEPTH = 2  # a retweet embeds an original, which may embed a quoted status; no deeper
_MEDIA_KINDS: dict[str, MediaKind] = {"photo": "image", "video": "video", "animated_gif": "gif"}
_NOTICES = ("limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect", "warning")


def map_v1_line(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one line holding a status, a stream notice or an array of statuses (bad elements quarantined)."""
    del options  # nothing configurable for this format
    return map_object_or_array(raw, location, fmt=FORMAT, what="a status object", map_object=map_v1_object)


def map_v1_object(obj: dict[str, Any], raw: bytes, location: Location) -> list[Envelope]:
    """Map one v1.1 object: a status (with embedded originals) or a streaming notice."""
    notice = as_dict(obj.get("delete"))
    if notice is not None and "text" not in obj:
        status = as_dict(notice.get("status")) or {}
        native_id = tweet_id(status, field="delete.status.id_str")
        stamp = notice.get("timestamp_ms")
        deleted_at = parse_epoch(stamp, field="delete.timestamp_ms", unit="ms") if stamp is not None else None
        deletion = Deletion(platform=PLATFORM, native_id=native_id, deleted_at=deleted_at)
        return [Envelope(raw=raw, format=FORMAT, location=location, deletion=deletion)]
    for name in _NOTICES:
        if name in obj and "id_str" not in obj and "id" not in obj:
            reason = f"stream notice {name!r} is not a post"
            return [Envelope(raw=raw, format=FORMAT, location=location, skipped_reason=reason)]
    if not any(key in obj for key in ("text", "full_text", "extended_tweet")):
        if "screen_name" in obj:  # users/lookup output saved into the same file
            return [
                Envelope(
                    raw=raw, format=FORMAT, location=location, skipped_reason="user object is not a post"
                )
            ]
        raise BadRecord("no text or full_text: not a status", field="text")
    return [Envelope(raw=raw, format=FORMAT, location=location, post=p) for p in _map_status(obj, 0)]


def _map_status(status: dict[str, Any], depth: int) -> list[Post]:
    """The status as a Post, preceded by its retweeted original or followed by its quoted status."""
    retweeted = as_dict(status.get("retweeted_status")) if depth < _MAX_DEPTH else None
    if retweeted is not None:
        originals = _map_status(retweeted, depth + 1)
        return [*originals, Post(**_common(status), repost_of=originals[0].native_id)]
    posts = [_map_post(status)]
    quoted = as_dict(status.get("quoted_status")) if depth < _MAX_DEPTH else None
    if quoted is not None and "created_at" in quoted:  # a bare id stub is not a tweet we can store
        posts.extend(_map_status(quoted, depth + 1))
    return posts


def _common(status: dict[str, Any]) -> dict[str, Any]:
    """The fields every post has, retweets included: ids, time, author, address."""
    native_id = tweet_id(status, field="id_str")
    user = as_dict(status.get("user")) or {}
    screen_name = as_str(user.get("screen_name"))
    return {
        "platform": PLATFORM,
        "native_id": native_id,
        "created_at": parse_twitter_time(status.get("created_at"), field="created_at"),
        "source": FORMAT,
        "source_version": SOURCE_VERSION,
        "url": tweet_url(native_id, screen_name),
        "author_id": numeric_id(user),
        "author_handle": screen_name,
        "author_name": as_str(user.get("name")),
    }


def _map_post(status: dict[str, Any]) -> Post:
    extended = as_dict(status.get("extended_tweet"))
    if extended is not None:
        text = tweet_text(extended.get("full_text"), field="extended_tweet.full_text")
        level = extended
    elif "full_text" in status:
        text, level = tweet_text(status.get("full_text"), field="full_text"), status
    else:
        text, level = tweet_text(status.get("text"), field="text"), status
    entities = as_dict(level.get("entities")) or {}
    extended_entities = as_dict(level.get("extended_entities")) or {}
    media = dict_items(extended_entities.get("media")) or dict_items(entities.get("media"))
    quoted = as_dict(status.get("quoted_status")) or {}
    declared = langs(status.get("lang"))
    sensitive = status.get("possibly_sensitive")
    return Post(
        **_common(status),
        text=text,
        langs=declared,
        lang_source="platform" if declared else None,
        reply_to=numeric_id(status, str_key="in_reply_to_status_id_str", int_key="in_reply_to_status_id"),
        quote_of=numeric_id(status, str_key="quoted_status_id_str", int_key="quoted_status_id")
        or numeric_id(quoted),
        media=tuple(_media(m) for m in media),
        hashtags=unique(tag.get("text") for tag in dict_items(entities.get("hashtags"))),
        mentions=unique(m.get("screen_name") for m in dict_items(entities.get("user_mentions"))),
        urls=unique(u.get("expanded_url") or u.get("url") for u in dict_items(entities.get("urls"))),
        metrics=_metrics(status),
        geo=geotag(status.get("coordinates"), status.get("place")),
        sensitive=sensitive if isinstance(sensitive, bool) else None,
    )


def _media(item: dict[str, Any]) -> MediaRef:
    kind = _MEDIA_KINDS.get(str(item.get("type")), "other")
    still = as_str(item.get("media_url_https")) or as_str(item.get("media_url"))
    alt = as_str(item.get("ext_alt_text"))
    native_id = numeric_id(item)
    if kind == "image":
        return MediaRef(kind=kind, url=still, alt_text=alt, native_id=native_id)
    video_info = as_dict(item.get("video_info")) or {}
    url, mime = best_video(video_info.get("variants"))
    return MediaRef(kind=kind, url=url, preview_url=still, alt_text=alt, mime_type=mime, native_id=native_id)


def _metrics(status: dict[str, Any]) -> Metrics | None:
    return metrics_of(
        likes=as_count(status.get("favorite_count")),
        reposts=as_count(status.get("retweet_count")),
        replies=as_count(status.get("reply_count")),  # only in premium and enterprise payloads
        quotes=as_count(status.get("quote_count")),
    )
