"""The normalised post and the envelope that keeps the raw payload beside it.

A ``Post`` is what every connector and importer maps its platform's record to. Rules for every field:
a value the platform did not give is ``None`` (or an empty tuple for lists), never ``""`` or ``0``;
times are aware UTC datetimes; ids are strings (platform ids overflow JavaScript numbers).

There are deliberately no fields about a person beyond the public account identifiers the platform
shows (DESIGN.md: no protected attributes, no person location, no risk scores). A geotag belongs to
the post, and only when the platform gave one explicitly.

Every struct here is frozen and holds only immutable values (strings, numbers, datetimes, tuples and
other such structs), so none can be part of a reference cycle: they are declared ``gc=False`` and the
cyclic garbage collector never tracks them. An import keeps thousands of them alive per batch, and
tracking them made the collector walk every one on each older-generation pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

MediaKind = Literal["image", "video", "gif", "audio", "link_card", "document", "other"]


class MediaRef(msgspec.Struct, frozen=True, gc=False, kw_only=True, omit_defaults=True):
    """A photo, video or other attachment referenced by a post (not fetched here)."""

    kind: MediaKind
    url: str | None = None
    preview_url: str | None = None
    alt_text: str | None = None
    mime_type: str | None = None
    native_id: str | None = None


class Geotag(msgspec.Struct, frozen=True, gc=False, kw_only=True, omit_defaults=True):
    """An explicit location the platform attached to one post. Never inferred, never aggregated per person."""

    latitude: float | None = None
    longitude: float | None = None
    place_name: str | None = None
    country_code: str | None = None


class Metrics(msgspec.Struct, frozen=True, gc=False, kw_only=True, omit_defaults=True):
    """Public engagement counts as the platform reported them at collection time; absent means not given."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    views: int | None = None
    score: int | None = None


class Post(msgspec.Struct, frozen=True, gc=False, kw_only=True, omit_defaults=True):
    """One public post, comment, video or message, normalised across platforms."""

    platform: str
    native_id: str
    created_at: datetime
    source: str  # connector or importer name that produced it
    source_version: str
    url: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    collected_at: datetime | None = None  # set from the file when it says, else by the pipeline's clock
    title: str | None = None  # Reddit/YouTube/RSS titles; searched together with text
    text: str | None = None
    langs: tuple[str, ...] = ()  # as declared by the platform, or detected (see lang_source)
    lang_source: Literal["platform", "detected"] | None = None
    reply_to: str | None = None  # native id of the post replied to
    reply_root: str | None = None  # native id of the thread root
    quote_of: str | None = None
    repost_of: str | None = None
    conversation: str | None = None  # channel / subreddit / thread container name
    media: tuple[MediaRef, ...] = ()
    hashtags: tuple[str, ...] = ()  # without '#', as written (case kept)
    mentions: tuple[str, ...] = ()  # handles without '@'
    urls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # registrable domains of urls (derived by the pipeline)
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    metrics: Metrics | None = None
    geo: Geotag | None = None
    edited_at: datetime | None = None
    sensitive: bool | None = None
    # Read from the post's photos and video keyframes by media enrichment (pipeline/media), after the
    # post was stored: OCR text (searched and matched like the text; ``image:`` asks for it alone) and
    # perceptual hashes as "pdq:<64 hex>" / "phash:<16 hex>" (``imagehash:~list`` rules compare them).
    image_text: str | None = None
    image_hashes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """The natural key ``(platform, native_id)``: the deduplication of last resort."""
        return (self.platform, self.native_id)

    @property
    def has_media(self) -> bool:
        return any(m.kind != "link_card" for m in self.media)

    @property
    def has_links(self) -> bool:
        return bool(self.urls)

    @property
    def is_reply(self) -> bool:
        return self.reply_to is not None

    @property
    def is_repost(self) -> bool:
        return self.repost_of is not None

    @property
    def is_quote(self) -> bool:
        return self.quote_of is not None

    def searchable_text(self) -> str:
        """Title, text and the text read from its images, joined: what full-text search and rules read."""
        parts = [p for p in (self.title, self.text, self.image_text) if p]
        return "\n".join(parts)

    def own_text(self) -> str:
        """Title and text only (without image text): what ``text:`` asks about."""
        parts = [p for p in (self.title, self.text) if p]
        return "\n".join(parts)


class Deletion(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A platform said this post was deleted; retention removes it unless it is under legal hold."""

    platform: str
    native_id: str
    deleted_at: datetime | None = None  # when the platform says it happened, if it says


class Location(msgspec.Struct, frozen=True, gc=False, kw_only=True, omit_defaults=True):
    """Where a record came from, so an error can name file and line (or row)."""

    source: str  # file path or connector source name
    line: int | None = None  # 1-based line (JSON lines) or row (CSV, counting the header as row 1)
    index: int | None = None  # 0-based element index inside a JSON document or page


class Envelope(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A raw payload kept verbatim with what it was mapped to: a post, a deletion, or nothing.

    ``post is None and deletion is None`` marks a record that is valid but carries nothing to store
    (a Bluesky like, a follow): it is counted as skipped, never silently dropped.
    """

    raw: bytes
    format: str
    location: Location
    post: Post | None = None
    deletion: Deletion | None = None
    skipped_reason: str | None = None


class Quarantined(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A record that could not be mapped, kept with where it was and why."""

    raw: bytes
    format: str
    location: Location
    reason: str
    field: str | None = None


class Prepared(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A post after the pipeline, ready for the store: derived fields filled, dedup keys computed."""

    post: Post
    content_hash: bytes  # 16-byte key of the normalised text (exact duplicates); b"" when no text
    band_keys: tuple[int, ...]  # near-duplicate LSH band keys (signed int64); () for too little text
    enrichers: tuple[str, ...] = ()  # provenance: "name@version" of each stage that ran
    raw: bytes = b""  # the payload as received (kept verbatim beside the post)
    raw_format: str = ""
    # ``query.tokens.index_text(post.searchable_text())``, when the pipeline already had the tokens
    # (None: the store computes it). Must be exactly that, or deleting the post from the index fails.
    index_text: str | None = None
