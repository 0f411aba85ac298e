"""Map Mastodon REST ``Status`` JSON (one object, or one saved page array, per line) to envelopes of posts.

The same Status shape is served by Mastodon and by the servers that copy its API (Pleroma, Akkoma,
GoToSocial), so one mapper covers what analysts save from any of them.

Decisions and limits, stated plainly:

* ``native_id`` is the status ``uri`` (its ActivityPub id), the only id that is the same on every
  instance; ``id`` is local to the instance that served the JSON and is not stored.
* ``in_reply_to_id`` (and a shallow quote's ``quoted_status_id``) are local ids too, and the parent's
  ``uri`` cannot be derived from them. They are kept as ``"{instance}/{local id}"`` when the instance
  that served the JSON can be read from the status itself (its author is local: ``acct`` has no
  ``@domain``, so the host of ``account.url`` is that instance), otherwise as
  ``"{status uri}#in_reply_to_id={local id}"`` (or ``#quoted_status_id=``). Both forms mark the post
  as a reply or quote and never collide across instances, but neither joins to another post's
  ``native_id``.
* A reblog yields two posts: the reblogged original (its own ``uri``) and the reblog itself, whose
  ``repost_of`` is the original's ``uri``, with no text, entities or counts of its own. A fully
  embedded quoted status (Mastodon 4.4+) is emitted as its own post too.
* ``private`` and ``direct`` statuses (any visibility other than ``public``/``unlisted``) are skipped
  with the reason: watchfloor imports public content only.
* ``content`` is HTML; it becomes plain text with line breaks kept for ``<br>`` and paragraphs, and
  without the ``RE: <link>`` fallback paragraph that Mastodon 4.4+ adds to quote posts.
  Link targets in ``content`` (other than mention and hashtag links) and ``card.url`` go to ``urls``.
* Mentions are stored as full ``user@domain`` handles so local and remote accounts look alike; a local
  ``acct`` gets the host of its profile URL, which can differ from the WebFinger domain on instances
  that serve their web interface from another host.
* Poll options and custom emoji are not mapped (the raw payload keeps them).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from watchfloor.connectors.base import MapOptions, MapResult, map_object_or_array
from watchfloor.connectors.values import (
    as_count,
    as_dict,
    as_str,
    dict_items,
    metrics_of,
    required_str,
    unique,
)
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, MediaKind, MediaRef, Metrics, Post
from watchfloor.domain.timeutil import parse_iso

FORMAT = "mastodon-status"
SOURCE_VERSION = "1"
PLATFORM = "mastodon"

_PUBLIC = ("public", "unlisted")
_MAX_DEPTH = 2  # a reblog may embed an original, which may embed a quoted status; no deeper
_MEDIA_KINDS: dict[str, MediaKind] = {"image": "image", "gifv": "gif", "video": "video", "audio": "audio"}


def map_status_line(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one line holding a Status or a JSON array of Statuses; bad array elements are quarantined."""
    del options  # nothing configurable for this format
    return map_object_or_array(raw, location, fmt=FORMAT, what="a Status object", map_object=map_status)


def map_status(status: dict[str, Any], raw: bytes, location: Location, *, depth: int = 0) -> list[Envelope]:
    """Map one Status to its envelopes: the post, plus the reblogged or quoted original when embedded."""
    reblog = as_dict(status.get("reblog")) if depth < _MAX_DEPTH else None
    if reblog is not None:
        originals = map_status(reblog, raw, location, depth=depth + 1)
        skipped = _skip_if_not_public(status, raw, location)
        if skipped is not None:
            return [*originals, skipped]
        original = originals[0].post
        repost_of = original.native_id if original is not None else required_str(reblog, "uri", "reblog.uri")
        wrapper = Post(**_common(status), repost_of=repost_of)
        return [*originals, Envelope(raw=raw, format=FORMAT, location=location, post=wrapper)]

    skipped = _skip_if_not_public(status, raw, location)
    if skipped is not None:
        return [skipped]
    envelopes = [Envelope(raw=raw, format=FORMAT, location=location, post=_map_post(status))]
    quote = as_dict(status.get("quote")) or {}
    quoted = as_dict(quote.get("quoted_status"))
    if quoted is not None and depth < _MAX_DEPTH and as_str(quoted.get("uri")) is not None:
        envelopes.extend(map_status(quoted, raw, location, depth=depth + 1))
    return envelopes


