"""Highlighted text for templates without ``|safe``: text cut into (piece, is_match) segments.

A template renders each segment escaped, the matched ones inside ``<mark>``, so hostile post text can
never become markup however the spans fall.
"""

from __future__ import annotations

from collections.abc import Sequence

Segment = tuple[str, bool]


def segments(text: str, spans: Sequence[tuple[int, int]], *, limit: int | None = None) -> list[Segment]:
    """``text`` (cut at ``limit`` characters, with an ellipsis) split at ``spans`` (start, end)."""
    cut = text if limit is None or len(text) <= limit else text[:limit]
    out: list[Segment] = []
    at = 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(cut))
        if start >= end:
            continue
        if start > at:
            out.append((cut[at:start], False))
        out.append((cut[start:end], True))
        at = end
    if at < len(cut):
        out.append((cut[at:], False))
    if len(cut) < len(text):
        out.append(("…", False))
    return out
