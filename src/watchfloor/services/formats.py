"""Serialise posts for people and tools: CSV (analyst preset), NDJSON (lossless), table rows.

CSV follows the analyst convention from ecosystem.md 1c: ISO-8601 UTC timestamps, ids as text, one row
per post, lists joined with spaces; an optional UTF-8 BOM helps Excel. NDJSON carries every
normalised field plus the store id and cluster.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

import msgspec

from watchfloor.store.ports import StoredPost

CSV_COLUMNS = (
    "id",
    "platform",
    "native_id",
    "created_at",
    "collected_at",
    "url",
    "author_id",
    "author_handle",
    "author_name",
    "langs",
    "title",
    "text",
    "hashtags",
    "mentions",
    "urls",
    "domains",
    "reply_to",
    "repost_of",
    "quote_of",
    "likes",
    "reposts",
    "replies",
    "views",
    "cluster_id",
    "source",
)

_encoder = msgspec.json.Encoder()


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def csv_row(item: StoredPost) -> list[str]:
    """One CSV row in :data:`CSV_COLUMNS` order; absent values are empty cells."""
    post = item.post
    metrics = post.metrics
    values: dict[str, object] = {
        "id": item.id,
        "platform": post.platform,
        "native_id": post.native_id,
        "created_at": _iso(post.created_at),
        "collected_at": _iso(post.collected_at),
        "url": post.url,
        "author_id": post.author_id,
        "author_handle": post.author_handle,
        "author_name": post.author_name,
        "langs": " ".join(post.langs),
        "title": post.title,
        "text": post.text,
        "hashtags": " ".join(post.hashtags),
        "mentions": " ".join(post.mentions),
        "urls": " ".join(post.urls),
        "domains": " ".join(post.domains),
        "reply_to": post.reply_to,
        "repost_of": post.repost_of,
        "quote_of": post.quote_of,
        "likes": metrics.likes if metrics else None,
        "reposts": metrics.reposts if metrics else None,
        "replies": metrics.replies if metrics else None,
        "views": metrics.views if metrics else None,
        "cluster_id": item.cluster_id,
        "source": post.source,
    }
    return ["" if values[c] is None else str(values[c]) for c in CSV_COLUMNS]


def _csv_text(cells: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def csv_line(item: StoredPost) -> str:
    """One post as a CSV line (with its newline)."""
    return _csv_text(csv_row(item))


def iter_csv(items: Iterable[StoredPost], *, bom: bool = False) -> Iterator[str]:
    """CSV text in chunks (header first), for streaming to a file or a response."""
    yield ("\ufeff" if bom else "") + _csv_text(CSV_COLUMNS)
    for item in items:
        yield csv_line(item)


def ndjson_line(item: StoredPost) -> bytes:
    """One JSON object per post: the normalised post plus store id, cluster and deletion time."""
    body = _encoder.encode(item.post)
    extra = _encoder.encode({"id": item.id, "cluster_id": item.cluster_id})
    return extra[:-1] + b"," + body[1:] + b"\n"
