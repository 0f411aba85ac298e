"""Map Bluesky Jetstream v1 events (one JSON object per line) to envelopes of posts and deletions.

Jetstream is the JSON re-encoding of the ATProto firehose, so one event is one repository operation.
Post creates and updates become Posts, post deletes become Deletions, and every other event (likes,
follows, blocks, profile and status records, identity and account events) is kept as a skipped
envelope with the reason, so counts add up and nothing disappears silently.

Decisions and limits, stated plainly:

* ``native_id`` is the post's ``at://`` URI; replies and quotes point at ``at://`` URIs too, so they
  join on the natural key.
* Reposts (``app.bsky.feed.repost``) are mapped to a Post with ``repost_of`` set and no text, like a
  Mastodon boost or a retweet elsewhere in watchfloor: a repost is who amplified what and when, which
  coordination analysis needs. It carries no content of its own.
* Mentions are stored as the mentioned account's DID (what the facet gives); the handle as typed is
  still in the text. Jetstream gives no handle for the author either, so ``author_handle`` is None.
* Images and videos are referenced by blob CID in ``MediaRef.native_id``; no URL is given by the
  protocol (fetching needs the author's PDS), so ``url`` stays None.
* ``createdAt`` is declared by the client and can be backdated; ``time_us`` (Jetstream's indexing
  time) becomes ``collected_at``. An ``update`` sets ``edited_at`` to the indexing time.
* Account events (deactivation, takedown) are purge signals for a whole account; this mapper only
  records them as skipped with their status, because a Deletion names one post.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from watchfloor.connectors.base import MapOptions, MapResult, decode_json_object
from watchfloor.connectors.values import as_dict, as_list, as_str, dict_items, required_str, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Deletion, Envelope, Location, MediaRef, Post
from watchfloor.domain.timeutil import parse_epoch, parse_iso

FORMAT = "bluesky-jetstream"
SOURCE_VERSION = "1"
PLATFORM = "bluesky"

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
_FACET = "app.bsky.richtext.facet#"


def map_jetstream_event(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one Jetstream event line to one envelope; raise ``BadRecord`` if it cannot be read."""
    del options  # nothing configurable for this format
    event = decode_json_object(raw)
    kind = event.get("kind")
    if kind == "commit":
        return [_map_commit(event, raw, location)]
    if kind == "identity":
        return [_skipped(raw, location, "identity event (handle or DID document change) is not a post")]
    if kind == "account":
        account = as_dict(event.get("account")) or {}
        state = "active" if account.get("active") is True else f"inactive, status {account.get('status')}"
        return [_skipped(raw, location, f"account event ({state}) is not a post")]
    raise BadRecord(f"unknown Jetstream event kind {kind!r}", field="kind")


def _map_commit(event: dict[str, Any], raw: bytes, location: Location) -> Envelope:
    did = required_str(event, "did", "did")
    commit = as_dict(event.get("commit"))
    if commit is None:
        raise BadRecord("commit event without a commit object", field="commit")
    collection = required_str(commit, "collection", "commit.collection")
    operation = required_str(commit, "operation", "commit.operation")
    rkey = required_str(commit, "rkey", "commit.rkey")
    uri = f"at://{did}/{collection}/{rkey}"
    indexed_at = _indexed_at(event)

    if collection not in (POST, REPOST):
        return _skipped(raw, location, f"{collection} is not a post")
    if operation == "delete":
        deletion = Deletion(platform=PLATFORM, native_id=uri, deleted_at=indexed_at)
        return Envelope(raw=raw, format=FORMAT, location=location, deletion=deletion)
    if operation not in ("create", "update"):
        raise BadRecord(f"unknown commit operation {operation!r}", field="commit.operation")

    record = as_dict(commit.get("record"))
    if record is None:
        raise BadRecord(f"{operation} without a record", field="commit.record")
    if record.get("createdAt") is None:
        raise BadRecord("missing, and the lexicon requires it", field="commit.record.createdAt")
    created_at = parse_iso(record["createdAt"], field="commit.record.createdAt")
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "native_id": uri,
        "created_at": created_at,
        "source": FORMAT,
        "source_version": SOURCE_VERSION,
        "author_id": did,
        "collected_at": indexed_at,
        "edited_at": indexed_at if operation == "update" else None,
    }
    if collection == REPOST:
        subject = _strong_ref_uri(record.get("subject"))
        if subject is None:
            raise BadRecord("repost without a subject URI", field="commit.record.subject.uri")
        return _envelope(raw, location, Post(**base, repost_of=subject))
    return _envelope(raw, location, _map_post(record, did, rkey, base))


