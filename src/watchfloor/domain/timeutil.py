"""Small pure helpers for the timestamps platforms send (all results are aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from watchfloor.domain.errors import BadRecord

# Anything before this is not a social-media post; anything after "far future" is a broken clock.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def ensure_plausible(value: datetime, *, field: str) -> datetime:
    """Return ``value`` in UTC, or raise ``BadRecord`` if it is naive or outside 1990-2100."""
    if value.tzinfo is None:
        raise BadRecord("timestamp has no time zone", field=field)
    value = value.astimezone(UTC)
    if not (_EARLIEST <= value < _LATEST):
        raise BadRecord(f"impossible date {value.isoformat()}", field=field)
    return value


def parse_iso(value: object, *, field: str) -> datetime:
    """Parse an ISO-8601 timestamp with an offset or 'Z' into aware UTC, or raise ``BadRecord``."""
    if not isinstance(value, str):
        raise BadRecord(f"expected an ISO-8601 string, got {type(value).__name__}", field=field)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRecord(f"not an ISO-8601 timestamp: {value!r}", field=field) from None
    if parsed.tzinfo is None:
        raise BadRecord(f"timestamp has no time zone: {value!r}", field=field)
    return ensure_plausible(parsed, field=field)


def parse_epoch(value: object, *, field: str, unit: str = "s") -> datetime:
    """Parse a Unix epoch number (or numeric string) in seconds, ms or µs into aware UTC."""
    if isinstance(value, bool):
        raise BadRecord("expected an epoch number, got a boolean", field=field)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRecord(f"expected an epoch number, got {value!r}", field=field) from None
    divisor = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    try:
        parsed = datetime.fromtimestamp(number / divisor, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRecord(f"impossible epoch time {value!r}", field=field) from None
    return ensure_plausible(parsed, field=field)


_TWITTER_EPOCH_MS = 1288834974657


def twitter_snowflake_time(native_id: str, *, field: str) -> datetime:
    """Return the creation time encoded in a Twitter/X snowflake id (ids after late 2010)."""
    try:
        number = int(native_id)
    except ValueError:
        raise BadRecord(f"not a numeric tweet id: {native_id!r}", field=field) from None
    if number < (1 << 22):
        raise BadRecord("tweet id predates snowflake ids; no time can be derived", field=field)
    return parse_epoch((number >> 22) + _TWITTER_EPOCH_MS, field=field, unit="ms")
