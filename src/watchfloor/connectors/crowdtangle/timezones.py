"""Resolve the time-zone abbreviations CrowdTangle writes ("2021-07-06 16:45:20 EDT") to UTC offsets.

An abbreviation is not a time zone: "IST" is India, Israel or Ireland, "AST" is Atlantic or Arabia.
CrowdTangle formatted times in the dashboard's zone and wrote only the abbreviation, so the table
below is explicit and anything not in it is refused with the abbreviation named (4CAT drops the
abbreviation and reads the time as UTC, which shifts every post by hours).

Decisions: CST, MST and PST are read as the North American zones and BST as British Summer Time,
because CrowdTangle's users and dashboards were overwhelmingly set to those; an export made with a
dashboard in Shanghai (CST), Manila (PST) or Dhaka (BST) time would be misread by hours, and the
file itself cannot tell. Numeric abbreviations ("+08", "-0330"), which the tz database prints for
zones without a name, are exact.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from watchfloor.domain.errors import BadRecord


def _offset(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(timedelta(hours=hours, minutes=sign * minutes))


# Abbreviation -> fixed UTC offset, as the tz database prints them.
ABBREVIATIONS: dict[str, timezone] = {
    "UTC": _offset(0),
    "GMT": _offset(0),
    "Z": _offset(0),
    # North America
    "EST": _offset(-5),
    "EDT": _offset(-4),
    "CST": _offset(-6),
    "CDT": _offset(-5),
    "MST": _offset(-7),
    "MDT": _offset(-6),
    "PST": _offset(-8),
    "PDT": _offset(-7),
    "AKST": _offset(-9),
    "AKDT": _offset(-8),
    "HST": _offset(-10),
    "HDT": _offset(-9),
    "ADT": _offset(-3),
    "NST": _offset(-3, 30),
    "NDT": _offset(-2, 30),
    # Europe and Africa
    "WET": _offset(0),
    "WEST": _offset(1),
    "BST": _offset(1),
    "CET": _offset(1),
    "CEST": _offset(2),
    "MET": _offset(1),
    "MEST": _offset(2),
    "EET": _offset(2),
    "EEST": _offset(3),
    "MSK": _offset(3),
    "WAT": _offset(1),
    "CAT": _offset(2),
    "SAST": _offset(2),
    "EAT": _offset(3),
    # Asia and Oceania
    "PKT": _offset(5),
    "WIB": _offset(7),
    "WITA": _offset(8),
    "WIT": _offset(9),
    "HKT": _offset(8),
    "JST": _offset(9),
    "KST": _offset(9),
    "AWST": _offset(8),
    "ACST": _offset(9, 30),
    "ACDT": _offset(10, 30),
    "AEST": _offset(10),
    "AEDT": _offset(11),
    "NZST": _offset(12),
    "NZDT": _offset(13),
    "CHST": _offset(10),
}

# Abbreviations in real use for more than one offset: refused, with the candidates in the reason.
AMBIGUOUS: dict[str, str] = {
    "IST": "India +05:30, Israel +02:00 or Ireland +01:00",
    "AST": "Atlantic -04:00 or Arabia +03:00",
    "SST": "Samoa -11:00 or Singapore +08:00",
    "GST": "Gulf +04:00 or South Georgia -02:00",
    "ECT": "Ecuador -05:00 or Eastern Caribbean -04:00",
}

# Abbreviations whose offset changed within the years CrowdTangle covers: read from the tz database
# at the post's own time (Moscow kept UTC+4 as "MSK" from March 2011 to October 2014).
_HISTORICAL_ZONES = {"MSK": "Europe/Moscow"}

_NUMERIC = re.compile(r"(?:UTC|GMT)?([+-])(\d{2})(?::?(\d{2}))?")


def localize(local: datetime, abbreviation: str, *, field: str) -> datetime:
    """Attach the zone an abbreviation names to a naive local time, or raise BadRecord naming it."""
    key = abbreviation.strip().upper()
    if key in _HISTORICAL_ZONES:
        zone = ZoneInfo(_HISTORICAL_ZONES[key])
        for fold in (0, 1):
            candidate = local.replace(tzinfo=zone, fold=fold)
            if candidate.tzname() == key:
                return candidate
    return local.replace(tzinfo=resolve_abbreviation(abbreviation, field=field))


def resolve_abbreviation(abbreviation: str, *, field: str) -> timezone:
    """Return the fixed UTC offset for a time-zone abbreviation, or raise BadRecord naming it."""
    key = abbreviation.strip().upper()
    if key in ABBREVIATIONS:
        return ABBREVIATIONS[key]
    numeric = _NUMERIC.fullmatch(key)
    if numeric:
        sign, hours, minutes = numeric.group(1), int(numeric.group(2)), int(numeric.group(3) or 0)
        if hours <= 14 and minutes < 60:
            delta = timedelta(hours=hours, minutes=minutes)
            return timezone(-delta if sign == "-" else delta)
    if key in AMBIGUOUS:
        raise BadRecord(
            f"time-zone abbreviation {abbreviation!r} is ambiguous ({AMBIGUOUS[key]}); convert the "
            "times to ISO-8601 with an offset, or re-export with the dashboard set to UTC",
            field=field,
        )
    raise BadRecord(
        f"unknown time-zone abbreviation {abbreviation!r}; re-export with the dashboard set to UTC "
        "or convert the times to ISO-8601 with an offset",
        field=field,
    )
