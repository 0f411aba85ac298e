"""Alerts in the triage queue, their lifecycle, and shift handover notes.

An alert is a lead, not a verdict: a rule matched a post (or, for volume rules, a burst of posts).
Posts in the same near-duplicate cluster group under one alert with a count. Every transition is
recorded with who and when; at most one analyst holds a claim at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from watchfloor.domain.errors import InputError
from watchfloor.domain.rules import SEVERITIES, Severity

SEVERITY_ORDER = SEVERITIES  # most urgent first

AlertKind = Literal["post", "burst"]
AlertStatus = Literal["open", "claimed", "dismissed", "escalated", "in_case"]
ACTIVE_STATUSES: tuple[AlertStatus, ...] = ("open", "claimed")
Disposition = Literal["false_positive", "duplicate", "out_of_scope", "not_actionable", "resolved"]
DISPOSITIONS: tuple[Disposition, ...] = (
    "false_positive",
    "duplicate",
    "out_of_scope",
    "not_actionable",
    "resolved",
)


def as_disposition(value: str) -> Disposition:
    """``value`` as a Disposition, or InputError naming the allowed values."""
    for disposition in DISPOSITIONS:
        if value == disposition:
            return disposition
    raise InputError(f"disposition must be one of {', '.join(DISPOSITIONS)}, not {value!r}")


AlertAction = Literal[
    "raised",
    "grouped",
    "claimed",
    "released",
    "dismissed",
    "escalated",
    "reopened",
    "breached",
    "added_to_case",
]


class AlertDraft(msgspec.Struct, frozen=True, kw_only=True):
    """An alert about to be raised (the store assigns the id, or groups it into an existing alert)."""

    kind: AlertKind
    rule_id: int
    rule_version: int
    severity: Severity
    created_at: datetime
    deadline: datetime
    post_id: int | None = None  # the post that fired (first post of a group / sample of a burst)
    cluster_id: int | None = None  # near-duplicate cluster of that post, for grouping
    spans: tuple[tuple[int, int], ...] = ()
    fields: tuple[str, ...] = ()
    window_start: datetime | None = None  # burst alerts: the window the posts fell in
    window_end: datetime | None = None
    post_count: int = 1


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert as stored, with its current state."""

    id: int
    kind: AlertKind
    rule_id: int
    rule_version: int
    severity: Severity
    status: AlertStatus
    created_at: datetime
    deadline: datetime
    updated_at: datetime
    post_id: int | None = None
    cluster_id: int | None = None
    post_count: int = 1
    spans: tuple[tuple[int, int], ...] = ()
    fields: tuple[str, ...] = ()
    assignee: str | None = None
    disposition: Disposition | None = None
    breached_at: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded step in an alert's life."""

    alert_id: int
    at: datetime
    actor: str
    action: AlertAction
    from_status: AlertStatus | None = None
    to_status: AlertStatus | None = None
    disposition: Disposition | None = None
    note: str | None = None


class HandoverNote(msgspec.Struct, frozen=True, kw_only=True):
    """Free text one shift leaves for the next."""

    id: int
    at: datetime
    author: str
    text: str
