"""A minimal post builder for pipeline tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from watchfloor.domain.post import Post

CREATED = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)


def make_post(text: str | None = None, *, native_id: str = "1", **fields: Any) -> Post:
    """A post as a connector would map it, with only the given fields set."""
    return Post(
        platform="test",
        native_id=native_id,
        created_at=CREATED,
        source="tests",
        source_version="1",
        text=text,
        **fields,
    )
