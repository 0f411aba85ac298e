"""Pure conversions between domain posts and table rows (no database access here)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec

from watchfloor.domain.post import Post, Prepared, Quarantined

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Post)


def to_micros(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (exact, no float rounding)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    """Integer microseconds since the epoch -> aware UTC datetime (None stays None)."""
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=value)


def encode_post(post: Post) -> bytes:
    return _encoder.encode(post)


def decode_post(doc: bytes) -> Post:
    return _decoder.decode(doc)


def raw_digest(raw: bytes) -> bytes:
    """SHA-256 of a raw payload: its key in ``raw_payloads`` (shared by posts from one page)."""
    return hashlib.sha256(raw).digest()


def host_suffixes(host: str, registrable: set[str]) -> Iterator[str]:
    """``a.b.bbc.co.uk`` -> itself, ``b.bbc.co.uk``, stopping at a registrable domain in ``registrable``.

    Without a known registrable domain only the host itself is returned: guessing where the public
    suffix starts is exactly what tldextract (in the pipeline) is for.
    """
    labels = host.casefold().removeprefix("www.").split(".")
    for start in range(len(labels) - 1):
        suffix = ".".join(labels[start:])
        if suffix in registrable:
            return
        yield suffix
        if not registrable:
            return


def url_hosts(urls: tuple[str, ...]) -> Iterator[str]:
    """The host names of ``urls`` (unparseable URLs are skipped)."""
    for url in urls:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host:
            yield host


def post_terms(post: Post) -> set[tuple[str, str]]:
    """The (kind, value) selectors stored for field filters.

    Kinds: ``hashtag``, ``mention``, ``lang`` (primary subtag), ``domain`` (registrable domains, also
    the domain facet) and ``host`` (longer host names under them, so ``domain:news.bbc.co.uk`` works).
    """
    terms: set[tuple[str, str]] = set()
    terms.update(("hashtag", tag.casefold()) for tag in post.hashtags)
    terms.update(("mention", m.removeprefix("@").casefold()) for m in post.mentions)
    registrable = {d.casefold() for d in post.domains}
    terms.update(("domain", d) for d in registrable)
    for host in url_hosts(post.urls):
        terms.update(("host", suffix) for suffix in host_suffixes(host, registrable))
    terms.update(("lang", lang.split("-")[0].casefold()) for lang in post.langs)
    return terms


def post_row(item: Prepared, *, import_id: int | None, cluster_id: int | None) -> dict[str, Any]:
    """The ``posts`` row for a prepared post (without id, which the adapter assigns)."""
    post = item.post
    collected = post.collected_at or post.created_at
    return {
        "platform": post.platform,
        "native_id": post.native_id,
        "created_us": to_micros(post.created_at),
        "collected_us": to_micros(collected),
        "author_key": post.author_handle.removeprefix("@").casefold() if post.author_handle else None,
        "author_id": post.author_id,
        "has_media": post.has_media,
        "has_links": post.has_links,
        "has_geo": post.geo is not None,
        "is_reply": post.is_reply,
        "is_repost": post.is_repost,
        "is_quote": post.is_quote,
        "urls_cf": "\n".join(u.casefold() for u in post.urls) if post.urls else None,
        "content_hash": item.content_hash or None,
        "cluster_id": cluster_id,
        "raw_digest": raw_digest(item.raw) if item.raw else None,
        "import_id": import_id,
        "deleted_us": None,
        "doc": encode_post(post),
    }


def quarantine_key(entry: Quarantined) -> bytes:
    """A stable key for a quarantine entry, so importing the same file twice records it once."""
    where = entry.location
    head = f"{entry.format}\0{where.source}\0{where.line}\0{where.index}\0{entry.reason}\0".encode()
    return hashlib.sha256(head + entry.raw).digest()
