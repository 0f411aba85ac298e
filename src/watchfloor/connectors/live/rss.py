"""RSS 2.0, Atom and JSON Feed: poll one feed URL politely and map its entries to posts.

Polling is a conditional GET: the ``ETag`` and ``Last-Modified`` the server sent last time are kept in
the cursor (a small JSON object) and sent back, so an unchanged feed costs one 304 and stores nothing.
RSS and Atom are parsed by feedparser from the fetched bytes (it never fetches anything itself); JSON
Feed (1.0 and 1.1) is decoded directly, because feedparser 6.0 does not read it.

Entries are keyed by their ``guid``/``id`` and, when a feed gives none, by their link: the store's
natural key (``rss``, native id) then makes a re-fetched entry a duplicate, never a second post. An id
that is not a URL or URN (``<guid isPermaLink="false">42</guid>``) is prefixed with the feed URL, so
two feeds' entry "42" stay two posts. An entry with neither id nor link is quarantined with the reason.

Feeds that page *forward* (an archive or replay whose ``rel="next"`` link leads to newer entries) are
followed page by page when the source sets ``follow_next``; the cursor then names the page to read
next, committed with the entries read before it. Ordinary RSS paging (RFC 5005) leads to *older*
entries, so it is not followed by default.

A feed is a site, which targets no one, unless its address is one account's feed (a YouTube channel's,
a Mastodon profile's ``.rss``): then :func:`named_accounts` names the account, and the source collects
only while a watch is in force for it (``rss_accounts.py`` lists the shapes recognised).

Limits, candidly: the raw payload kept for an RSS/Atom entry is feedparser's reading of it (as JSON),
not the XML bytes; a JSON Feed item is kept verbatim. An entry without any date gets the time it was
first fetched as its ``created_at`` (the feed gave nothing better; ``collected_at`` says the same).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]
import msgspec
from selectolax.lexbor import LexborHTMLParser

from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import ReadOnlyHttp
from watchfloor.connectors.live.registry import Account, register
from watchfloor.connectors.live.rss_accounts import feed_account
from watchfloor.connectors.values import as_dict, as_list, as_str
from watchfloor.domain.errors import ConfigError, Permanent
from watchfloor.domain.post import Envelope, Location, MediaKind, MediaRef, Post, Quarantined

__all__ = ["RssConnector", "map_feed", "named_accounts"]

NAME = "rss"
VERSION = "1"
FORMAT = "rss"
DEFAULT_EVERY = 300  # seconds between polls when a source does not say
MIN_EVERY = 60  # etiquette: nobody needs a feed more often than once a minute
_ACCEPT = "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"


class _Cursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    url: str | None = None  # the page to read next (follow_next), else the feed URL
    etag: str | None = None
    modified: str | None = None


def _text(html: str | None) -> str | None:
    if not html:
        return None
    if "<" not in html and "&" not in html:
        return html.strip() or None
    tree = LexborHTMLParser(html)
    text = tree.text(separator=" ").strip() if tree.body is None else tree.body.text(separator=" ").strip()
    return " ".join(text.split()) or None


def _when(parsed: object) -> datetime | None:
    if isinstance(parsed, time.struct_time):
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def _iso(value: object) -> datetime | None:
    text = as_str(value)
    if text is None:
        return None
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found.astimezone(UTC) if found.tzinfo else None


def _native_id(entry_id: str | None, link: str | None, feed_url: str) -> str | None:
    if entry_id:
        return entry_id if ":" in entry_id else f"{feed_url}#{entry_id}"
    return link


def _media_kind(mime: str | None) -> MediaKind:
    major = (mime or "").split("/", 1)[0]
    return {"image": "image", "video": "video", "audio": "audio"}.get(major, "other")  # type: ignore[return-value]


def _post(
    *,
    native_id: str,
    feed_url: str,
    feed_title: str | None,
    link: str | None,
    title: str | None,
    body: str | None,
    author: str | None,
    published: datetime | None,
    updated: datetime | None,
    lang: str | None,
    media: tuple[MediaRef, ...],
    now: datetime,
) -> Post:
    created = published or updated or now
    return Post(
        platform="rss",
        native_id=native_id,
        created_at=created,
        source=NAME,
        source_version=VERSION,
        url=link,
        author_id=None,
        author_name=author,
        collected_at=now,
        title=_text(title),
        text=_text(body),
        langs=(lang.split("-")[0].lower(),) if lang else (),
        lang_source="platform" if lang else None,
        conversation=feed_title or urlsplit(feed_url).netloc,
        media=media,
        urls=(link,) if link else (),
        edited_at=updated if published and updated and updated > published else None,
    )


def _quarantine(raw: bytes, feed_url: str, index: int, reason: str) -> Quarantined:
    return Quarantined(
        raw=raw, format=FORMAT, location=Location(source=feed_url, index=index), reason=reason, field="id"
    )


def _map_json_feed(data: bytes, feed_url: str, now: datetime) -> tuple[Batch, str | None]:
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise Permanent(f"{feed_url}: not valid JSON Feed ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise Permanent(f"{feed_url}: a JSON document without an 'items' list is not a JSON Feed")
    feed_title = as_str(doc.get("title"))
    lang = as_str(doc.get("language"))
    envelopes: list[Envelope] = []
    bad: list[Quarantined] = []
    seen: set[str] = set()
    for index, item in enumerate(doc["items"]):
        raw = msgspec.json.encode(item)
        obj = as_dict(item)
        if obj is None:
            bad.append(_quarantine(raw, feed_url, index, "a JSON Feed item must be an object"))
            continue
        link = as_str(obj.get("url"))
        native_id = _native_id(as_str(obj.get("id")), link, feed_url)
        if native_id is None:
            bad.append(_quarantine(raw, feed_url, index, "item has neither an id nor a url"))
            continue
        if native_id in seen:
            continue
        seen.add(native_id)
        authors = [as_str(a.get("name")) for a in map(as_dict, as_list(obj.get("authors"))) if a]
        author = as_dict(obj.get("author"))
        media = tuple(
            MediaRef(
                kind=_media_kind(as_str(a.get("mime_type"))),
                url=as_str(a.get("url")),
                mime_type=as_str(a.get("mime_type")),
            )
            for a in map(as_dict, as_list(obj.get("attachments")))
            if a and as_str(a.get("url"))
        )
        post = _post(
            native_id=native_id,
            feed_url=feed_url,
            feed_title=feed_title,
            link=link,
            title=as_str(obj.get("title")),
            body=as_str(obj.get("content_text"))
            or as_str(obj.get("content_html"))
            or as_str(obj.get("summary")),
            author=next((a for a in authors if a), None) or (as_str(author.get("name")) if author else None),
            published=_iso(obj.get("date_published")),
            updated=_iso(obj.get("date_modified")),
            lang=as_str(obj.get("language")) or lang,
            media=media,
            now=now,
        )
        envelopes.append(
            Envelope(raw=raw, format=FORMAT, location=Location(source=feed_url, index=index), post=post)
        )
    next_url = as_str(doc.get("next_url"))
    return Batch(envelopes=envelopes, quarantined=bad), next_url


def _map_xml_feed(data: bytes, feed_url: str, now: datetime) -> tuple[Batch, str | None]:
    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=True)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed document found"
        raise Permanent(f"{feed_url}: not a readable feed ({reason}); check the URL in a browser")
    feed = parsed.feed
    feed_title = as_str(feed.get("title"))
    lang = as_str(feed.get("language"))
    envelopes: list[Envelope] = []
    bad: list[Quarantined] = []
    seen: set[str] = set()
    for index, entry in enumerate(parsed.entries):
        raw = msgspec.json.encode(dict(entry), enc_hook=str)
        link = as_str(entry.get("link"))
        native_id = _native_id(as_str(entry.get("id")), link, feed_url)
        if native_id is None:
            bad.append(_quarantine(raw, feed_url, index, "entry has neither a guid/id nor a link"))
            continue
        if native_id in seen:
            continue
        seen.add(native_id)
        content = [as_str(c.get("value")) for c in as_list(entry.get("content")) if isinstance(c, Mapping)]
        media = tuple(
            MediaRef(
                kind=_media_kind(as_str(e.get("type"))),
                url=as_str(e.get("href")),
                mime_type=as_str(e.get("type")),
            )
            for e in as_list(entry.get("enclosures"))
            if isinstance(e, Mapping) and as_str(e.get("href"))
        )
        post = _post(
            native_id=native_id,
            feed_url=feed_url,
            feed_title=feed_title,
            link=link,
            title=as_str(entry.get("title")),
            body=next((c for c in content if c), None) or as_str(entry.get("summary")),
            author=as_str(entry.get("author")),
            published=_when(dict.get(entry, "published_parsed")),
            updated=_when(dict.get(entry, "updated_parsed")),  # no feedparser fallback
            lang=lang,
            media=media,
            now=now,
        )
        envelopes.append(
            Envelope(raw=raw, format=FORMAT, location=Location(source=feed_url, index=index), post=post)
        )
    next_url = next(
        (
            as_str(link.get("href"))
            for link in as_list(feed.get("links"))
            if isinstance(link, Mapping) and link.get("rel") == "next"
        ),
        None,
    )
    return Batch(envelopes=envelopes, quarantined=bad), next_url


def map_feed(
    data: bytes, *, feed_url: str, content_type: str | None, now: datetime
) -> tuple[Batch, str | None]:
    """Entries of one fetched feed document as envelopes (bad ones quarantined) and its ``rel=next`` URL.

    Pure: raises :class:`Permanent` when the bytes are no feed at all (an HTML error page, garbage).
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("application/feed+json", "application/json") or data.lstrip()[:1] == b"{":
        return _map_json_feed(data, feed_url, now)
    return _map_xml_feed(data, feed_url, now)


