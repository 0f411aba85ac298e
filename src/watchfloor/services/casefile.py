"""A case's file: its deadline, tasks, typed notes and accounts linked to it by hand.

Each change is one call, by the case's owner (or a supervisor), on an open case, recorded as one
``cases.work`` event whose ``step`` says what changed. Notes are typed: a *fact* is something
captured or observed, an *assessment* is the analyst's judgement, and the two are labelled apart on
every page and in the report. Linking an account to a case is always a person's decision with a
reason (DESIGN.md: no automatic linking of accounts); the event carries the reason and a SHA-256 of
the folded handle, as watches do, not the handle. Note and task texts are recorded by their SHA-256
and length only: they may quote posts.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.casework import NOTE_KINDS, CaseLink, CaseNote, CaseTask
from watchfloor.domain.errors import Conflict, InputError, NotFound
from watchfloor.domain.oversight import Case
from watchfloor.query.fields import ValueProblem, normalise_value
from watchfloor.services.cases import access_case_or_raise
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = [
    "add_note",
    "add_task",
    "complete_task",
    "link_account",
    "parse_due",
    "set_deadline",
]

_MAX_NOTE = 20_000
_MAX_TASK = 500
_MAX_REASON = 2_000


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _open_case(tx: StoreTx, actor: Actor, case_id: int) -> Case:
    case = access_case_or_raise(tx, actor, case_id, "cases.work")
    if case.status != "open":
        raise Conflict(f"case {case_id} is closed: its file can no longer change")
    return case


def _text(value: str, what: str, limit: int, *, keep_lines: bool = False) -> str:
    clean = value.strip() if keep_lines else " ".join(value.split())
    if not clean or len(clean) > limit:
        raise InputError(f"{what} must be 1-{limit:,} characters")
    return clean


def parse_due(text: str | None) -> datetime | None:
    """A deadline typed ``2026-12-24`` (that day's end, UTC) or ``2026-12-24T18:00`` (UTC); blank: none."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    try:
        if len(raw) == 10:
            return datetime.combine(datetime.fromisoformat(raw).date(), time(23, 59), tzinfo=UTC)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{raw!r} is not a date: write 2026-12-24 or 2026-12-24T18:00 (UTC)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _work(
    ctx: ServiceContext,
    tx: StoreTx,
    actor: Actor,
    case: Case,
    step: str,
    refs: list[str],
    **details: DetailValue,
) -> None:
    record(
        tx,
        actor=actor,
        action="cases.work",
        at=ctx.clock.now(),
        object_ids=refs,
        basis_id=case.basis_id,
        details={"step": step, **details},
    )


def set_deadline(ctx: ServiceContext, *, actor: Actor, case_id: int, due: datetime | None) -> Case:
    """Set (or, with ``None``, clear) an open case's deadline."""
    ref = [f"case:{case_id}"]
    when = None if due is None else due.astimezone(UTC).isoformat()
    details: dict[str, DetailValue] = {"step": "deadline", "due": when}
    with (
        refusals_recorded(ctx, actor=actor, action="cases.work", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        _open_case(tx, actor, case_id)
        changed = tx.set_case_due(case_id, due=due)
        if changed is None:
            raise Conflict(f"case {case_id} was closed meanwhile")
        _work(ctx, tx, actor, changed, "deadline", ref, due=when)
        return changed


def add_task(ctx: ServiceContext, *, actor: Actor, case_id: int, text: str) -> CaseTask:
    """Add a task (something still to do) to an open case."""
    ref = [f"case:{case_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="cases.work", object_ids=ref, details={"step": "task"}),
        ctx.store.transaction() as tx,
    ):
        case = _open_case(tx, actor, case_id)
        clean = _text(text, "a task", _MAX_TASK)
        task = tx.add_case_task(case_id, text=clean, by=actor.name, at=ctx.clock.now())
        _work(ctx, tx, actor, case, "task", [*ref, f"task:{task.id}"], sha256=_sha(clean), chars=len(clean))
        return task


def complete_task(ctx: ServiceContext, *, actor: Actor, case_id: int, task_id: int) -> CaseTask:
    """Mark a task of an open case done."""
    refs = [f"case:{case_id}", f"task:{task_id}"]
    with (
        refusals_recorded(
            ctx, actor=actor, action="cases.work", object_ids=refs, details={"step": "task_done"}
        ),
        ctx.store.transaction() as tx,
    ):
        case = _open_case(tx, actor, case_id)
        task = tx.get_case_task(task_id)
        if task is None or task.case_id != case_id:
            raise NotFound(f"case {case_id} has no task {task_id}")
        done = tx.complete_case_task(task_id, by=actor.name, at=ctx.clock.now())
        if done is None:
            raise Conflict(f"task {task_id} is already done")
        _work(ctx, tx, actor, case, "task_done", refs)
        return done


def add_note(ctx: ServiceContext, *, actor: Actor, case_id: int, kind: str, body: str) -> CaseNote:
    """Add a fact or an assessment to an open case's notes timeline."""
    ref = [f"case:{case_id}"]
    details: dict[str, DetailValue] = {"step": "note", "kind": kind}
    with (
        refusals_recorded(ctx, actor=actor, action="cases.work", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        case = _open_case(tx, actor, case_id)
        if kind not in NOTE_KINDS:
            raise InputError(f"a note is a fact or an assessment, not {kind!r}")
        clean = _text(body, "a note", _MAX_NOTE, keep_lines=True)
        note = tx.add_case_note(case_id, kind=kind, body=clean, author=actor.name, at=ctx.clock.now())
        _work(
            ctx,
            tx,
            actor,
            case,
            "note",
            [*ref, f"note:{note.id}"],
            kind=kind,
            sha256=_sha(clean),
            chars=len(clean),
        )
        return note


def _handle(raw: str) -> str:
    try:
        return normalise_value("from", raw.strip())
    except ValueProblem as exc:
        raise InputError(f"{raw!r} is not an account handle or id: {exc.message}. {exc.hint}") from None


def _platform(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_value("platform", raw.strip())
    except ValueProblem as exc:
        raise InputError(f"{exc.message}. {exc.hint}") from None


def link_account(
    ctx: ServiceContext, *, actor: Actor, case_id: int, handle: str, reason: str, platform: str | None = None
) -> CaseLink:
    """Link an account to an open case by hand, saying why (the reason is required and audited)."""
    ref = [f"case:{case_id}"]
    details: dict[str, DetailValue] = {"step": "link", "reason": reason, "platform": platform}
    with (
        refusals_recorded(ctx, actor=actor, action="cases.work", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        case = _open_case(tx, actor, case_id)
        if not handle.strip():
            raise InputError("give the account's handle (or id) to link")
        folded, where = _handle(handle), _platform(platform)
        why = " ".join(reason.split())
        if not why:
            raise InputError(
                "linking an account to a case needs a reason: say what ties this account to the case"
            )
        why = _text(why, "the reason", _MAX_REASON)
        link = tx.add_case_link(
            case_id, platform=where, handle=folded, reason=why, by=actor.name, at=ctx.clock.now()
        )
        _work(
            ctx,
            tx,
            actor,
            case,
            "link",
            [*ref, f"link:{link.id}"],
            handle_sha256=_sha(folded),
            platform=where,
            reason=why,
        )
        return link
