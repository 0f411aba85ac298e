"""Map twarc2 JSON lines (raw API v2 response pages, or tweets already flattened by twarc) to envelopes.

twarc2 writes one API response per line: ``data`` (tweets), ``includes`` (the users, media, places and
referenced tweets those tweets point at), ``errors`` and twarc's ``__twarc`` note of when it was
fetched. ``twarc2 flatten`` writes one tweet per line with those expansions inlined. Pages are
flattened here the same way first, so both forms go through one mapping.

Decisions and limits, stated plainly:

* A page's tweets each get their own raw payload: the tweet with its expansions inlined (twarc's
  flattened form, which this format also reads), so one stored payload is self-contained and a 100
  tweet page is not stored 100 times. Lines that already hold one tweet are kept verbatim.
* Referenced tweets (retweeted, quoted, replied to) that the page includes as full objects (with
  ``text`` and ``created_at``) become posts of their own; ``errors`` about missing ones are ignored.
* A retweet carries no text, entities or counts of its own when its original is present (its counts
  are the original's). When the original is missing, the ``RT @user: …`` text is kept, because it is
  then the only copy of the content.
* Edits: every version has its own id. When a page holds a later version of an edited tweet, the older
  version is skipped with that reason ("keep the latest"); the latest version gets ``edited_at`` (its
  own ``created_at``) and ``created_at`` stays as the platform gave it for that version.
* Long tweets: ``note_tweet.text`` (and its entities) is preferred over the 280-character ``text``.
* URL entities that stand for attached media (a ``media_key``, or a ``pic.twitter.com`` display URL)
  are not links; the media are in ``media``. Cashtags are left in the text. ``impression_count``
  becomes ``views``.
* Count pages, user and list lookups, errors-only pages and compliance records are skipped with the
  reason; twarc's compliance output cannot tell deleted tweets from deleted users, so it records no
  deletions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from watchfloor.connectors.base import MapOptions, MapResult, decode_json_object, quarantine
from watchfloor.connectors.twitter.common import (
    PLATFORM,
    SOURCE_VERSION,
    best_video,
    geotag,
    langs,
    tweet_id,
    tweet_text,
    tweet_url,
)
from watchfloor.connectors.values import as_count, as_dict, as_str, dict_items, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, MediaKind, MediaRef, Metrics, Post, Quarantined
from watchfloor.domain.timeutil import parse_iso

FORMAT = "twarc2"

_MEDIA_KINDS: dict[str, MediaKind] = {"photo": "image", "video": "video", "animated_gif": "gif"}
_MEDIA_DISPLAY = ("pic.twitter.com/", "pic.x.com/")
_REFERENCE_FIELDS = {"replied_to": "reply_to", "quoted": "quote_of", "retweeted": "repost_of"}


def map_twarc2_line(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one twarc2 line: a response page (any endpoint) or one flattened tweet."""
    del options  # nothing configurable for this format
    value = decode_json_object(raw)
    if "data" in value:
        return _map_page(value, raw, location)
    if "text" in value and "id" in value:
        flat = value
        note = {"__twarc": flat["__twarc"]} if "__twarc" in flat else {}  # when the line was fetched
        referenced = [{**ref, **note} for ref in dict_items(flat.get("referenced_tweets")) if _is_full(ref)]
        return _map_flat_line(flat, referenced, raw, location)
    return [Envelope(raw=raw, format=FORMAT, location=location, skipped_reason=_why_not_tweets(value))]


def _map_page(page: dict[str, Any], raw: bytes, location: Location) -> MapResult:
    data = page["data"]
    tweets: list[object] = [data] if isinstance(data, dict) else data if isinstance(data, list) else []
    if not any(isinstance(t, dict) and "text" in t for t in tweets):
        return [Envelope(raw=raw, format=FORMAT, location=location, skipped_reason=_why_not_tweets(page))]
    includes = as_dict(page.get("includes")) or {}
    lookup = _Lookup(includes)
    extra: dict[str, Any] = {key: page[key] for key in ("__twarc", "matching_rules") if key in page}
    included = [lookup.flatten(t, extra) for t in dict_items(includes.get("tweets")) if _is_full(t)]
    present = {t["id"] for t in included}
    present.update(t["id"] for t in tweets if isinstance(t, dict) and isinstance(t.get("id"), str))

    results: MapResult = []
    seen: set[str] = set()
    for index, tweet in enumerate(tweets):
        where = Location(source=location.source, line=location.line, index=index)
        flat = lookup.flatten(tweet, extra) if isinstance(tweet, dict) else {}
        payload = orjson.dumps(flat or tweet)
        try:
            if not flat:
                raise BadRecord(f"expected a tweet object, got {type(tweet).__name__}", field="data")
            seen.add(str(flat.get("id")))
            fields = _map_one(flat, present, originals=included)
        except BadRecord as exc:
            results.append(quarantine(exc, payload, FORMAT, where))
            continue
        results.append(Envelope(raw=payload, format=FORMAT, location=where, **fields))
    for flat in included:
        if flat["id"] in seen or _superseded(flat, present):
            continue
        seen.add(flat["id"])
        payload = orjson.dumps(flat)
        try:
            fields = _map_one(flat, present, originals=included)
        except BadRecord as exc:
            field = f"includes.tweets.{exc.field}" if exc.field else "includes.tweets"
            results.append(
                Quarantined(raw=payload, format=FORMAT, location=location, reason=exc.reason, field=field)
            )
            continue
        results.append(Envelope(raw=payload, format=FORMAT, location=location, **fields))
    return results


