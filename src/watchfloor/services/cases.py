"""Cases and legal holds: open, list, show, add alerts to and close cases; place and release holds.

A case gathers alerts under one legal basis, owned by the analyst who opened it; its file (tasks,
notes, manual account links: :mod:`watchfloor.services.casefile`; evidence:
:mod:`watchfloor.services.evidence`) is shown with it by :func:`show_case`. A legal hold keeps an
object out of the retention purge until it is released: a held case covers its alerts and their
posts, a held alert its posts. Every call records one audit event: ids, the case title and the hold
reason (the analyst's own words), never post text.
"""

from __future__ import annotations

from typing import cast, get_args

import msgspec

from watchfloor.domain.actor import Actor
from watchfloor.domain.casework import CaseLink, CaseNote, CaseTask, EvidenceItem
from watchfloor.domain.errors import Conflict, InputError, NotFound
from watchfloor.domain.oversight import Case, CaseStatus, Dissemination, HoldKind, LegalBasis, LegalHold
from watchfloor.services.access import access_alert_or_raise, authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = [
    "CaseSummary",
    "CaseView",
    "access_case_or_raise",
    "add_alert_to_case",
    "case_overview",
    "close_case",
    "list_cases",
    "list_holds",
    "open_case",
    "place_hold",
    "release_hold",
    "show_case",
]

HOLD_KINDS: tuple[str, ...] = get_args(HoldKind)
_MAX_TITLE = 300