def _map_post(record: dict[str, Any], did: str, rkey: str, base: dict[str, Any]) -> Post:
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        raise BadRecord(f"expected a string, got {type(text).__name__}", field="commit.record.text")
    mentions, urls, tags = _facets(record.get("facets"))
    langs = unique(as_list(record.get("langs")))
    media, quote_of, embed_urls = _embed(record.get("embed"))
    reply = as_dict(record.get("reply")) or {}
    return Post(
        **base,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        text=text or None,
        langs=langs,
        lang_source="platform" if langs else None,
        reply_to=_strong_ref_uri(reply.get("parent")),
        reply_root=_strong_ref_uri(reply.get("root")),
        quote_of=quote_of,
        media=tuple(media),
        hashtags=unique([*tags, *as_list(record.get("tags"))]),
        mentions=unique(mentions),
        urls=unique([*urls, *embed_urls]),
    )


def _facets(value: object) -> tuple[list[object], list[object], list[object]]:
    """Return (mentioned DIDs, link URIs, tags) from rich-text facets, in order, as given (unchecked)."""
    mentions: list[object] = []
    urls: list[object] = []
    tags: list[object] = []
    for facet in dict_items(value):
        for feature in dict_items(facet.get("features")):
            kind = feature.get("$type")
            if kind == _FACET + "mention":
                mentions.append(feature.get("did"))
            elif kind == _FACET + "link":
                urls.append(feature.get("uri"))
            elif kind == _FACET + "tag":
                tags.append(feature.get("tag"))
    return mentions, urls, tags


def _embed(value: object) -> tuple[list[MediaRef], str | None, list[str]]:
    """Return (media, quoted post URI, link URIs) from a post's embed, whatever its type."""
    embed = as_dict(value)
    if embed is None:
        return [], None, []
    kind = embed.get("$type")
    if kind == "app.bsky.embed.recordWithMedia":
        media, _, urls = _embed(embed.get("media"))
        record = as_dict(embed.get("record")) or {}
        return media, _quoted_post(record.get("record")), urls
    if kind == "app.bsky.embed.record":
        return [], _quoted_post(embed.get("record")), []
    if kind == "app.bsky.embed.external":
        external = as_dict(embed.get("external")) or {}
        uri = as_str(external.get("uri"))
        if uri is None:
            return [], None, []
        return [MediaRef(kind="link_card", url=uri)], None, [uri]
    # images, video, and any later media embed shaped like them (a gallery of images)
    found = [
        _blob_ref("image", item.get("image"), item.get("alt")) for item in dict_items(embed.get("images"))
    ]
    if "video" in embed:
        found.append(_blob_ref("video", embed.get("video"), embed.get("alt")))
    return [m for m in found if m is not None], None, []


def _blob_ref(kind: Literal["image", "video"], blob: object, alt: object) -> MediaRef | None:
    blob_dict = as_dict(blob)
    if blob_dict is None:
        return None
    ref = as_dict(blob_dict.get("ref")) or {}
    cid = as_str(ref.get("$link")) or as_str(blob_dict.get("cid"))  # legacy blobs carry a bare "cid"
    return MediaRef(
        kind=kind,
        native_id=cid,
        mime_type=as_str(blob_dict.get("mimeType")),
        alt_text=as_str(alt),
    )


def _quoted_post(ref: object) -> str | None:
    """The URI of an embedded record when it is a post; a quoted feed or list is not a quote."""
    uri = _strong_ref_uri(ref)
    return uri if uri is not None and f"/{POST}/" in uri else None


def _strong_ref_uri(value: object) -> str | None:
    ref = as_dict(value)
    uri = as_str(ref.get("uri")) if ref is not None else None
    return uri if uri is not None and uri.startswith("at://") else None


def _indexed_at(event: dict[str, Any]) -> datetime | None:
    if event.get("time_us") is None:
        return None
    return parse_epoch(event["time_us"], field="time_us", unit="us")


def _envelope(raw: bytes, location: Location, post: Post) -> Envelope:
    return Envelope(raw=raw, format=FORMAT, location=location, post=post)


def _skipped(raw: bytes, location: Location, reason: str) -> Envelope:
    return Envelope(raw=raw, format=FORMAT, location=location, skipped_reason=reason)