class RssConnector:
    """One feed URL, polled with conditional GETs (see the module docstring)."""

    name = NAME
    version = VERSION

    def __init__(
        self,
        url: str,
        *,
        http: ReadOnlyHttp | None = None,
        every: float = DEFAULT_EVERY,
        follow_next: bool = False,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        self.http = http or ReadOnlyHttp()
        self.every = every
        self.follow_next = follow_next
        self._now = now or (lambda: datetime.now(UTC))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: ReadOnlyHttp | None = None) -> RssConnector:
        """Build from a source's config: ``url`` (required), ``every`` seconds, ``follow_next``."""
        url = _feed_url(config)
        every = config.get("every", DEFAULT_EVERY)
        if not isinstance(every, int | float) or isinstance(every, bool) or every < MIN_EVERY:
            raise ConfigError(f"--every must be at least {MIN_EVERY} seconds for a feed, not {every!r}")
        return cls(url, http=http, every=float(every), follow_next=bool(config.get("follow_next", False)))

    def fetch(self, cursor: str | None) -> Batch:
        """Read the feed (or the next page) after ``cursor``; a 304 is an empty batch."""
        state = msgspec.json.decode(cursor, type=_Cursor) if cursor else _Cursor()
        url = state.url or self.url
        headers: dict[str, str] = {"Accept": _ACCEPT}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        response = self.http.get(url, headers=headers)
        now = self._now()
        wake = now + timedelta(seconds=self.every)
        if response.status_code == 304:
            return Batch(next_cursor=None, next_wake=wake)
        if response.status_code >= 300:
            raise Permanent(f"GET {url}: HTTP {response.status_code} {response.reason_phrase}")
        batch, next_url = map_feed(
            response.content, feed_url=self.url, content_type=response.headers.get("Content-Type"), now=now
        )
        if self.follow_next and next_url:
            following = _Cursor(url=urljoin(url, next_url))
            return msgspec.structs.replace(
                batch, next_cursor=msgspec.json.encode(following).decode(), next_wake=None
            )
        kept = _Cursor(
            url=url if url != self.url else None,
            etag=response.headers.get("ETag"),
            modified=response.headers.get("Last-Modified"),
        )
        return msgspec.structs.replace(batch, next_cursor=msgspec.json.encode(kept).decode(), next_wake=wake)

    def close(self) -> None:
        self.http.close()


def _feed_url(config: Mapping[str, Any]) -> str:
    url = as_str(config.get("url"))
    if url is None or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ConfigError(f"an rss source needs --url with an http(s) feed address, not {url!r}")
    return url


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """None for a site's feed; the account for one account's feed (see rss_accounts.py)."""
    account = feed_account(_feed_url(config))
    return (account,) if account is not None else ()


register(NAME, RssConnector.from_config, accounts=named_accounts)