def _map_flat_line(
    flat: dict[str, Any], referenced: list[dict[str, Any]], raw: bytes, location: Location
) -> MapResult:
    """A flattened tweet, then its fully inlined referenced tweets; a broken reference fails alone."""
    ids = {str(t.get("id")) for t in [flat, *referenced]}
    results: MapResult = [
        Envelope(raw=raw, format=FORMAT, location=location, **_map_one(flat, ids, originals=referenced))
    ]
    for ref in referenced:
        if ref.get("id") == flat.get("id") or _superseded(ref, ids):
            continue
        try:
            results.append(
                Envelope(
                    raw=raw, format=FORMAT, location=location, **_map_one(ref, ids, originals=referenced)
                )
            )
        except BadRecord as exc:
            field = f"referenced_tweets.{exc.field}" if exc.field else "referenced_tweets"
            results.append(
                Quarantined(raw=raw, format=FORMAT, location=location, reason=exc.reason, field=field)
            )
    return results


def _map_one(flat: dict[str, Any], present: set[str], *, originals: list[dict[str, Any]]) -> dict[str, Any]:
    """Envelope fields for one flattened tweet: a post, or a skip when a later edit is present."""
    if _superseded(flat, present):
        history = flat["edit_history_tweet_ids"]
        reason = f"older version of an edited tweet; the latest version {history[-1]} is in this line too"
        return {"skipped_reason": reason}
    return {"post": _map_post(flat, {str(t.get("id")) for t in originals})}


def _map_post(tweet: dict[str, Any], original_ids: set[str]) -> Post:
    native_id = tweet_id(tweet, field="id", str_key="id", int_key="id")
    if tweet.get("created_at") is None:
        raise BadRecord("missing; the collector did not request tweet.fields=created_at", field="created_at")
    created_at = parse_iso(tweet["created_at"], field="created_at")
    author = as_dict(tweet.get("author")) or {}
    handle = as_str(author.get("username"))
    refs = {
        _REFERENCE_FIELDS[kind]: ref_id
        for ref in dict_items(tweet.get("referenced_tweets"))
        if (kind := as_str(ref.get("type"))) in _REFERENCE_FIELDS and (ref_id := as_str(ref.get("id")))
    }
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "native_id": native_id,
        "created_at": created_at,
        "source": FORMAT,
        "source_version": SOURCE_VERSION,
        "url": tweet_url(native_id, handle),
        "author_id": as_str(tweet.get("author_id")) or as_str(author.get("id")),
        "author_handle": handle,
        "author_name": as_str(author.get("name")),
        "collected_at": _retrieved_at(tweet),
        **refs,
    }
    if "repost_of" in refs and refs["repost_of"] in original_ids:
        return Post(**base)  # a pointer to the original, which is its own post

    note = as_dict(tweet.get("note_tweet")) or {}
    level = note if isinstance(note.get("text"), str) else tweet
    text = tweet_text(level.get("text"), field="note_tweet.text" if level is note else "text")
    entities = as_dict(level.get("entities")) or {}
    attachments = as_dict(tweet.get("attachments")) or {}
    geo = as_dict(tweet.get("geo")) or {}
    declared = langs(tweet.get("lang"))
    history = tweet.get("edit_history_tweet_ids")
    edited = isinstance(history, list) and len(history) > 1 and history[-1] == native_id
    sensitive = tweet.get("possibly_sensitive")
    conversation = as_str(tweet.get("conversation_id"))
    return Post(
        **base,
        text=text,
        langs=declared,
        lang_source="platform" if declared else None,
        reply_root=conversation if "reply_to" in refs and conversation != native_id else None,
        media=tuple(_media(m) for m in dict_items(attachments.get("media")) if m),
        hashtags=unique(tag.get("tag") for tag in dict_items(entities.get("hashtags"))),
        mentions=unique(m.get("username") for m in dict_items(entities.get("mentions"))),
        urls=unique(
            u.get("expanded_url") or u.get("url")
            for u in dict_items(entities.get("urls"))
            if not _is_media(u)
        ),
        metrics=_metrics(tweet),
        geo=geotag(geo.get("coordinates"), geo),
        edited_at=created_at if edited else None,
        sensitive=sensitive if isinstance(sensitive, bool) else None,
    )


