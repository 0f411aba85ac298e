"""A live source: one feed or stream the runner collects, with its committed cursor and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

SourceStatus = Literal["active", "paused", "failed"]
SOURCE_STATUSES: tuple[SourceStatus, ...] = ("active", "paused", "failed")


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """A configured source and where collection stands (``cursor`` is opaque outside its connector)."""

    id: int
    name: str
    kind: str
    config: dict[str, Any]
    basis_id: int  # the legal basis collection runs under; it must be in force for the runner to fetch
    cursor: str | None
    status: SourceStatus
    last_success_at: datetime | None
    last_error: str | None
    error_count: int
    posts_total: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def every_seconds(self) -> float:
        """How often to poll when the connector does not say (the ``every`` setting, default 300 s)."""
        value = self.config.get("every", 300)
        return float(value) if isinstance(value, int | float) else 300.0

    def lag_seconds(self, now: datetime) -> float | None:
        """Seconds since the last successful batch; None if there has been none."""
        if self.last_success_at is None:
            return None
        return max(0.0, (now - self.last_success_at).total_seconds())
