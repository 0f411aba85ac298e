"""Pure helpers for reading values out of untrusted platform JSON, shared by every importer.

A platform's JSON can hold anything at any key: a number where a string was documented, ``true``
where a count belongs, a list of mixed objects and nulls. These small readers live here once so that
"absent" and "wrong type" mean the same thing in every format (STYLE.md rule 7: a value the platform
did not give is ``None``, never ``""`` or ``0``).

The readers return ``None`` (or an empty collection) for a missing or mistyped value and leave it to
the mapper to decide which absences are fatal; :func:`required_str` is the one that raises.

JSON booleans are rejected wherever a number is read: ``bool`` is a subclass of ``int`` in Python,
so without the explicit check ``true`` would count as 1.

The Zeeschuimer helpers in :mod:`watchfloor.connectors.fourcat.zs_json` are deliberately more lenient
(they turn integer ids into strings and strip whitespace) because browser-captured web-app JSON needs
it; they are not these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Metrics


def as_dict(value: object) -> dict[str, Any] | None:
    """Return ``value`` if it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def as_str(value: object) -> str | None:
    """Return ``value`` if it is a non-empty string, else None (numbers are not turned into text)."""
    return value if isinstance(value, str) and value else None


def as_count(value: object) -> int | None:
    """Return ``value`` if it is a non-negative JSON integer, else None (booleans and floats are refused)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def as_number(value: object) -> float | None:
    """Return a JSON number (integer or float, never a boolean) as a float, else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def as_list(value: object) -> list[Any]:
    """Return ``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def dict_items(value: object) -> list[dict[str, Any]]:
    """Return the JSON objects in a JSON array, skipping other elements; not an array gives []."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def unique(values: Iterable[object]) -> tuple[str, ...]:
    """Return the non-empty strings among ``values`` without repeats, in first-seen order.

    Anything else (None, numbers, empty strings) is dropped, so a mapper can pass raw entity values
    straight in.
    """
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value:
            seen.setdefault(value, None)
    return tuple(seen)


def required_str(obj: dict[str, Any], key: str, field: str) -> str:
    """Return ``obj[key]`` if it is a non-empty string, else raise BadRecord naming ``field``."""
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise BadRecord("missing or not a string", field=field)
    return value


def metrics_of(**counts: int | None) -> Metrics | None:
    """Return Metrics holding the counts that were given, or None when the platform gave none."""
    given = {name: value for name, value in counts.items() if value is not None}
    return Metrics(**given) if given else None
