"""Audit events and their leaf encoding: who did what to which objects, why, with what outcome, when.

Every service call that reads or changes protected data records one event in the same transaction. The
store gives each event the next sequence number (its leaf index, counted from 0) and keeps its *leaf*:
the canonical bytes defined here, which become a leaf of the RFC 9162 Merkle tree that checkpoints
sign. docs/auditor-guide.md specifies the encoding byte for byte because an outside verifier
re-implements it; change it only together with a new ``v``.

Events hold ids, hashes, counts and the analyst's own words (a search query, a purpose), never post
text: retention purges delete posts, and a leaf cannot be removed without breaking the tree.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

import msgspec

from watchfloor.domain.errors import InputError

LEAF_VERSION = 1
MAX_LEAF_BYTES = 16_384  # a leaf is metadata; anything bigger is a bug or an abuse
MAX_TEXT = 4_096  # characters in one string (purpose, a search query in details)
MAX_NAME = 200  # characters in an actor name or request id
_INT_LIMIT = 1 << 63  # integers must fit a signed 64-bit column in any verifier's language

Outcome = Literal["ok", "denied", "error"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "denied", "error")
DetailScalar = str | int | bool | None
DetailValue = DetailScalar | list[DetailScalar]

_ACTION = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")  # "posts.search", "alerts.claim"
_OBJECT_ID = re.compile(r"[a-z][a-z0-9_]*:[!-~]{1,200}")  # "post:123", "rule:7": printable ASCII id
_DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Names that would invite copying post content into the log (the retention argument above).
_CONTENT_KEYS = frozenset({"text", "post_text", "body", "content", "caption", "transcript"})


class AuditDraft(msgspec.Struct, frozen=True, kw_only=True):
    """An event about to be appended: everything but its sequence number, which the store assigns."""

    at: datetime
    actor: str
    action: str
    object_ids: tuple[str, ...] = ()
    basis_id: int | None = None  # the legal basis the work was done under
    purpose: str | None = None  # the analyst's stated purpose or justification
    outcome: Outcome = "ok"
    details: Mapping[str, DetailValue] = msgspec.field(default_factory=dict)
    request_id: str | None = None  # joins a web request to its event

    def sequenced(self, seq: int) -> AuditEvent:
        """This draft as the event at position ``seq`` of the log."""
        return AuditEvent(
            seq=seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            object_ids=self.object_ids,
            basis_id=self.basis_id,
            purpose=self.purpose,
            outcome=self.outcome,
            details=dict(self.details),
            request_id=self.request_id,
        )


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the log holds it; ``seq`` is its leaf index in the Merkle tree (from 0)."""

    seq: int
    at: datetime
    actor: str
    action: str
    object_ids: tuple[str, ...] = ()
    basis_id: int | None = None
    purpose: str | None = None
    outcome: Outcome = "ok"
    details: dict[str, DetailValue] = msgspec.field(default_factory=dict)
    request_id: str | None = None


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A signed tree head as the log keeps it.

    ``frontier`` holds the roots of the perfect subtrees that make up the tree at ``size`` (largest
    first, one per set bit of ``size``): enough to extend the tree with later leaves without re-reading
    the earlier ones. ``note`` is the C2SP checkpoint text with its signature line.
    """

    size: int
    root: bytes
    frontier: tuple[bytes, ...]
    note: str
    signed_at: datetime


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def _check_text(text: str, what: str, limit: int = MAX_TEXT) -> None:
    if len(text) > limit:
        raise InputError(f"{what} is too long ({len(text):,} characters; at most {limit:,})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{what} is not valid Unicode text (lone surrogate)") from None


def _check_value(key: str, value: object) -> None:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list):
                raise TypeError(f"audit detail {key!r}: lists may hold only strings, integers and booleans")
            _check_value(key, item)
    elif isinstance(value, str):
        _check_text(value, f"audit detail {key!r}")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise TypeError(f"audit detail {key!r}: integer out of 64-bit range")
    else:
        raise TypeError(
            f"audit detail {key!r}: {type(value).__name__} is not allowed "
            "(strings, integers, booleans, null, or lists of these)"
        )


def check_draft(draft: AuditDraft) -> None:
    """Raise if the draft cannot become a leaf: bad names, over-long text, or details that could hold posts.

    ``InputError`` for what a user typed (an over-long purpose or query, a control character in a user
    name); ``TypeError``/``ValueError`` for a service passing malformed values (a bug).
    """
    if draft.at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware UTC")
    if not draft.actor or len(draft.actor) > MAX_NAME or _has_control(draft.actor):
        raise InputError(
            f"user name {draft.actor!r} cannot be recorded: it must be 1-{MAX_NAME} characters "
            "without control characters"
        )
    _check_text(draft.actor, "user name", MAX_NAME)
    if not _ACTION.fullmatch(draft.action):
        raise ValueError(f"audit action {draft.action!r} must look like 'area.verb', e.g. 'posts.search'")
    for object_id in draft.object_ids:
        if not _OBJECT_ID.fullmatch(object_id):
            raise ValueError(f"audit object id {object_id!r} must look like 'kind:id', e.g. 'post:123'")
    if draft.outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {', '.join(OUTCOMES)}, not {draft.outcome!r}")
    if draft.basis_id is not None and not 0 < draft.basis_id < _INT_LIMIT:
        raise ValueError(f"legal basis id {draft.basis_id} is not a valid id")
    if draft.purpose is not None:
        _check_text(draft.purpose, "purpose")
    if draft.request_id is not None:
        _check_text(draft.request_id, "request id", MAX_NAME)
    for key, value in draft.details.items():
        if not isinstance(key, str) or not _DETAIL_KEY.fullmatch(key):
            raise ValueError(f"audit detail key {key!r} must be a lower_case identifier")
        if key in _CONTENT_KEYS:
            raise ValueError(f"audit detail {key!r} looks like post content; record ids or hashes instead")
        _check_value(key, value)


def format_time(at: datetime) -> str:
    """``2026-11-30T12:00:00.000000Z``: UTC, always six fractional digits (the leaf's ``at``)."""
    utc = at.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{utc.microsecond:06d}Z"


def encode_leaf(event: AuditEvent) -> bytes:
    """The canonical leaf bytes of an event: JSON, keys sorted, no spaces, every byte printable ASCII.

    ``ensure_ascii`` escapes every character outside U+0020..U+007E (so CR, LF, ESC, NUL and all
    non-ASCII text appear as ``\\uXXXX`` or ``\\n``-style escapes): a leaf can never inject a line or
    a terminal sequence into whatever displays it, and there is exactly one encoding of each event.
    """
    draft = AuditDraft(
        at=event.at,
        actor=event.actor,
        action=event.action,
        object_ids=event.object_ids,
        basis_id=event.basis_id,
        purpose=event.purpose,
        outcome=event.outcome,
        details=event.details,
        request_id=event.request_id,
    )
    check_draft(draft)
    if not 0 <= event.seq < _INT_LIMIT:
        raise ValueError(f"audit sequence number {event.seq} out of range")
    document = {
        "v": LEAF_VERSION,
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "objects": list(event.object_ids),
        "basis_id": event.basis_id,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "details": dict(event.details),
        "request_id": event.request_id,
    }
    leaf = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")
    if len(leaf) > MAX_LEAF_BYTES:
        raise InputError(
            f"the audit record for {event.action} would be {len(leaf):,} bytes (at most {MAX_LEAF_BYTES:,}); "
            "shorten the query or purpose"
        )
    return leaf


def decode_leaf(leaf: bytes) -> AuditEvent:
    """The event a leaf encodes; ``ValueError`` if it is not a version-1 leaf."""
    try:
        document = json.loads(leaf.decode("ascii"))
        if document.get("v") != LEAF_VERSION:
            raise ValueError(f"unknown leaf version {document.get('v')!r}")
        at = datetime.strptime(document["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return AuditEvent(
            seq=int(document["seq"]),
            at=at,
            actor=str(document["actor"]),
            action=str(document["action"]),
            object_ids=tuple(document["objects"]),
            basis_id=document["basis_id"],
            purpose=document["purpose"],
            outcome=document["outcome"],
            details=dict(document["details"]),
            request_id=document["request_id"],
        )
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an audit leaf: {exc}") from None
