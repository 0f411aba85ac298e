"""How use cases record their audit events: one event per call, whatever the outcome.

A use case calls :func:`record` as the last step inside its own transaction, so the event commits with
the operation or not at all (fail closed; on PostgreSQL the append holds the audit lock until commit,
hence last). It wraps itself in :func:`refusals_recorded`, which records a refused or rejected call
with :func:`record_failure` after its transaction rolled back. Events name their objects as
``kind:id`` (:func:`object_refs`), and hold ids, hashes, counts and the analyst's own words (a search
or rule query, a note), never post text: docs/auditor-guide.md says what each action records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from watchfloor.accountability.auditlog import ids_digest, record, refs
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditEvent, DetailValue, Outcome
from watchfloor.domain.errors import (
    Conflict,
    InputError,
    NotFound,
    PermissionDenied,
    QuerySyntaxError,
    WatchfloorError,
)
from watchfloor.services.context import ServiceContext

__all__ = [
    "OBJECTS_PER_EVENT",
    "Attempt",
    "failure_details",
    "ids_digest",
    "object_refs",
    "record",
    "record_failure",
    "refs",
    "refusals_recorded",
]

OBJECTS_PER_EVENT = 100  # beyond this many, an event names its objects by a digest of their ids
_CLIP = 500  # characters of any text a failure event repeats (the failure may be that it was too long)


def object_refs(kind: str, ids: Sequence[int | str]) -> tuple[tuple[str, ...], dict[str, DetailValue]]:
    """``(object_ids, details)`` naming ``ids`` in an event: each id, up to :data:`OBJECTS_PER_EVENT`;
    beyond that none, and ``{"<kind>_ids_sha256": digest}`` of the whole list (see :func:`ids_digest`).

    The caller records the count itself. A digest proves which list an event meant only to someone who
    has the list (an export file, a saved result); the log cannot hold ten thousand ids per event.
    """
    if len(ids) <= OBJECTS_PER_EVENT:
        return refs(kind, ids), {}
    return (), {f"{kind}_ids_sha256": ids_digest(kind, ids)}


def record_failure(
    ctx: ServiceContext,
    *,
    actor: Actor | str,
    action: str,
    outcome: Outcome,
    object_ids: Sequence[str] = (),
    basis_id: int | None = None,
    purpose: str | None = None,
    details: Mapping[str, DetailValue] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Record, in a transaction of its own, an operation that was refused or failed.

    The operation's own transaction rolled back, taking its event with it; failed authorisation and
    errors must still be logged (ASVS 16.3.2, CJIS §5.4.1.1), so the shell or chokepoint that caught
    the failure calls this with outcome ``"denied"`` or ``"error"``.
    """
    if outcome == "ok":
        raise ValueError("record_failure is for refused or failed operations; use record inside one")
    with ctx.store.transaction() as tx:
        return record(
            tx,
            actor=actor,
            action=action,
            at=ctx.clock.now(),
            object_ids=object_ids,
            basis_id=basis_id,
            purpose=purpose,
            outcome=outcome,
            details=details,
            request_id=request_id,
        )


@dataclass
class Attempt:
    """What a failure event will name; a use case adds what it learns as it goes (an import's id)."""

    object_ids: list[str] = field(default_factory=list)
    details: dict[str, DetailValue] = field(default_factory=dict)


_DENIED = (NotFound, Conflict, PermissionDenied)
_REJECTED = (InputError, QuerySyntaxError)
_ERROR_CODES: tuple[tuple[type[WatchfloorError], str], ...] = (
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (PermissionDenied, "permission_denied"),
    (QuerySyntaxError, "query_syntax"),
    (InputError, "input"),
)


def _clip(value: DetailValue) -> DetailValue:
    return value[:_CLIP] if isinstance(value, str) else value


def failure_details(details: Mapping[str, DetailValue], exc: Exception) -> dict[str, DetailValue]:
    """``details`` (strings clipped) plus ``error`` (a short code) and ``reason`` (the message)."""
    reason = f"{exc.message} at column {exc.column}" if isinstance(exc, QuerySyntaxError) else str(exc)
    code = next((c for kind, c in _ERROR_CODES if isinstance(exc, kind)), None)
    if code is None:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()  # StoreError -> store_error
    clipped = {key: _clip(value) for key, value in details.items()}
    return {**clipped, "error": code, "reason": _clip(reason)}


@contextmanager
def refusals_recorded(
    ctx: ServiceContext,
    *,
    actor: Actor,
    action: str,
    object_ids: Sequence[str] = (),
    details: Mapping[str, DetailValue] | None = None,
    basis_id: int | None = None,
) -> Iterator[Attempt]:
    """Run a use case; if it is refused or rejects its input, record that (own transaction) and re-raise.

    Refusals (NotFound, Conflict, PermissionDenied) are recorded with outcome ``"denied"``, rejected
    input (InputError, QuerySyntaxError) with ``"error"``, both with ``error`` (a code) and ``reason``
    (the message) added to the details. The use case's transaction has rolled back by then, its own
    event with it, so each call leaves exactly one event. Store and audit-write failures are not
    recorded here: the log could not take them either, and they fail the request anyway (fail closed).
    Text repeated in a failure event is clipped to 500 characters, so that a call refused because its
    event would be too large (an enormous query) can still be recorded.
    """
    attempt = Attempt(list(object_ids), dict(details or {}))
    try:
        yield attempt
    except (*_DENIED, *_REJECTED) as exc:
        record_failure(
            ctx,
            actor=actor,
            action=action,
            outcome="denied" if isinstance(exc, _DENIED) else "error",
            object_ids=attempt.object_ids,
            basis_id=basis_id,
            details=failure_details(attempt.details, exc),
        )
        raise
