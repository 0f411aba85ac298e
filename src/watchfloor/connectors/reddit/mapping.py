"""Pure mappers from Reddit listings and Pushshift/Arctic-Shift dump lines to Posts.

Both shapes carry Reddit's native submission (``t3``) and comment (``t1``) objects, so one function maps
a thing and two thin entry points unwrap the containers. Decisions an analyst should know about:

* **Deletion.** A thing whose author *and* text are ``[deleted]`` (or that Reddit marks
  ``removed_by_category: "deleted"``) was deleted by its author: it becomes a ``Deletion`` and no post,
  so retention removes any copy taken earlier. A title of a deleted submission stays visible on Reddit,
  but we honour the author's deletion rather than keep it.
* **Removal.** ``[removed]`` (a moderator or Reddit took it down) keeps the post with ``text=None``;
  the raw payload still shows ``[removed]``. An author of ``[deleted]`` with a real body means the
  account is gone but the comment is public: the post is kept with ``author_handle=None``.
* **Escaping.** Reddit HTML-escapes ``& < >`` in text fields unless the client asked for
  ``raw_json=1`` (PRAW/asyncpraw always do; Pushshift stored the escaped form). We decide per thing
  from its ``*_html`` field, per listing from any sibling's, and otherwise assume escaped for dumps and
  raw for listings. Only those three entities are undone, exactly inverting Reddit's escaping.
* **Raw per item.** A listing line holds many things, so each envelope's raw payload is that child
  re-encoded with ``orjson``. A comment's nested ``replies`` listing is left out of its raw copy because
  every reply gets its own envelope; without this a thread of depth d stores each comment d times.
  ``Location.index`` counts children in depth-first order across the whole line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from watchfloor.connectors.base import MapOptions, MapResult, decode_json, quarantine
from watchfloor.connectors.values import as_str, metrics_of
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import (
    Deletion,
    Envelope,
    Location,
    MediaKind,
    MediaRef,
    Metrics,
    Post,
    Quarantined,
)
from watchfloor.domain.timeutil import parse_epoch

PLATFORM = "reddit"
LISTING = "reddit-listing"
LISTING_DOCUMENT = "reddit-listing-document"
DUMP = "reddit-dump"
SOURCE_VERSION = "1"
REDDIT = "https://www.reddit.com"

_GONE = ("[deleted]", "[removed]")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")
_NOT_POSTS = {
    "t2": "an account",
    "t4": "a private message",
    "t5": "a subreddit",
    "t6": "an award",
    "LiveUpdate": "a live-thread update",
    "LiveUpdateEvent": "a live thread",
}

JSON = dict[str, Any]


def map_listing(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one line holding a Listing (or a post page: a JSON array of Listings) to envelopes."""
    return _map_listing(raw, location, LISTING)