class _Lookup:
    """The page's ``includes`` by id, to inline them the way ``twarc2 flatten`` does."""

    def __init__(self, includes: dict[str, Any]) -> None:
        self.users = _by_key(includes.get("users"), "id")
        self.media = _by_key(includes.get("media"), "media_key")
        self.places = _by_key(includes.get("places"), "id")
        self.tweets = _by_key(includes.get("tweets"), "id")

    def flatten(
        self, tweet: dict[str, Any], extra: dict[str, Any], *, inline_refs: bool = True
    ) -> dict[str, Any]:
        flat = {**tweet, **extra}
        author = self.users.get(_key(flat.get("author_id")))
        if not isinstance(flat.get("author"), dict) and author is not None:
            flat["author"] = author
        attachments = as_dict(flat.get("attachments"))
        if attachments is not None and "media" not in attachments:
            keys = attachments.get("media_keys")
            found = [self.media[k] for k in keys if _key(k) in self.media] if isinstance(keys, list) else []
            flat["attachments"] = {**attachments, "media": found}
        geo = as_dict(flat.get("geo"))
        place = self.places.get(_key(geo.get("place_id"))) if geo is not None else None
        if geo is not None and place is not None:
            flat["geo"] = {**place, **geo}
        if inline_refs and isinstance(flat.get("referenced_tweets"), list):
            flat["referenced_tweets"] = [
                {**self.flatten(self.tweets.get(_key(ref.get("id"))) or {}, {}, inline_refs=False), **ref}
                for ref in dict_items(flat["referenced_tweets"])
            ]
        return flat


def _by_key(items: object, key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in dict_items(items) if isinstance(item.get(key), str)}


def _key(value: object) -> str:
    """A lookup key: ids are strings in API v2; anything else matches nothing."""
    return value if isinstance(value, str) else "\x00"


def _media(item: dict[str, Any]) -> MediaRef:
    kind = _MEDIA_KINDS.get(str(item.get("type")), "other")
    still = as_str(item.get("preview_image_url"))
    alt = as_str(item.get("alt_text"))
    key = as_str(item.get("media_key"))
    if kind == "image":
        return MediaRef(kind=kind, url=as_str(item.get("url")), alt_text=alt, native_id=key)
    url, mime = best_video(item.get("variants"))
    return MediaRef(kind=kind, url=url, preview_url=still, alt_text=alt, mime_type=mime, native_id=key)


def _metrics(tweet: dict[str, Any]) -> Metrics | None:
    if isinstance(tweet.get("referenced_tweets"), list) and any(
        ref.get("type") == "retweeted" for ref in dict_items(tweet["referenced_tweets"])
    ):
        return None  # a retweet's public_metrics are its original's
    public = as_dict(tweet.get("public_metrics")) or {}
    return metrics_of(
        likes=as_count(public.get("like_count")),
        reposts=as_count(public.get("retweet_count")),
        replies=as_count(public.get("reply_count")),
        quotes=as_count(public.get("quote_count")),
        views=as_count(public.get("impression_count")),
    )


def _retrieved_at(tweet: dict[str, Any]) -> datetime | None:
    note = as_dict(tweet.get("__twarc")) or {}
    stamp = note.get("retrieved_at")
    return parse_iso(stamp, field="__twarc.retrieved_at") if stamp is not None else None


def _is_media(url_entity: dict[str, Any]) -> bool:
    """A URL entity that only stands for the tweet's own photo or video (v1.1 lists those apart)."""
    display = url_entity.get("display_url")
    return "media_key" in url_entity or (isinstance(display, str) and display.startswith(_MEDIA_DISPLAY))


def _is_full(tweet: dict[str, Any]) -> bool:
    return isinstance(tweet.get("id"), str) and isinstance(tweet.get("text"), str) and "created_at" in tweet


def _superseded(tweet: dict[str, Any], present: set[str]) -> bool:
    history = tweet.get("edit_history_tweet_ids")
    if not isinstance(history, list) or len(history) < 2 or not isinstance(history[-1], str):
        return False
    return tweet.get("id") != history[-1] and history[-1] in present


def _why_not_tweets(value: dict[str, Any]) -> str:
    """Name what a line without tweets holds, for the skipped count."""
    data = value.get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else as_dict(data) or {}
    if "tweet_count" in first:
        return "tweet counts are not posts"
    if "username" in first:
        return "user objects are not posts"
    if "member_count" in first or "owner_id" in first:
        return "list objects are not posts"
    if {"action", "reason"} <= value.keys():
        return f"compliance record ({value.get('action')}: {value.get('reason')}) is not a post"
    errors = dict_items(value.get("errors"))
    if errors and not data:
        detail = as_str(errors[0].get("detail")) or as_str(errors[0].get("title")) or "no detail"
        return f"page holds only {len(errors)} error(s), no tweets (first: {detail})"
    return "line holds no tweets"
