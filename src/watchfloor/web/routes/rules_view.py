"""Presentation helpers for the rules pages: version diffs as segments, and the back-test chart series.

Diffs are word-level (``difflib`` over words and the spaces between them) and come out as
``(text, css class)`` segments the template renders escaped inside ``<span class="diff-add|diff-del">``:
rule text is the analyst's, but it is never markup.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, time
from typing import Any

import orjson

from watchfloor.domain.rules import RuleVersion
from watchfloor.services.rules import Backtest

DiffSegment = tuple[str, str]  # (text, "" | "diff-add" | "diff-del")
_WORDS = re.compile(r"\s+|[^\s]+")
FIELDS = (
    ("name", "Name"),
    ("query", "Query"),
    ("severity", "Severity"),
    ("description", "Description"),
    ("volume", "Volume"),
    ("basis_id", "Legal basis"),
    ("justification", "Justification"),
)


def _text(version: RuleVersion, field: str) -> str:
    value = getattr(version, field)
    if field == "volume" and value is not None:
        return f"{value.threshold} posts in {value.window_minutes} minutes"
    if field == "basis_id" and value is not None:
        return f"#{value}"
    return "" if value is None else str(value)


def diff(before: str, after: str) -> list[DiffSegment]:
    """Word-level segments turning ``before`` into ``after``."""
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    out: list[DiffSegment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("".join(a[i1:i2]), ""))
            continue
        if i2 > i1:
            out.append(("".join(a[i1:i2]), "diff-del"))
        if j2 > j1:
            out.append(("".join(b[j1:j2]), "diff-add"))
    return out


def history_rows(versions: list[RuleVersion]) -> list[dict[str, Any]]:
    """Each version, newest first, with its fields (v1) or what changed from the previous version."""
    rows: list[dict[str, Any]] = []
    previous: RuleVersion | None = None
    for version in versions:
        changes = []
        for field, label in FIELDS:
            now = _text(version, field)
            if previous is None:
                if now:
                    changes.append((field, label, [(now, "")]))
            elif now != (before := _text(previous, field)):
                changes.append((field, label, diff(before, now)))
        rows.append({"version": version, "changes": changes, "first": previous is None})
        previous = version
    return rows[::-1]


def series(result: Backtest) -> str:
    """The back-test's matches per day as a uPlot series (JSON for a data attribute)."""
    days = sorted(result.per_day.items())
    x = [int(datetime.combine(day, time(0), tzinfo=UTC).timestamp()) for day, _ in days]
    return orjson.dumps({"x": x, "y": [n for _, n in days], "label": "matches"}).decode()
