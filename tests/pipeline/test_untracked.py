"""Posts, envelopes and prepared posts are invisible to the cyclic garbage collector.

They are declared ``gc=False`` (domain/post.py): an import holds thousands per batch, and tracked
objects are walked on every older-generation collection. A struct that gained a mutable field, or a
new struct in the import path declared without ``gc=False``, fails here.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime

from tests.connectors.helpers import FIXTURE_ROOT, import_file
from watchfloor.domain.post import Envelope, Post
from watchfloor.pipeline import prepare_batch


def test_real_imported_posts_and_their_parts_are_not_tracked() -> None:
    items = import_file(FIXTURE_ROOT / "twitter" / "v1_constructed.jsonl", "twitter-v1")
    items += import_file(FIXTURE_ROOT / "twitter" / "v1_malformed.jsonl", "twitter-v1")
    posts = [i.post for i in items if isinstance(i, Envelope) and i.post is not None]
    assert posts and any(p.media for p in posts) and any(p.geo for p in posts)
    assert any(i.deletion for i in items if isinstance(i, Envelope))
    prepared = prepare_batch(posts, now=datetime(2026, 11, 30, tzinfo=UTC))
    parts: list[object] = [*items, *prepared, *(p.post for p in prepared)]
    for post in posts:
        parts += [*post.media, post.metrics, post.geo]
    for item in items:
        parts += [item.location, getattr(item, "deletion", None)]
    tracked = [type(part).__name__ for part in parts if part is not None and gc.is_tracked(part)]
    assert tracked == []
    assert all(isinstance(p.post, Post) for p in prepared)