def map_listing_document(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map a whole (possibly pretty-printed) file holding a Listing or an array of Listings."""
    return _map_listing(raw, location, LISTING_DOCUMENT)


def map_dump(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one Pushshift/Arctic-Shift dump line (a bare submission or comment object)."""
    data = decode_json(raw)
    if isinstance(data, dict) and data.get("kind") in ("t1", "t3") and isinstance(data.get("data"), dict):
        data = data["data"]  # some collectors keep the API's {kind, data} wrapper
    if not isinstance(data, dict):
        raise BadRecord(f"expected a JSON object, got {type(data).__name__}")
    if "title" in data:
        kind = "t3"
    elif "body" in data:
        kind = "t1"
    else:
        raise BadRecord("neither a submission (no title) nor a comment (no body)", field="title")
    escaped = _escaped_flag(data, default=True)
    mapped = _map_thing(kind, data, fmt=DUMP, escaped=escaped)
    return [_envelope(raw, DUMP, location, mapped)]


def _map_listing(raw: bytes, location: Location, fmt: str) -> MapResult:
    doc = decode_json(raw)
    containers = doc if isinstance(doc, list) else [doc]
    results: MapResult = []
    index = 0
    for number, container in enumerate(containers):
        children = _children_of(container, prefix=f"[{number}]." if isinstance(doc, list) else "")
        escaped = _listing_escaped(children)
        for child in _walk(children):
            item_location = Location(source=location.source, line=location.line, index=index)
            results.append(_map_child(child, item_location, fmt, escaped))
            index += 1
    return results


def _children_of(container: object, *, prefix: str) -> list[Any]:
    """Return a Listing's children, or the things of a ``/api/morechildren`` response."""
    if not isinstance(container, dict):
        got = type(container).__name__
        raise BadRecord(f"expected a Reddit Listing object, got {got}", field=f"{prefix}kind")
    if container.get("kind") == "Listing":
        data = container.get("data")
        children = data.get("children") if isinstance(data, dict) else None
        if isinstance(children, list):
            return children
        raise BadRecord("Listing has no data.children list", field=f"{prefix}data.children")
    morechildren = container.get("json")
    if isinstance(morechildren, dict) and isinstance(morechildren.get("data"), dict):
        things = morechildren["data"].get("things")
        if isinstance(things, list):
            return things
    raise BadRecord("not a Reddit Listing (kind is not 'Listing')", field=f"{prefix}kind")


def _walk(children: list[Any]) -> Iterator[Any]:
    """Yield children depth-first (a comment before its replies), without recursion limits."""
    stack = list(reversed(children))
    while stack:
        child = stack.pop()
        yield child
        data = child.get("data") if isinstance(child, dict) else None
        replies = data.get("replies") if isinstance(data, dict) else None
        if isinstance(replies, dict) and isinstance(replies.get("data"), dict):
            nested = replies["data"].get("children")
            if isinstance(nested, list):
                stack.extend(reversed(nested))


def _map_child(child: object, location: Location, fmt: str, escaped: bool | None) -> Envelope | Quarantined:
    raw = _child_raw(child)
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        return Quarantined(raw=raw, format=fmt, location=location, reason="child is not a {kind, data} thing")
    kind = child.get("kind")
    data: JSON = child["data"]
    if kind == "more":
        count = _int(data.get("count"))
        if count:
            reason = f"'more' stub: {count} further comments are not in this listing (see /api/morechildren)"
        else:
            reason = "'more' stub: a deeper part of this thread is not in this listing"
        return Envelope(raw=raw, format=fmt, location=location, skipped_reason=reason)
    if kind not in ("t1", "t3"):
        what = _NOT_POSTS.get(str(kind), "not a post or comment")
        reason = f"Reddit {kind} is {what}, not a post or comment"
        return Envelope(raw=raw, format=fmt, location=location, skipped_reason=reason)
    try:
        mapped = _map_thing(kind, data, fmt=fmt, escaped=_escaped_flag(data, default=escaped or False))
    except BadRecord as exc:
        return quarantine(exc, raw, fmt, location)
    return _envelope(raw, fmt, location, mapped)


def _child_raw(child: object) -> bytes:
    if isinstance(child, dict) and isinstance(child.get("data"), dict):
        data = child["data"]
        if isinstance(data.get("replies"), dict):
            # Replies are kept as their own envelopes; see the module docstring.
            child = {**child, "data": {k: v for k, v in data.items() if k != "replies"}}
    return orjson.dumps(child)


def _envelope(raw: bytes, fmt: str, location: Location, mapped: Post | Deletion) -> Envelope:
    if isinstance(mapped, Deletion):
        return Envelope(raw=raw, format=fmt, location=location, deletion=mapped)
    return Envelope(raw=raw, format=fmt, location=location, post=mapped)


def _map_thing(kind: str, data: JSON, *, fmt: str, escaped: bool) -> Post | Deletion:
    """Map one ``t1``/``t3`` data object; raise BadRecord when it has no id or no valid time."""
    native_id = _fullname(kind, data)
    raw_text = data.get("body" if kind == "t1" else "selftext")
    author = as_str(data.get("author"))
    if (author == "[deleted]" and raw_text == "[deleted]") or data.get("removed_by_category") == "deleted":
        return Deletion(platform=PLATFORM, native_id=native_id)
    if "created_utc" not in data or data["created_utc"] is None:
        raise BadRecord("missing creation time", field="created_utc")
    created_at = parse_epoch(data["created_utc"], field="created_utc")
    text = _text(raw_text, escaped, field="body" if kind == "t1" else "selftext")
    return Post(
        platform=PLATFORM,
        native_id=native_id,
        created_at=created_at,
        source=fmt,
        source_version=SOURCE_VERSION,
        url=_permalink(kind, data, native_id),
        author_id=as_str(data.get("author_fullname")),
        author_handle=None if author in (None, "[deleted]") else author,
        title=_text(data.get("title"), escaped, field="title") if kind == "t3" else None,
        text=text,
        reply_to=as_str(data.get("parent_id")) if kind == "t1" else None,
        reply_root=as_str(data.get("link_id")) if kind == "t1" else None,
        repost_of=as_str(data.get("crosspost_parent")) if kind == "t3" else None,
        conversation=_subreddit(data),
        urls=_link_urls(data, escaped) if kind == "t3" else (),
        media=_media(data, escaped) if kind == "t3" else (),
        metrics=_metrics(kind, data),
        edited_at=_edited(data.get("edited")),
        sensitive=data["over_18"] if isinstance(data.get("over_18"), bool) else None,
    )


def _fullname(kind: str, data: JSON) -> str:
    name = data.get("name")
    if isinstance(name, str) and name.startswith(f"{kind}_") and len(name) > 3:
        return name
    thing_id = data.get("id")
    if isinstance(thing_id, str) and thing_id.removeprefix(f"{kind}_"):
        return f"{kind}_{thing_id.removeprefix(f'{kind}_')}"
    raise BadRecord("no id or name", field="id")


def _text(value: object, escaped: bool, *, field: str) -> str | None:
    if value is None or value == "" or value in _GONE:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"expected a string, got {type(value).__name__}", field=field)
    return _unescape(value) if escaped else value


def _unescape(value: str) -> str:
    """Undo Reddit's escaping of exactly ``& < >`` (html.unescape would also eat '&copy' etc.)."""
    if "&" not in value:
        return value
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escaped_flag(data: JSON, *, default: bool) -> bool:
    escaped = _html_escaped(data)
    return default if escaped is None else escaped


