"""Pure conversions between domain posts and table rows (no database access here)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from watchfloor.domain.post import Post, Prepared, Quarantined
from watchfloor.query.fields import fold_handle, fold_hashtag

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Post)


def to_micros(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (exact, no float rounding)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def instant(value: int) -> datetime:
    """A NOT NULL time column -> aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=value)


def from_micros(value: int | None) -> datetime | None:
    """Integer microseconds since the epoch -> aware UTC datetime (None stays None)."""
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=value)


def encode_post(post: Post) -> bytes:
    return _encoder.encode(post)


def blob(value: bytes) -> bytearray:
    """A BLOB parameter for a bulk write. Python's sqlite3 binds ``bytearray`` (like ``int`` and
    ``str``) directly but looks ``bytes``, ``bool`` and ``None`` up in its adapter registry first:
    0.45 µs per value, several per post on the ingest path. psycopg takes either."""
    return bytearray(value)


def _encoded_doc(post: Post) -> bytearray:
    doc = bytearray()
    _encoder.encode_into(post, doc)
    return doc


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
    """The lowercased host names of absolute ``urls`` (others are skipped).

    A plain split rather than ``urlsplit``: this runs for every URL on the ingest hot path, and the
    pipeline has already normalised URLs to ``scheme://host[:port]/...``.
    """
    for url in urls:
        _, sep, rest = url.partition("://")
        if not sep:
            continue
        authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
        host = authority.rsplit(":", 1)[0] if not authority.endswith("]") else authority
        if host:
            yield host.casefold()


def post_terms(post: Post) -> set[tuple[str, str]]:
    """The (kind, value) selectors stored for field filters.

    Kinds: ``hashtag``, ``mention``, ``lang`` (primary subtag), ``domain`` (registrable domains, also
    the domain facet) and ``host`` (longer host names under them, so ``domain:news.bbc.co.uk`` works).
    ``reply`` holds :func:`reply_key` of the post this one replies to and of its thread's root: how a
    post view finds the replies to a post.
    """
    terms: set[tuple[str, str]] = set()
    terms.update(("hashtag", fold_hashtag(tag)) for tag in post.hashtags)
    terms.update(("mention", fold_handle(m)) for m in post.mentions)
    registrable = {d.casefold() for d in post.domains}
    terms.update(("domain", d) for d in registrable)
    for host in url_hosts(post.urls):
        terms.update(("host", suffix) for suffix in host_suffixes(host, registrable))
    terms.update(("lang", lang.split("-")[0].casefold()) for lang in post.langs)
    terms.update(("reply", reply_key(post.platform, ref)) for ref in (post.reply_to, post.reply_root) if ref)
    return terms


def reply_key(platform: str, native_id: str) -> str:
    """``platform:native_id`` (platform names hold no colon), exactly as the platform gave the id.

    The platform is in the key so the lookup of a post's replies is one index search with no other
    condition on ``posts`` (SQLite, without table statistics, would otherwise scan by platform)."""
    return f"{platform}:{native_id}"


# The post flags, stored as 0/1 ints (see post_row); the PostgreSQL adapter casts them to boolean.
FLAG_COLUMNS = ("has_media", "has_links", "has_geo", "is_reply", "is_repost", "is_quote")

POST_COLUMNS = (
    "platform",
    "native_id",
    "created_us",
    "collected_us",
    "author_key",
    "author_id",
    "has_media",
    "has_links",
    "has_geo",
    "is_reply",
    "is_repost",
    "is_quote",
    "urls_cf",
    "content_key",
    "cluster_id",
    "raw_digest",
    "import_id",
    "doc",
)


def content_key(content_hash: bytes) -> int | None:
    """The stored exact-duplicate key: the content hash's first 8 bytes as a signed 64-bit int."""
    return int.from_bytes(content_hash[:8], "big", signed=True) if content_hash else None


def post_row(item: Prepared, *, import_id: int | None, cluster_id: int | None) -> tuple[Any, ...]:
    """The ``posts`` row for a prepared post, in :data:`POST_COLUMNS` order (the id is assigned later).

    Flags are 0/1 and BLOBs ``bytearray``: what sqlite3 binds without an adapter lookup (see
    :func:`blob`); six ``bool`` flags cost 2.6 µs per row more than six ints.
    """
    post = item.post
    collected = post.collected_at or post.created_at
    return (
        post.platform,
        post.native_id,
        to_micros(post.created_at),
        to_micros(collected),
        fold_handle(post.author_handle) if post.author_handle else None,
        post.author_id,
        int(post.has_media),
        int(post.has_links),
        int(post.geo is not None),
        int(post.is_reply),
        int(post.is_repost),
        int(post.is_quote),
        "\n".join(u.casefold() for u in post.urls) if post.urls else None,
        content_key(item.content_hash),
        cluster_id,
        blob(raw_digest(item.raw)) if item.raw else None,
        import_id,
        _encoded_doc(post),
    )


def quarantine_key(entry: Quarantined) -> bytes:
    """A stable key for a quarantine entry, so importing the same file twice records it once."""
    where = entry.location
    head = f"{entry.format}\0{where.source}\0{where.line}\0{where.index}\0{entry.reason}\0".encode()
    return hashlib.sha256(head + entry.raw).digest()
