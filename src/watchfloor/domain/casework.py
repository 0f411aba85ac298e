"""Casework records: tasks, typed notes, manual account links, evidence items and their custody.

An evidence item is a write-once capture of one post inside a case: its parts (the raw payload, a
rendered snapshot, later media files) are stored by SHA-256 and never changed; what happens to it
afterwards is a chain of :class:`CustodyEvent`. Notes are typed so that an analyst's assessment is
never mistaken for a captured fact. Times are aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

NoteKind = Literal["fact", "assessment"]
CustodyAction = Literal["captured", "viewed", "exported", "released", "deleted"]
NOTE_KINDS: tuple[NoteKind, ...] = ("fact", "assessment")


class CaseTask(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    case_id: int
    text: str
    done: bool
    created_by: str
    created_at: datetime
    done_by: str | None = None
    done_at: datetime | None = None


class CaseNote(msgspec.Struct, frozen=True, kw_only=True):
    """A fact recorded in a case, or an analyst's assessment (labelled as such everywhere it is shown)."""

    id: int
    case_id: int
    kind: NoteKind
    body: str
    author: str
    at: datetime


class CaseLink(msgspec.Struct, frozen=True, kw_only=True):
    """An account an analyst linked to a case by hand, with the reason; never made automatically."""

    id: int
    case_id: int
    platform: str | None
    handle: str  # folded
    reason: str
    linked_by: str
    at: datetime


class EvidencePart(msgspec.Struct, frozen=True, kw_only=True):
    """One stored file of an evidence item, named by the SHA-256 of its bytes."""

    name: str
    media_type: str
    sha256: str
    size: int


class EvidenceItem(msgspec.Struct, frozen=True, kw_only=True):
    """A capture of one post: what, when, by whom, under which legal basis, with which tool."""

    id: int
    case_id: int
    post_id: int
    platform: str
    native_id: str
    url: str | None
    captured_at: datetime
    captured_by: str
    basis_id: int
    tool_version: str
    parts: tuple[EvidencePart, ...] = ()


class CustodyEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    evidence_id: int
    action: CustodyAction
    actor: str
    at: datetime
    note: str | None = None
