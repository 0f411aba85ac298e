"""Pure helpers that read one CSV cell: text, counts, times, lists and ids.

CSV importers (generic, 4CAT, CrowdTangle) share these so that "absent" means the same thing in every
one of them: an empty or whitespace-only cell is ``None``, never ``""`` or ``0``. Each helper raises
:class:`~watchfloor.domain.errors.BadRecord` naming the column when a cell is present but unusable,
so the row is quarantined with a reason an analyst can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime

from watchfloor.connectors.base import decode_json
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.timeutil import ensure_plausible, parse_epoch

Row = Mapping[str, object]

# "1234", "1,234", "12,345,678" (and the same with a space or a narrow no-break space, as some
# spreadsheet locales write). "1,23" or "1,2x4" are rejected: guessing would silently corrupt counts.
_COUNT = re.compile(r"\d{1,3}(?:([,\u202f\u00a0 ])\d{3})(?:\1\d{3})*|\d+")
_INTEGRAL_FLOAT = re.compile(r"(\d+)\.0+")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")
_EXCEL_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+\d+")
_LIST_SPLIT = re.compile(r"[\s,;]+")


def decode_row(raw: bytes) -> dict[str, object]:
    """Return one CSV record (the row as a JSON object ``{header: cell}``), or raise BadRecord."""
    row = decode_json(raw)
    if not isinstance(row, dict):
        raise BadRecord("expected a CSV row as a JSON object")
    return row


def cell(row: Row, column: str) -> str | None:
    """Return the stripped text of ``column`` in ``row``, or None when the column is absent or blank."""
    value = row.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_count(value: str | None, *, field: str) -> int | None:
    """Parse a non-negative count with optional thousands separators ("1,234"); blank means None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    integral = _INTEGRAL_FLOAT.fullmatch(text)  # spreadsheets re-save 12 as "12.0"
    if integral:
        return int(integral.group(1))
    if not _COUNT.fullmatch(text):
        raise BadRecord(f"not a whole number: {value!r} (expected digits like 1234 or 1,234)", field=field)
    return int(re.sub(r"\D", "", text))


def parse_native_id(value: str | None, *, field: str) -> str:
    """Return a platform id as text, unwrapping the quotes spreadsheets and some datasets add.

    CrisisLex T6 writes ``'262596552399396864'`` and Excel users protect ids with a leading
    apostrophe; both are unwrapped. An id Excel already turned into ``1.23E+17`` has lost digits and
    cannot be repaired, so it is refused with advice instead of being stored wrong.
    """
    text = (value or "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    elif text.startswith("'"):
        text = text[1:].strip()
    if not text:
        raise BadRecord("the post id is empty", field=field)
    if _EXCEL_SCIENTIFIC.fullmatch(text):
        raise BadRecord(
            f"id {text!r} was rounded to scientific notation by a spreadsheet; re-export the file "
            "with the id column formatted as text",
            field=field,
        )
    return text


def parse_time(value: str | None, *, field: str, default_tz: tzinfo | None = None) -> datetime:
    """Parse a timestamp cell into aware UTC, or raise BadRecord.

    Accepts ISO-8601 with or without an offset ("2012-10-29 14:03:00", "2012-10-29T14:03:00Z"),
    Unix epoch seconds, milliseconds or microseconds (told apart by magnitude), RFC 2822 and Twitter's
    classic "Wed Oct 10 20:19:24 +0000 2018". A time without a zone is read in ``default_tz``
    (UTC when not given). Day-first or month-first dates such as "10/11/2012" are refused rather than
    guessed: the two readings differ by a month.
    """
    text = (value or "").strip()
    if not text:
        raise BadRecord("the time is empty", field=field)
    if _EPOCH.fullmatch(text):
        return _parse_epoch_guess(text, field=field)
    parsed = _parse_iso(text) or _parse_textual(text)
    if parsed is None:
        raise BadRecord(
            f"unrecognised time {text!r}; use ISO-8601 (2012-10-29 14:03:00 or with an offset) "
            "or Unix epoch seconds",
            field=field,
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz or UTC)
    return ensure_plausible(parsed, field=field)


def _parse_epoch_guess(text: str, *, field: str) -> datetime:
    # Seconds until the year 5138, then milliseconds, then microseconds: social-media times since 1990
    # fall in exactly one of these bands.
    magnitude = abs(float(text))
    if magnitude < 1e11:
        unit = "s"
    elif magnitude < 1e14:
        unit = "ms"
    else:
        unit = "us"
    return parse_epoch(text, field=field, unit=unit)


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None


def _parse_textual(text: str) -> datetime | None:
    try:  # Twitter's classic format, common in tweet CSV exports
        return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def split_list(value: str | None, *, strip_prefix: str = "") -> tuple[str, ...]:
    """Split a list cell on commas, semicolons or whitespace; drop blanks, duplicates and ``strip_prefix``."""
    if not value:
        return ()
    items: list[str] = []
    for part in _LIST_SPLIT.split(value):
        item = part.strip()
        if strip_prefix:
            item = item.lstrip(strip_prefix)
        if item and item not in items:
            items.append(item)
    return tuple(items)


def split_urls(*values: str | None) -> tuple[str, ...]:
    """Collect the http(s) URLs from one or more cells (each may hold several), without duplicates."""
    urls: list[str] = []
    for value in values:
        for part in split_list(value):
            if http_or_none(part) and part not in urls:
                urls.append(part)
    return tuple(urls)


def parse_langs(value: str | None) -> tuple[str, ...]:
    """Return declared language codes, lower-cased; "und"/"unknown" (undetermined) count as absent."""
    return tuple(
        code.lower()
        for code in split_list(value)
        if code.lower() not in {"und", "unknown", "none", "null", "n/a", "-"}
    )


def http_or_none(value: str | None) -> str | None:
    """Return a cell's text if it is an http(s) URL (any case), else None."""
    if value and value.lower().startswith(("http://", "https://")):
        return value
    return None


def strip_at(handle: str | None) -> str | None:
    """Return a handle cell without its leading ``@``; a cell of only ``@`` (or nothing) is None."""
    return handle.lstrip("@") or None if handle else None
