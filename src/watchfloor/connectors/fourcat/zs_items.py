"""Map TikTok, Instagram and Threads items captured by Zeeschuimer to Posts.

Field names follow 4CAT's own ``map_item`` functions for these data sources (the reference for what
Zeeschuimer captures), but unlike 4CAT an absent value stays None instead of "" or 0. Media URLs in
these payloads are signed and expire within days, so media are recorded by kind and preview only
where the URL is the point (thumbnails); nothing is fetched here.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlparse

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
from watchfloor.domain.post import Geotag, MediaKind, MediaRef, Post
from watchfloor.domain.timeutil import parse_epoch

# Instagram and Threads give no hashtag list; 4CAT reads them from the caption the same way.
_HASHTAG = re.compile(r"#(\w+)")
_IG_PHOTO, _IG_VIDEO, _IG_CAROUSEL = 1, 2, 8


def map_tiktok(data: JsonObject, capture: Capture) -> Post:
    """Map a TikTok ``itemStruct`` (web API item) to a Post."""
    native_id = require_id(data.get("id"), field="data.id")
    created_at = _epoch(data.get("createTime"), field="data.createTime")
    author = data.get("author")
    if isinstance(author, dict):  # intercepted API response
        handle, name = as_str(author.get("uniqueId")), as_str(author.get("nickname"))
        author_id = as_str(author.get("id"))
    else:  # JSON embedded in the page: author is the handle itself
        handle, name = as_str(author), as_str(data.get("nickname"))
        author_id = as_str(data.get("authorId"))
    stats = as_object(data.get("stats"))
    stats_v2 = as_object(data.get("statsV2"))  # newer payloads repeat the counts as strings here

    def stat(key: str) -> int | None:
        value = as_count(stats.get(key))
        return value if value is not None else as_count(stats_v2.get(key))

    extras = [as_object(e) for e in as_list(data.get("textExtra"))]
    hashtags = [as_str(e.get("hashtagName")) for e in extras]
    hashtags += [as_str(as_object(c).get("title")) for c in as_list(data.get("challenges"))]
    mentions = [as_str(e.get("userUniqueId")) for e in extras]
    video = as_object(data.get("video"))
    media = (MediaRef(kind="video", preview_url=http_url(video.get("cover"))),) if video else ()
    # TikTok's own label for the caption's language; "un" means it could not tell. "locationCreated"
    # (the region an upload came from) is deliberately not read: it locates a person, not the post.
    lang = as_str(data.get("textLanguage"))
    langs = (lang.lower(),) if lang and lang.lower() not in ("un", "und") else ()
    return new_post(
        capture,
        native_id=native_id,
        created_at=created_at,
        url=f"https://www.tiktok.com/@{handle}/video/{native_id}" if handle else None,
        author_id=author_id,
        author_handle=handle,
        author_name=name,
        text=as_str(data.get("desc")),
        langs=langs,
        lang_source="platform" if langs else None,
        hashtags=unique(hashtags),
        mentions=unique(mentions),
        media=media,
        # "shareCount" counts link shares, not reposts, so it has no Metrics field and stays raw.
        metrics=metrics_of(
            likes=stat("diggCount"),
            replies=stat("commentCount"),
            reposts=stat("repostCount"),
            views=stat("playCount"),
        ),
    )


def map_instagram(data: JsonObject, capture: Capture) -> Post:
    """Map an Instagram post in either shape Zeeschuimer captures: GraphQL node or API item list."""
    if as_str(data.get("shortcode")) and "__typename" in data:
        return _map_instagram_graph(data, capture)
    code = as_str(data.get("code"))
    native_id = code or require_id(data.get("id") or data.get("pk"), field="data.code")
    user = as_object(data.get("user")) or as_object(data.get("owner"))
    caption = as_str(dig(data, "caption", "text"))
    return new_post(
        capture,
        native_id=native_id,
        created_at=_epoch(data.get("taken_at"), field="data.taken_at"),
        url=f"https://www.instagram.com/p/{code}/" if code else None,
        author_id=as_str(user.get("pk")) or as_str(user.get("id")),
        author_handle=as_str(user.get("username")),
        author_name=as_str(user.get("full_name")),
        text=caption,
        hashtags=unique(_HASHTAG.findall(caption or "")),
        media=_item_list_media(data),
        metrics=metrics_of(
            likes=as_count(data.get("like_count")),
            replies=as_count(data.get("comment_count")),
            views=_first_count(data.get("play_count"), data.get("view_count")),
        ),
        geo=_geotag(as_object(data.get("location"))),
    )


def map_threads(data: JsonObject, capture: Capture) -> Post:
    """Map a Threads post (Instagram's item shape plus ``text_post_app_info``) to a Post."""
    post = as_object(data.get("post")) or data  # some captures wrap the post one level deeper
    code = as_str(post.get("code"))
    native_id = code or require_id(post.get("pk") or post.get("id"), field="data.code")
    user = as_object(post.get("user"))
    handle = as_str(user.get("username"))
    caption = as_str(dig(post, "caption", "text"))
    info = as_object(post.get("text_post_app_info"))
    link = as_str(dig(info, "link_preview_attachment", "url"))
    return new_post(
        capture,
        native_id=native_id,
        created_at=_epoch(post.get("taken_at"), field="data.taken_at"),
        url=f"https://www.threads.net/@{handle}/post/{code}" if handle and code else None,
        author_id=as_str(user.get("pk")) or as_str(user.get("id")),
        author_handle=handle,
        author_name=as_str(user.get("full_name")),
        text=caption,
        hashtags=unique(_HASHTAG.findall(caption or "")),
        urls=unique([_unwrap_redirect(link)]) if link else (),
        media=_item_list_media(post),
        metrics=metrics_of(
            likes=as_count(post.get("like_count")),
            reposts=as_count(info.get("repost_count")),
            replies=as_count(info.get("direct_reply_count")),
            quotes=as_count(info.get("quote_count")),
        ),
    )


def _map_instagram_graph(node: JsonObject, capture: Capture) -> Post:
    code = require_id(node.get("shortcode"), field="data.shortcode")
    owner = as_object(node.get("owner")) or as_object(node.get("user"))
    caption = as_str(dig(node, "edge_media_to_caption", "edges", 0, "node", "text"))
    kinds = {"GraphImage": "image", "GraphVideo": "video"}
    children = [as_object(dig(e, "node")) for e in as_list(dig(node, "edge_sidecar_to_children", "edges"))]
    media = tuple(
        MediaRef(
            kind="video" if kinds.get(str(c.get("__typename"))) == "video" else "image",
            preview_url=http_url(c.get("display_url")),
        )
        for c in (children or [node])
    )
    return new_post(
        capture,
        native_id=code,
        created_at=_epoch(node.get("taken_at_timestamp"), field="data.taken_at_timestamp"),
        url=f"https://www.instagram.com/p/{code}/",
        author_id=as_str(owner.get("id")),
        author_handle=as_str(owner.get("username")),
        author_name=as_str(owner.get("full_name")),
        text=caption,
        hashtags=unique(_HASHTAG.findall(caption or "")),
        media=media,
        metrics=metrics_of(
            likes=as_count(dig(node, "edge_media_preview_like", "count")),
            replies=_first_count(
                dig(node, "edge_media_to_comment", "count"), dig(node, "edge_media_preview_comment", "count")
            ),
            views=as_count(node.get("video_view_count")),
        ),
        geo=_geotag(as_object(node.get("location"))),
    )


def _item_list_media(data: JsonObject) -> tuple[MediaRef, ...]:
    nodes = [as_object(c) for c in as_list(data.get("carousel_media"))] or [data]
    media: list[MediaRef] = []
    for node in nodes:
        kind_code = node.get("media_type")
        if kind_code not in (_IG_PHOTO, _IG_VIDEO):
            continue
        kind: MediaKind = "video" if kind_code == _IG_VIDEO else "image"
        preview = http_url(dig(node, "image_versions2", "candidates", 0, "url"))
        media.append(
            MediaRef(kind=kind, preview_url=preview, alt_text=as_str(node.get("accessibility_caption")))
        )
    return tuple(media)


def _geotag(location: JsonObject) -> Geotag | None:
    # A location the poster attached to this post: kept with the post, never aggregated per person.
    name = as_str(location.get("name"))
    latitude, longitude = as_number(location.get("lat")), as_number(location.get("lng"))
    if latitude is None or longitude is None:
        latitude = longitude = None
    if name is None and latitude is None:
        return None
    return Geotag(place_name=name, latitude=latitude, longitude=longitude)


def _unwrap_redirect(url: str) -> str:
    # Threads wraps outbound links as https://l.threads.net/?u=<target>&e=...
    target = parse_qs(urlparse(url).query).get("u")
    return target[0] if target else url


def _epoch(value: object, *, field: str) -> datetime:
    if value is None or isinstance(value, bool) or value == "":
        raise BadRecord("the item has no creation time", field=field)
    return parse_epoch(value, field=field)


def _first_count(*values: object) -> int | None:
    for value in values:
        count = as_count(value)
        if count is not None:
            return count
    return None
