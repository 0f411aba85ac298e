"""Oversight records: legal bases, named-account watches, cases, legal holds, dissemination reviews.

Each is a plain record; the rules about who may create, approve or end them live in
``accountability/policy.py`` and the services. Times are aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

WatchStatus = Literal["requested", "approved", "denied", "cancelled", "expired"]
CaseStatus = Literal["open", "closed"]
HoldKind = Literal["case", "alert", "post"]
DisseminationKind = Literal["export", "report"]
DisseminationStatus = Literal["pending", "approved", "rejected", "released"]

DEFAULT_WATCH_DAYS = 90


class LegalBasis(msgspec.Struct, frozen=True, kw_only=True):
    """Why monitoring is lawful: the authority, the purpose, and why it is necessary and proportionate."""

    id: int
    title: str
    authority: str
    purpose: str
    necessity: str
    owner: str
    review_at: datetime | None = None
    expires_at: datetime | None = None
    created_at: datetime
    created_by: str
    retired_at: datetime | None = None
    retired_by: str | None = None
    retired_reason: str | None = None

    def state(self, now: datetime) -> Literal["active", "expired", "retired"]:
        if self.retired_at is not None and self.retired_at <= now:
            return "retired"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class Watch(msgspec.Struct, frozen=True, kw_only=True):
    """An authorisation to monitor one named account (a RIPA-style directed-surveillance record)."""

    id: int
    subject: str  # folded handle
    platform: str | None = None
    basis_id: int
    reason: str
    requester: str
    requested_at: datetime
    status: WatchStatus  # as stored; see :meth:`state`
    days: int
    approver: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    renewal_of: int | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None

    def state(self, now: datetime) -> WatchStatus:
        """The status at ``now``: an approved watch past its expiry is ``"expired"``."""
        if self.status == "approved" and self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return self.status

    def in_force(self, now: datetime) -> bool:
        return self.state(now) == "approved" and (self.starts_at is None or self.starts_at <= now)


class Case(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    title: str
    basis_id: int
    owner: str
    status: CaseStatus
    opened_at: datetime
    closed_at: datetime | None = None
    summary: str | None = None
    due_at: datetime | None = None  # the case's deadline, if one was set


class LegalHold(msgspec.Struct, frozen=True, kw_only=True):
    """Keeps an object (and what hangs on it) from retention purges until released."""

    id: int
    kind: HoldKind
    object_id: int
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None


class Dissemination(msgspec.Struct, frozen=True, kw_only=True):
    """An export or report on its way out: approved by a reviewer who is not its author, bound to a hash."""

    id: int
    kind: DisseminationKind
    title: str
    author: str
    basis_id: int
    recipient: str
    spec: dict[str, str | int | None]
    content_sha256: str
    item_count: int
    status: DisseminationStatus
    created_at: datetime
    reviewer: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    released_at: datetime | None = None


class DisseminationItem(msgspec.Struct, frozen=True, kw_only=True):
    """One item (a post) inside reviewed content: where its exact bytes are, so each can be hashed."""

    post_id: int | None = None
    platform: str | None = None
    native_id: str | None = None
    offset: int  # byte offset of the item's line or row in the content
    length: int  # its length in bytes, newline included


class RetentionCounts(msgspec.Struct, kw_only=True):
    """What one retention purge removed (or, in a dry run, would remove), by retention class."""

    cases: int = 0  # closed cases past closure + the configured period
    alerts: int = 0  # alerts in no case, past the alert period
    posts_unmatched: int = 0  # posts no alert covered, past the unmatched period
    posts_of_expired_alerts: int = 0  # posts only purged alerts covered (and past the unmatched period)
    posts_deleted_by_platform: int = 0  # posts their platform reported deleted
    deleted_but_held: int = 0  # platform-deleted posts kept because a legal hold covers them
    case_ids: list[int] = msgspec.field(default_factory=list)
    alert_ids: list[int] = msgspec.field(default_factory=list)
    post_ids: list[int] = msgspec.field(default_factory=list)
    media_sha256s: list[str] = msgspec.field(default_factory=list)  # stored media files nothing uses any more
    partitions_dropped: list[str] = msgspec.field(default_factory=list)  # PostgreSQL: empty expired months

    @property
    def posts(self) -> int:
        return self.posts_unmatched + self.posts_of_expired_alerts + self.posts_deleted_by_platform
