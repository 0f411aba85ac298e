"""Legal bases: add, list, show and retire the records every rule, watch, case and search hangs on.

A legal basis says why monitoring is lawful: the authority, the purpose, and why it is necessary and
proportionate, with an owner, an optional review date and an optional expiry. Supervisors and admins
manage them; anyone may read them. When a basis expires or is retired, what hangs on it stops:
:func:`enforce_basis_expiry` pauses the rules (a scheduled job calls it), and a watch is in force only
while its basis is (``services/watches.py`` checks that whenever it decides).
"""

from __future__ import annotations

from datetime import datetime

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailScalar, DetailValue
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.domain.oversight import LegalBasis
from watchfloor.domain.rules import Rule
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = [
    "add_basis",
    "bases_not_in_force",
    "enforce_basis_expiry",
    "list_bases",
    "retire_basis",
    "show_basis",
]

_TEXT_LIMIT = 4000  # characters per field: a paragraph or two, not a document


def _text(name: str, value: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InputError(f"a legal basis needs a {name}: give --{name} with a short statement")
    if len(cleaned) > _TEXT_LIMIT:
        raise InputError(
            f"the {name} is {len(cleaned)} characters; keep it under {_TEXT_LIMIT} and refer to the "
            "full document instead"
        )
    return cleaned


def add_basis(
    ctx: ServiceContext,
    *,
    actor: Actor,
    title: str,
    authority: str,
    purpose: str,
    necessity: str,
    owner: str | None = None,
    review_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> LegalBasis:
    """Record a new legal basis (active at once); ``owner`` defaults to the actor."""
    asked: dict[str, DetailValue] = {"title": title, "owner": owner or actor.name}
    with (
        refusals_recorded(ctx, actor=actor, action="basis.add", details=asked),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "basis.manage")
        now = ctx.clock.now()
        fields = {
            "title": _text("title", title),
            "authority": _text("authority", authority),
            "purpose": _text("purpose", purpose),
            "necessity": _text("necessity", necessity),
        }
        if expires_at is not None and expires_at <= now:
            raise InputError(f"the expiry {expires_at:%Y-%m-%d} is not in the future")
        if review_at is not None and expires_at is not None and review_at > expires_at:
            raise InputError("the review date is after the expiry: review before the basis runs out")
        basis = tx.create_basis(
            **fields,
            owner=(owner or actor.name).strip() or actor.name,
            review_at=review_at,
            expires_at=expires_at,
            created_by=actor.name,
            at=now,
        )
        record(
            tx,
            actor=actor,
            action="basis.add",
            at=now,
            object_ids=(f"basis:{basis.id}",),
            basis_id=basis.id,
            details={
                "title": basis.title,
                "owner": basis.owner,
                "review_at": None if review_at is None else review_at.isoformat(),
                "expires_at": None if expires_at is None else expires_at.isoformat(),
            },
        )
        return basis


def list_bases(ctx: ServiceContext, *, actor: Actor, include_inactive: bool = True) -> list[LegalBasis]:
    """Every legal basis, oldest first (only those in force unless ``include_inactive``)."""
    with refusals_recorded(ctx, actor=actor, action="basis.list"), ctx.store.transaction() as tx:
        authorize(actor, "basis.read")
        now = ctx.clock.now()
        bases = tx.list_bases()
        if not include_inactive:
            bases = [b for b in bases if b.state(now) == "active"]
        record(tx, actor=actor, action="basis.list", at=now, details={"count": len(bases)})
        return bases


def _require(tx: StoreTx, basis_id: int) -> LegalBasis:
    basis = tx.get_basis(basis_id)
    if basis is None:
        raise NotFound(f"legal basis {basis_id} does not exist (see `watchfloor basis list`)")
    return basis


def show_basis(ctx: ServiceContext, *, actor: Actor, basis_id: int) -> LegalBasis:
    """One legal basis."""
    ref = [f"basis:{basis_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="basis.show", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "basis.read")
        basis = _require(tx, basis_id)
        record(tx, actor=actor, action="basis.show", at=ctx.clock.now(), object_ids=ref, basis_id=basis_id)
        return basis


def retire_basis(ctx: ServiceContext, *, actor: Actor, basis_id: int, reason: str) -> LegalBasis:
    """Retire a basis now, with a reason; what hangs on it stops (see the module docstring)."""
    ref = [f"basis:{basis_id}"]
    with (
        refusals_recorded(
            ctx, actor=actor, action="basis.retire", object_ids=ref, details={"reason": reason}
        ),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "basis.manage")
        if not reason.strip():
            raise InputError("retiring a legal basis needs a reason: give --reason")
        before = _require(tx, basis_id)
        if before.retired_at is not None:
            raise InputError(f"legal basis {basis_id} was already retired on {before.retired_at:%Y-%m-%d}")
        now = ctx.clock.now()
        basis = tx.retire_basis(basis_id, by=actor.name, reason=reason.strip(), at=now)
        assert basis is not None
        record(
            tx,
            actor=actor,
            action="basis.retire",
            at=now,
            object_ids=ref,
            basis_id=basis_id,
            details={"reason": basis.retired_reason},
        )
        return basis


def bases_not_in_force(tx: StoreTx, now: datetime) -> frozenset[int]:
    """Ids of the bases that are expired or retired at ``now``."""
    return frozenset(b.id for b in tx.list_bases() if b.state(now) != "active")


def enforce_basis_expiry(ctx: ServiceContext, *, actor: Actor) -> list[Rule]:
    """Pause every active rule whose current version's basis is expired or retired; return them.

    Watches need no sweep: a watch is in force only while its basis is, checked every time. One audit
    event (``basis.enforce``) names the paused rules, even when there were none, so an auditor sees the
    job ran.
    """
    with refusals_recorded(ctx, actor=actor, action="basis.enforce"), ctx.store.transaction() as tx:
        authorize(actor, "basis.enforce")
        now = ctx.clock.now()
        stopped = bases_not_in_force(tx, now)
        paused: list[Rule] = []
        for rule in tx.list_rules(status="active"):
            if rule.current.basis_id is not None and rule.current.basis_id in stopped:
                updated = tx.set_rule_status(rule.id, "paused", at=now)
                if updated is not None:
                    paused.append(updated)
        object_ids, digest = object_refs("rule", [r.id for r in paused])
        bases: list[DetailScalar] = []
        bases.extend(sorted({r.current.basis_id or 0 for r in paused}))
        record(
            tx,
            actor=actor,
            action="basis.enforce",
            at=now,
            object_ids=object_ids,
            details={
                "paused": len(paused),
                "bases": bases,
                **digest,
            },
        )
        return paused