def _map_post(status: dict[str, Any]) -> Post:
    content = status.get("content")
    if content is not None and not isinstance(content, str):
        raise BadRecord(f"expected an HTML string, got {type(content).__name__}", field="content")
    text, links = html_to_text(content) if content else (None, [])
    if text is None:
        text = as_str(status.get("text"))  # plain source, given instead of content on delete-and-redraft
    card = as_dict(status.get("card")) or {}
    card_url = as_str(card.get("url"))
    media = [_media(m) for m in dict_items(status.get("media_attachments"))]
    if card_url is not None:
        media.append(MediaRef(kind="link_card", url=card_url, preview_url=as_str(card.get("image"))))
    language = as_str(status.get("language"))
    sensitive = status.get("sensitive")
    in_reply_to = _local_id(status.get("in_reply_to_id"))
    return Post(
        **_common(status),
        title=as_str(status.get("spoiler_text")),
        text=text,
        langs=(language,) if language else (),
        lang_source="platform" if language else None,
        reply_to=_local_ref(status, "in_reply_to_id", in_reply_to) if in_reply_to else None,
        quote_of=_quote_of(status),
        media=tuple(media),
        hashtags=unique(tag.get("name") for tag in dict_items(status.get("tags"))),
        mentions=unique(
            _full_handle(m.get("acct"), m.get("url")) for m in dict_items(status.get("mentions"))
        ),
        urls=unique([*links, card_url]),
        metrics=_metrics(status),
        edited_at=parse_iso(status["edited_at"], field="edited_at") if status.get("edited_at") else None,
        sensitive=sensitive if isinstance(sensitive, bool) else None,
    )


def _common(status: dict[str, Any]) -> dict[str, Any]:
    """The fields every post has, reblog wrappers included: ids, time, author."""
    uri = required_str(status, "uri", "uri")
    account = as_dict(status.get("account")) or {}
    profile = as_str(account.get("url"))
    return {
        "platform": PLATFORM,
        "native_id": uri,
        "created_at": parse_iso(status.get("created_at"), field="created_at"),
        "source": FORMAT,
        "source_version": SOURCE_VERSION,
        "url": as_str(status.get("url")) or uri,
        "author_id": profile or as_str(account.get("uri")),
        "author_handle": _full_handle(account.get("acct"), profile),
        "author_name": as_str(account.get("display_name")),
    }


def html_to_text(html: str) -> tuple[str | None, list[str]]:
    """Return the plain text of status HTML (breaks kept) and the targets of its ordinary links."""
    tree = LexborHTMLParser(html)
    # Mastodon 4.4+ adds "RE: <link>" in p.quote-inline for clients without quotes; the quote itself
    # is in quote_of, so the fallback is neither the author's text nor one of their links.
    for fallback in tree.css("p.quote-inline"):
        fallback.decompose()
    links: list[str] = []
    for anchor in tree.css("a[href]"):
        classes = (anchor.attributes.get("class") or "").split()
        rel = (anchor.attributes.get("rel") or "").split()
        href = anchor.attributes.get("href")
        if href and "mention" not in classes and "hashtag" not in classes and "tag" not in rel:
            links.append(href)
    for br in tree.css("br"):
        br.replace_with("\n")
    for paragraph in tree.css("p"):
        paragraph.insert_after("\n\n")
    body = tree.body
    text = body.text(deep=True).strip() if body is not None else ""
    return text or None, links


def _media(attachment: dict[str, Any]) -> MediaRef:
    kind = _MEDIA_KINDS.get(str(attachment.get("type")), "other")
    return MediaRef(
        kind=kind,
        url=as_str(attachment.get("url")) or as_str(attachment.get("remote_url")),
        preview_url=as_str(attachment.get("preview_url")),
        alt_text=as_str(attachment.get("description")),
    )


def _quote_of(status: dict[str, Any]) -> str | None:
    quote = as_dict(status.get("quote"))
    if quote is None:
        return None
    quoted = as_dict(quote.get("quoted_status"))
    if quoted is not None:
        return as_str(quoted.get("uri"))
    local_id = _local_id(quote.get("quoted_status_id"))  # a ShallowQuote names only a local id
    return _local_ref(status, "quoted_status_id", local_id) if local_id else None


def _local_ref(status: dict[str, Any], key: str, local_id: str) -> str:
    """Qualify an instance-local status id so it marks the reference without colliding (see above)."""
    account = as_dict(status.get("account")) or {}
    acct = as_str(account.get("acct"))
    host = _host(account.get("url"))
    if acct is not None and "@" not in acct and host is not None:
        return f"{host}/{local_id}"
    return f"{required_str(status, 'uri', 'uri')}#{key}={local_id}"


def _local_id(value: object) -> str | None:
    """An instance-local status id: a string per the API, though some servers send a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return as_str(value)


def _full_handle(acct: object, profile_url: object) -> str | None:
    handle = as_str(acct)
    if handle is None:
        return None
    handle = handle.removeprefix("@")
    host = _host(profile_url)
    return handle if "@" in handle or host is None else f"{handle}@{host}"


def _metrics(status: dict[str, Any]) -> Metrics | None:
    return metrics_of(
        likes=as_count(status.get("favourites_count")),
        reposts=as_count(status.get("reblogs_count")),
        replies=as_count(status.get("replies_count")),
        quotes=as_count(status.get("quotes_count")),
    )


def _skip_if_not_public(status: dict[str, Any], raw: bytes, location: Location) -> Envelope | None:
    visibility = status.get("visibility")
    if visibility is None or visibility in _PUBLIC:
        return None
    reason = f"visibility {visibility!r} is not public; watchfloor imports public posts only"
    return Envelope(raw=raw, format=FORMAT, location=location, skipped_reason=reason)


def _host(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None