class CaseView(msgspec.Struct, frozen=True, kw_only=True):
    """A case with the ids of its alerts, its active legal holds and its file."""

    case: Case
    alert_ids: list[int]
    holds: list[LegalHold]
    basis: LegalBasis | None = None
    tasks: list[CaseTask] = msgspec.field(default_factory=list)
    notes: list[CaseNote] = msgspec.field(default_factory=list)
    links: list[CaseLink] = msgspec.field(default_factory=list)
    evidence: list[EvidenceItem] = msgspec.field(default_factory=list)
    reports: list[Dissemination] = msgspec.field(default_factory=list)  # case reports sent for review


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A row of the cases list: the case and the title of its legal basis."""

    case: Case
    basis_title: str | None


def access_case_or_raise(tx: StoreTx, actor: Actor, case_id: int, operation: str) -> Case:
    """Case ``case_id`` if ``actor`` may perform ``operation`` on it (owner: the case's owner)."""
    case = tx.get_case(case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist (see `watchfloor cases list`)")
    authorize(actor, operation, owner=case.owner)
    return case


def _case_ref(case_id: int) -> str:
    return f"case:{case_id}"


def open_case(ctx: ServiceContext, *, actor: Actor, title: str, basis_id: int | None) -> Case:
    """Open a case owned by ``actor`` under legal basis ``basis_id`` (which must be in force)."""
    with (
        refusals_recorded(ctx, actor=actor, action="cases.open", details={"title": title}, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "cases.open")
        clean = " ".join(title.split())
        if not clean or len(clean) > _MAX_TITLE:
            raise InputError(f"a case needs a title of 1-{_MAX_TITLE} characters")
        now = ctx.clock.now()
        basis = require_basis(tx, basis_id, now=now, doing="opening a case")
        case = tx.create_case(title=clean, basis_id=basis.id, owner=actor.name, at=now)
        record(
            tx,
            actor=actor,
            action="cases.open",
            at=now,
            object_ids=(_case_ref(case.id),),
            basis_id=basis.id,
            details={"title": clean},
        )
        return case


def list_cases(ctx: ServiceContext, *, actor: Actor, status: CaseStatus | None = None) -> list[Case]:
    """Every case (or those open or closed), oldest first."""
    with (
        refusals_recorded(ctx, actor=actor, action="cases.read", details={"status": status}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "cases.read")
        found = tx.list_cases(status=status)
        objects, digest = object_refs("case", [c.id for c in found])
        details = {"status": status, "count": len(found), **digest}
        record(tx, actor=actor, action="cases.read", at=ctx.clock.now(), object_ids=objects, details=details)
        return found


def show_case(ctx: ServiceContext, *, actor: Actor, case_id: int) -> CaseView:
    """One case with its alerts and active holds."""
    ref = [_case_ref(case_id)]
    with (
        refusals_recorded(ctx, actor=actor, action="cases.read", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        case = access_case_or_raise(tx, actor, case_id, "cases.read")
        view = CaseView(
            case=case,
            alert_ids=tx.case_alert_ids(case_id),
            holds=[h for h in tx.list_holds() if h.kind == "case" and h.object_id == case_id],
            basis=tx.get_basis(case.basis_id),
            tasks=tx.case_tasks(case_id),
            notes=tx.case_notes(case_id),
            links=tx.case_links(case_id),
            evidence=tx.case_evidence(case_id),
            reports=[
                d
                for d in tx.list_disseminations(limit=1000)
                if d.kind == "report" and d.spec.get("case_id") == case_id
            ],
        )
        record(
            tx,
            actor=actor,
            action="cases.read",
            at=ctx.clock.now(),
            object_ids=ref,
            basis_id=case.basis_id,
            details={
                "alerts": len(view.alert_ids),
                "notes": len(view.notes),
                "evidence": len(view.evidence),
                "links": len(view.links),
            },
        )
        return view


def case_overview(
    ctx: ServiceContext, *, actor: Actor, status: CaseStatus | None = None
) -> list[CaseSummary]:
    """Every case (or those open or closed), newest first, with the titles of their legal bases."""
    with (
        refusals_recorded(ctx, actor=actor, action="cases.read", details={"status": status}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "cases.read")
        if status is not None and status not in ("open", "closed"):
            raise InputError(f"a case is open or closed, not {status!r}")
        found = list(reversed(tx.list_cases(status=status)))
        titles = {b.id: b.title for b in tx.list_bases()}
        objects, digest = object_refs("case", [c.id for c in found])
        details = {"status": status, "count": len(found), **digest}
        record(tx, actor=actor, action="cases.read", at=ctx.clock.now(), object_ids=objects, details=details)
        return [CaseSummary(case=c, basis_title=titles.get(c.basis_id)) for c in found]


def add_alert_to_case(ctx: ServiceContext, *, actor: Actor, case_id: int, alert_id: int) -> Case:
    """Add an alert to an open case (the case's owner, or a supervisor); adding it twice is a no-op."""
    refs = [_case_ref(case_id), f"alert:{alert_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="cases.work", object_ids=refs, details={"step": "add"}),
        ctx.store.transaction() as tx,
    ):
        case = access_case_or_raise(tx, actor, case_id, "cases.work")
        if case.status != "open":
            raise Conflict(f"case {case_id} is closed: alerts can only be added to an open case")
        access_alert_or_raise(tx, actor, alert_id, "alerts.read")
        now = ctx.clock.now()
        added = tx.add_case_alert(case_id, alert_id, by=actor.name, at=now)
        record(
            tx,
            actor=actor,
            action="cases.work",
            at=now,
            object_ids=refs,
            basis_id=case.basis_id,
            details={"step": "add", "added": added},
        )
        return case


def close_case(ctx: ServiceContext, *, actor: Actor, case_id: int, summary: str | None = None) -> Case:
    """Close an open case; its retention period starts now (see docs/operator-guide.md)."""
    ref = [_case_ref(case_id)]
    with (
        refusals_recorded(ctx, actor=actor, action="cases.work", object_ids=ref, details={"step": "close"}),
        ctx.store.transaction() as tx,
    ):
        access_case_or_raise(tx, actor, case_id, "cases.work")
        now = ctx.clock.now()
        closed = tx.close_case(case_id, at=now, summary=summary)
        if closed is None:
            raise Conflict(f"case {case_id} is already closed")
        record(
            tx,
            actor=actor,
            action="cases.work",
            at=now,
            object_ids=ref,
            basis_id=closed.basis_id,
            details={"step": "close", "alerts": len(tx.case_alert_ids(case_id))},
        )
        return closed


def _require_object(tx: StoreTx, kind: str, object_id: int) -> None:
    if kind == "case":
        exists = tx.get_case(object_id) is not None
    elif kind == "alert":
        exists = tx.get_alert(object_id) is not None
    else:
        exists = bool(tx.get_posts([object_id]))
    if not exists:
        raise NotFound(f"{kind} {object_id} does not exist: nothing to hold")


def place_hold(ctx: ServiceContext, *, actor: Actor, kind: str, object_id: int, reason: str) -> LegalHold:
    """Keep a case, alert or post (and what hangs on it) from retention purges until released."""
    details = {"kind": kind, "reason": reason}
    with (
        refusals_recorded(ctx, actor=actor, action="holds.manage", details=details),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "holds.manage")
        if kind not in HOLD_KINDS:
            raise InputError(f"a hold is on a {', '.join(HOLD_KINDS[:-1])} or {HOLD_KINDS[-1]}, not {kind!r}")
        clean = " ".join(reason.split())
        if not clean:
            raise InputError("a legal hold needs a reason (the matter, order or request it is for)")
        _require_object(tx, kind, object_id)
        now = ctx.clock.now()
        hold = tx.place_hold(
            kind=cast(HoldKind, kind), object_id=object_id, reason=clean, by=actor.name, at=now
        )
        record(
            tx,
            actor=actor,
            action="holds.manage",
            at=now,
            object_ids=(f"hold:{hold.id}", f"{kind}:{object_id}"),
            details={"step": "place", "kind": kind, "reason": clean},
        )
        return hold


def release_hold(ctx: ServiceContext, *, actor: Actor, hold_id: int) -> LegalHold:
    """Release a legal hold: what it kept becomes subject to retention again."""
    ref = [f"hold:{hold_id}"]
    with (
        refusals_recorded(
            ctx, actor=actor, action="holds.manage", object_ids=ref, details={"step": "release"}
        ),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "holds.manage")
        if tx.get_hold(hold_id) is None:
            raise NotFound(f"legal hold {hold_id} does not exist (see `watchfloor holds list`)")
        now = ctx.clock.now()
        hold = tx.release_hold(hold_id, by=actor.name, at=now)
        if hold is None:
            raise Conflict(f"legal hold {hold_id} was already released")
        record(
            tx,
            actor=actor,
            action="holds.manage",
            at=now,
            object_ids=(*ref, f"{hold.kind}:{hold.object_id}"),
            details={"step": "release", "kind": hold.kind},
        )
        return hold


def list_holds(ctx: ServiceContext, *, actor: Actor, include_released: bool = False) -> list[LegalHold]:
    """Active legal holds (and released ones, if asked), oldest first."""
    with (
        refusals_recorded(ctx, actor=actor, action="holds.manage", details={"step": "list"}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "holds.manage")
        holds = tx.list_holds(active_only=not include_released)
        objects, digest = object_refs("hold", [h.id for h in holds])
        record(
            tx,
            actor=actor,
            action="holds.manage",
            at=ctx.clock.now(),
            object_ids=objects,
            details={"step": "list", "count": len(holds), "include_released": include_released, **digest},
        )
        return holds
