"""Builders for store tests: posts and prepared posts without running the pipeline."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from watchfloor.domain.post import Post, Prepared
from watchfloor.query.ast import Query
from watchfloor.query.tokens import index_text


def make_post(native_id: str, text: str | None, *, day: int = 1, hour: int = 0, **fields: Any) -> Post:
    values: dict[str, Any] = {
        "platform": "twitter",
        "native_id": native_id,
        "created_at": datetime(2013, 6, day, hour, tzinfo=UTC),
        "collected_at": datetime(2013, 7, 1, tzinfo=UTC),
        "source": "test",
        "source_version": "1",
        "text": text,
    }
    values.update(fields)
    return Post(**values)


def prepared(post: Post, *, band_keys: tuple[int, ...] = (), raw: bytes = b"") -> Prepared:
    tokens = index_text(post.searchable_text())
    digest = hashlib.blake2b(tokens.encode(), digest_size=16).digest() if tokens else b""
    return Prepared(post=post, content_hash=digest, band_keys=band_keys, raw=raw, raw_format="test")


def q(root: Any, source: str = "") -> Query:
    return Query(source=source, root=root)