def _listing_escaped(children: list[Any]) -> bool | None:
    for child in children:
        data = child.get("data") if isinstance(child, dict) else None
        escaped = _html_escaped(data) if isinstance(data, dict) else None
        if escaped is not None:
            return escaped
    return None


def _html_escaped(data: JSON) -> bool | None:
    """Whether a thing's text is HTML-escaped, read from its ``*_html`` field; None when it has none."""
    html = data.get("body_html") or data.get("selftext_html")
    if isinstance(html, str) and html.strip():
        return html.lstrip().startswith("&lt;")
    return None


def _permalink(kind: str, data: JSON, native_id: str) -> str:
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.startswith("/"):
        return REDDIT + permalink
    if isinstance(permalink, str) and permalink.startswith("https://"):
        return permalink
    short_id = native_id[3:]
    link_id = as_str(data.get("link_id"))
    if kind == "t1" and link_id and link_id.startswith("t3_"):
        # Older dump comments have no permalink; Reddit resolves this form (the slug is ignored).
        return f"{REDDIT}/comments/{link_id[3:]}/_/{short_id}/"
    return f"{REDDIT}/comments/{short_id}/"


def _subreddit(data: JSON) -> str | None:
    name = as_str(data.get("subreddit"))
    if name:
        return f"r/{name}"
    return as_str(data.get("subreddit_name_prefixed"))


def _link_urls(data: JSON, escaped: bool) -> tuple[str, ...]:
    url = as_str(data.get("url"))
    if not url or data.get("is_self") is True:
        return ()
    if data.get("is_self") is None and (url.startswith(REDDIT) or "://self." in url):
        return ()  # no is_self flag: a permalink-looking url is the post itself, not a link
    if url.startswith("/"):
        url = REDDIT + url  # crossposts and galleries can carry site-relative urls
    return (_unescape(url) if escaped else url,)


def _metrics(kind: str, data: JSON) -> Metrics | None:
    score = _int(data.get("score"))
    if data.get("score_hidden") is True:
        score = None  # Reddit reports a placeholder while the score is hidden
    replies = _int(data.get("num_comments")) if kind == "t3" else None
    return metrics_of(score=score, replies=replies)


def _edited(value: object) -> datetime | None:
    # false: never edited; true: edited long ago, time unknown; a number: epoch of the last edit.
    if value is None or isinstance(value, bool):
        return None
    return parse_epoch(value, field="edited")


def _media(data: JSON, escaped: bool) -> tuple[MediaRef, ...]:
    """Return attachments Reddit describes unambiguously; a plain article link gets a link card."""
    fix: Callable[[str], str] = _unescape if escaped else str
    preview = _preview_url(data)
    preview = fix(preview) if preview else None
    url = as_str(data.get("url"))
    url = fix(url) if url else None
    gallery = _gallery(data.get("media_metadata"), fix)
    if gallery:
        return gallery
    video = data.get("media")
    reddit_video = video.get("reddit_video") if isinstance(video, dict) else None
    if data.get("is_video") is True and isinstance(reddit_video, dict):
        fallback = as_str(reddit_video.get("fallback_url"))
        if fallback:
            return (MediaRef(kind="video", url=fix(fallback), preview_url=preview),)
    hint = data.get("post_hint")
    kind: MediaKind | None = None
    if hint == "image":
        kind = "gif" if url and url.lower().endswith(".gif") else "image"
    elif hint in ("rich:video", "hosted:video"):
        kind = "video"
    elif hint == "link" and preview:
        kind = "link_card"
    elif hint is None and url and url.lower().split("?")[0].endswith(_IMAGE_SUFFIXES):
        kind = "gif" if url.lower().split("?")[0].endswith(".gif") else "image"  # older posts: no hint
    if kind is None or url is None:
        return ()
    return (MediaRef(kind=kind, url=url, preview_url=preview),)


def _preview_url(data: JSON) -> str | None:
    preview = data.get("preview")
    images = preview.get("images") if isinstance(preview, dict) else None
    if isinstance(images, list) and images and isinstance(images[0], dict):
        source = images[0].get("source")
        if isinstance(source, dict):
            return as_str(source.get("url"))
    return None


def _gallery(metadata: object, fix: Callable[[str], str]) -> tuple[MediaRef, ...]:
    if not isinstance(metadata, Mapping):
        return ()
    refs: list[MediaRef] = []
    for media_id, item in metadata.items():
        if not isinstance(item, dict) or item.get("status") not in (None, "valid"):
            continue
        source = item.get("s")
        source = source if isinstance(source, dict) else {}
        element = item.get("e")
        kind: MediaKind = "gif" if element == "AnimatedImage" else "image" if element == "Image" else "other"
        url = as_str(source.get("u")) or as_str(source.get("gif"))
        mime = as_str(item.get("m"))
        refs.append(MediaRef(kind=kind, url=fix(url) if url else None, mime_type=mime, native_id=media_id))
    return tuple(refs)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)
