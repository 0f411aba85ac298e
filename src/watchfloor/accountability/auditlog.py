"""Recording audit events: the one chokepoint every audited operation goes through.

:func:`record` appends one event inside the caller's store transaction. It raises rather than lose an
event, and the caller lets the exception propagate, so the transaction — the operation itself — rolls
back: no data is read or changed without its audit event (fail closed). Call it as the last step
before the transaction commits: on PostgreSQL the append holds the audit lock until commit.

It lives here, below services, so that permission chokepoints (``access_*_or_raise``) can record
their denials too; :mod:`watchfloor.services.audit` re-exports it for use cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditDraft, AuditEvent, DetailValue, Outcome, check_draft
from watchfloor.store.ports import AuditTx

_REQUEST_ID: ContextVar[str | None] = ContextVar("watchfloor_request_id", default=None)


@contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """Within this block every event recorded without its own ``request_id`` gets this one.

    The web shell opens one scope per HTTP request, so each event joins the request that caused it
    (and a test can check that each request left exactly one event) without every service passing it.
    """
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


def current_request_id() -> str | None:
    """The request id of the enclosing :func:`request_scope`, if any."""
    return _REQUEST_ID.get()


def refs(kind: str, ids: Iterable[int | str]) -> tuple[str, ...]:
    """Object ids for an event: ``refs("post", [3, 5])`` -> ``("post:3", "post:5")``."""
    return tuple(f"{kind}:{i}" for i in ids)


def ids_digest(kind: str, ids: Iterable[int | str]) -> str:
    """SHA-256 (hex) of the object ids, one ``kind:id`` per line in the order given.

    For sets too large for one event (a 50,000-post export): record the count and this digest, keep
    the list with the export, and an auditor can later show which list the event meant.
    """
    return hashlib.sha256("\n".join(refs(kind, ids)).encode("utf-8")).hexdigest()


def record(
    tx: AuditTx,
    *,
    actor: Actor | str,
    action: str,
    at: datetime,
    object_ids: Iterable[str] = (),
    basis_id: int | None = None,
    purpose: str | None = None,
    outcome: Outcome = "ok",
    details: Mapping[str, DetailValue] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Append one audit event in ``tx`` and return it with its sequence number; raise if it cannot be.

    ``details`` holds ids, hashes, counts and the analyst's own words (a search query), never post
    text. Everything is validated before the append, so a malformed event fails the operation.
    """
    draft = AuditDraft(
        at=at,
        actor=actor.name if isinstance(actor, Actor) else actor,
        action=action,
        object_ids=tuple(object_ids),
        basis_id=basis_id,
        purpose=purpose,
        outcome=outcome,
        details=dict(details or {}),
        request_id=request_id if request_id is not None else _REQUEST_ID.get(),
    )
    check_draft(draft)
    return tx.append_audit(draft)
