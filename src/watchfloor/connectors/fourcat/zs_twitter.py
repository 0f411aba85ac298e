"""Map an X/Twitter tweet captured by Zeeschuimer (web GraphQL ``Tweet`` object) to a Post.

The web client's GraphQL shape differs from the v1.1 and v2 APIs: the tweet is ``rest_id`` plus a
``legacy`` block in v1.1 style, and the author sits under ``core.user_results.result`` (whose handle
moved from ``legacy`` to ``core`` in 2025; both are read). Field names follow 4CAT's
``twitter-import`` data source.
"""

from __future__ import annotations

from datetime import datetime

from watchfloor.connectors.fourcat.zs_json import (
    Capture,
    JsonObject,
    as_count,
    as_object,
    as_str,
    dig,
    http_url,
    new_post,
    require_id,
)
from watchfloor.connectors.values import as_list, as_number, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Geotag, MediaKind, MediaRef, Metrics, Post
from watchfloor.domain.timeutil import ensure_plausible

# X's pseudo-languages: undetermined, media only, hashtags only, no linguistic content, …
_NOT_A_LANGUAGE = {"und", "qam", "qct", "qht", "qme", "qst", "zxx"}
_MEDIA_KINDS: dict[str, MediaKind] = {"photo": "image", "video": "video", "animated_gif": "gif"}


def map_twitter(data: JsonObject, capture: Capture) -> Post:
    """Map a GraphQL tweet (or a ``TweetWithVisibilityResults`` wrapper around one) to a Post."""
    tweet = as_object(data.get("tweet")) if "rest_id" not in data and "tweet" in data else data
    legacy = as_object(tweet.get("legacy"))
    native_id = require_id(tweet.get("rest_id") or legacy.get("id_str"), field="data.rest_id")
    user = as_object(dig(tweet, "core", "user_results", "result"))
    handle = as_str(dig(user, "core", "screen_name")) or as_str(dig(user, "legacy", "screen_name"))
    entities = as_object(legacy.get("entities"))
    lang = as_str(legacy.get("lang"))
    langs = (lang.lower(),) if lang and lang.lower() not in _NOT_A_LANGUAGE else ()
    conversation_id = as_str(legacy.get("conversation_id_str"))
    sensitive = legacy.get("possibly_sensitive")
    # Tweets over 280 characters carry their full text in a separate "note tweet".
    long_text = as_str(dig(tweet, "note_tweet", "note_tweet_results", "result", "text"))
    return new_post(
        capture,
        native_id=native_id,
        created_at=_created_at(legacy.get("created_at")),
        url=f"https://x.com/{handle}/status/{native_id}" if handle else None,
        author_id=as_str(legacy.get("user_id_str")) or as_str(user.get("rest_id")),
        author_handle=handle,
        author_name=as_str(dig(user, "core", "name")) or as_str(dig(user, "legacy", "name")),
        text=long_text or as_str(legacy.get("full_text")),
        langs=langs,
        lang_source="platform" if langs else None,
        reply_to=as_str(legacy.get("in_reply_to_status_id_str")),
        reply_root=conversation_id if conversation_id and conversation_id != native_id else None,
        quote_of=as_str(legacy.get("quoted_status_id_str")),
        repost_of=_retweeted_id(legacy),
        hashtags=unique(as_str(as_object(h).get("text")) for h in as_list(entities.get("hashtags"))),
        mentions=unique(
            as_str(as_object(m).get("screen_name")) for m in as_list(entities.get("user_mentions"))
        ),
        urls=unique(http_url(as_object(u).get("expanded_url")) for u in as_list(entities.get("urls"))),
        media=_media(legacy),
        metrics=_metrics(legacy, tweet),
        geo=_geotag(legacy),
        sensitive=sensitive if isinstance(sensitive, bool) else None,
    )


def _created_at(value: object) -> datetime:
    field = "data.legacy.created_at"
    text = as_str(value)
    if text is None:
        raise BadRecord("the tweet has no creation time", field=field)
    try:
        parsed = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")  # Wed Oct 10 20:19:24 +0000 2018
    except ValueError:
        raise BadRecord(f"not an X timestamp: {text!r}", field=field) from None
    return ensure_plausible(parsed, field=field)


def _retweeted_id(legacy: JsonObject) -> str | None:
    result = as_object(dig(legacy, "retweeted_status_result", "result"))
    inner = as_object(result.get("tweet")) or result  # sometimes wrapped one level deeper
    return as_str(inner.get("rest_id"))


def _media(legacy: JsonObject) -> tuple[MediaRef, ...]:
    items = as_list(dig(legacy, "extended_entities", "media")) or as_list(dig(legacy, "entities", "media"))
    media: list[MediaRef] = []
    for item in (as_object(i) for i in items):
        kind = _MEDIA_KINDS.get(str(item.get("type")), "other")
        url = http_url(item.get("media_url_https"))
        media.append(
            MediaRef(
                kind=kind,
                url=url if kind == "image" else None,
                preview_url=url if kind != "image" else None,
                alt_text=as_str(item.get("ext_alt_text")),
                native_id=as_str(item.get("id_str")),
            )
        )
    return tuple(media)


def _metrics(legacy: JsonObject, tweet: JsonObject) -> Metrics | None:
    return metrics_of(
        likes=as_count(legacy.get("favorite_count")),
        reposts=as_count(legacy.get("retweet_count")),
        replies=as_count(legacy.get("reply_count")),
        quotes=as_count(legacy.get("quote_count")),
        views=as_count(dig(tweet, "views", "count")),
    )


def _geotag(legacy: JsonObject) -> Geotag | None:
    # Only a place or point the poster attached to this tweet; it stays with the tweet.
    place = as_object(legacy.get("place"))
    point = as_list(dig(legacy, "coordinates", "coordinates"))  # GeoJSON order: [longitude, latitude]
    has_point = len(point) == 2 and all(as_number(v) is not None for v in point)
    name = as_str(place.get("full_name"))
    if not name and not has_point:
        return None
    return Geotag(
        place_name=name,
        country_code=as_str(place.get("country_code")),
        longitude=float(point[0]) if has_point else None,
        latitude=float(point[1]) if has_point else None,
    )
