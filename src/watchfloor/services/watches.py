"""Named-account watches: request, approve or deny, cancel, renew, and the central register.

Monitoring one named account (a rule with ``from:handle`` or an account list) needs a watch: an
analyst requests it under a legal basis with a reason; a supervisor who is not the requester approves
it (the policy's ``not_own`` grant) or denies it; it runs from approval for the requested number of
days (``DEFAULT_WATCH_DAYS``, at most ``Settings.watch_max_days``). Renewal is a new request that
needs a new approval. A watch stops when it expires, is cancelled, or its legal basis expires or is
retired. Where watches are enforced (matching, repeated viewing) is ``services/watch_checks.py``.

Audit events name the watch (``watch:N``) and carry a SHA-256 of the account's folded handle, not
the handle: the register, which needs ``watches.read``, says who is watched.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import Conflict, InputError, NotFound
from watchfloor.domain.oversight import DEFAULT_WATCH_DAYS, LegalBasis, Watch, WatchStatus
from watchfloor.query.fields import ValueProblem, fold_handle, normalise_value
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.services.watch_checks import (
    authorised_subjects,
    check_profile_views,
    covers,
    note_account_view,
    subject_key,
    watch_in_force,
)
from watchfloor.store.ports import StoreTx

__all__ = [
    "WATCH_STATES",
    "WatchView",
    "access_watch_or_raise",
    "approve_watch",
    "authorised_subjects",
    "cancel_watch",
    "check_profile_views",
    "covers",
    "deny_watch",
    "list_watches",
    "note_account_view",
    "note_profile_view",
    "renew_watch",
    "request_watch",
    "subject_key",
]

WATCH_STATES: tuple[WatchStatus, ...] = ("requested", "approved", "denied", "cancelled", "expired")


class WatchView(msgspec.Struct, frozen=True, kw_only=True):
    """A watch as the register shows it: its state now, and why it stopped if its basis did."""

    watch: Watch
    state: WatchStatus
    in_force: bool
    basis_title: str | None = None
    basis_state: Literal["active", "expired", "retired"] | None = None
    stopped_by_basis: bool = False  # requested or approved, but its legal basis is no longer in force


def _view(watch: Watch, basis: LegalBasis | None, now: datetime) -> WatchView:
    state = watch.state(now)
    basis_state = None if basis is None else basis.state(now)
    stopped = state in ("approved", "requested") and basis_state != "active"
    if stopped and state == "approved":
        state = "expired"  # what hangs on an expired or retired basis stops, and says so (basis_state)
    return WatchView(
        watch=watch,
        state=state,
        in_force=watch_in_force(watch, basis, now),
        basis_title=None if basis is None else basis.title,
        basis_state=basis_state,
        stopped_by_basis=stopped,
    )


def _digest(subject: str) -> str:
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()


def _details(watch: Watch, **extra: DetailValue) -> dict[str, DetailValue]:
    return {
        "subject_sha256": _digest(watch.subject),
        "platform": watch.platform,
        "days": watch.days,
        "requester": watch.requester,
        "renewal_of": watch.renewal_of,
        **extra,
    }


def access_watch_or_raise(tx: StoreTx, actor: Actor, watch_id: int, operation: str) -> Watch:
    """Watch ``watch_id`` if ``actor`` may perform ``operation`` on it (owner: its requester)."""
    watch = tx.get_watch(watch_id)
    if watch is None:
        raise NotFound(f"watch {watch_id} does not exist (see `watchfloor watches list`)")
    authorize(actor, operation, owner=watch.requester)
    return watch


def _subject(raw: str) -> str:
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


def _days(ctx: ServiceContext, days: int | None) -> int:
    limit = ctx.settings.watch_max_days
    chosen = min(DEFAULT_WATCH_DAYS, limit) if days is None else days
    if not 1 <= chosen <= limit:
        raise InputError(
            f"a watch runs for 1 to {limit} days, not {chosen}; renew it (a new approval) to go on longer"
        )
    return chosen


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise InputError(
            "a watch request needs a reason: why watching this account is necessary and proportionate "
            "(give --reason)"
        )
    return cleaned


def _open_for(tx: StoreTx, subject: str, platform: str | None, now: datetime) -> Watch | None:
    """A watch on the same account and platform that is pending, or approved and not yet expired."""
    for watch in tx.list_watches(subject=subject):
        if watch.platform == platform and watch.state(now) in ("requested", "approved"):
            return watch
    return None


def _create(
    ctx: ServiceContext,
    tx: StoreTx,
    actor: Actor,
    *,
    subject: str,
    platform: str | None,
    basis_id: int | None,
    reason: str,
    days: int | None,
    renewal_of: int | None,
) -> Watch:
    now = ctx.clock.now()
    basis = require_basis(tx, basis_id, now=now, doing="a named-account watch")
    return tx.create_watch(
        subject=subject,
        platform=platform,
        basis_id=basis.id,
        reason=_reason(reason),
        requester=actor.name,
        days=_days(ctx, days),
        renewal_of=renewal_of,
        at=now,
    )


def request_watch(
    ctx: ServiceContext,
    *,
    actor: Actor,
    subject: str,
    basis_id: int | None,
    reason: str,
    days: int | None = None,
    platform: str | None = None,
) -> Watch:
    """Ask for a watch on one account (``platform``: only there; None: any platform)."""
    asked: dict[str, DetailValue] = {"days": days, "platform": platform}
    with (
        refusals_recorded(ctx, actor=actor, action="watches.request", details=asked, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "watches.request")
        folded, where = _subject(subject), _platform(platform)
        existing = _open_for(tx, folded, where, ctx.clock.now())
        if existing is not None:
            raise Conflict(
                f"watch {existing.id} on @{folded} is already {existing.state(ctx.clock.now())}; "
                f"to extend an approved watch, `watchfloor watches renew {existing.id}`"
            )
        watch = _create(
            ctx,
            tx,
            actor,
            subject=folded,
            platform=where,
            basis_id=basis_id,
            reason=reason,
            days=days,
            renewal_of=None,
        )
        record(
            tx,
            actor=actor,
            action="watches.request",
            at=ctx.clock.now(),
            object_ids=(f"watch:{watch.id}",),
            basis_id=watch.basis_id,
            details=_details(watch),
        )
        return watch


def renew_watch(
    ctx: ServiceContext,
    *,
    actor: Actor,
    watch_id: int,
    reason: str | None = None,
    days: int | None = None,
    basis_id: int | None = None,
) -> Watch:
    """Request the continuation of an approved (or expired) watch: a new request, needing a new approval.

    The new request keeps the account, platform, basis and reason unless given; the old watch runs on
    until its own expiry.
    """
    ref = [f"watch:{watch_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="watches.renew", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        old = access_watch_or_raise(tx, actor, watch_id, "watches.request")
        now = ctx.clock.now()
        if old.state(now) not in ("approved", "expired"):
            raise Conflict(
                f"watch {watch_id} is {old.state(now)}: only an approved or expired watch can be renewed; "
                "ask for a new one with `watchfloor watches request HANDLE`"
            )
        pending = [w for w in tx.list_watches(subject=old.subject) if w.renewal_of == old.id]
        if any(w.status == "requested" for w in pending):
            raise Conflict(f"a renewal of watch {watch_id} is already waiting for approval")
        watch = _create(
            ctx,
            tx,
            actor,
            subject=old.subject,
            platform=old.platform,
            basis_id=basis_id if basis_id is not None else old.basis_id,
            reason=reason if reason is not None else old.reason,
            days=days if days is not None else old.days,
            renewal_of=old.id,
        )
        record(
            tx,
            actor=actor,
            action="watches.renew",
            at=now,
            object_ids=(f"watch:{watch.id}", f"watch:{old.id}"),
            basis_id=watch.basis_id,
            details=_details(watch),
        )
        return watch


def _decide(ctx: ServiceContext, *, actor: Actor, watch_id: int, approve: bool, note: str | None) -> Watch:
    action = "watches.approve" if approve else "watches.deny"
    ref = [f"watch:{watch_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action=action, object_ids=ref, details={"note": note}),
        ctx.store.transaction() as tx,
    ):
        watch = access_watch_or_raise(tx, actor, watch_id, "watches.decide")
        now = ctx.clock.now()
        if watch.status != "requested":
            raise Conflict(f"watch {watch_id} is {watch.state(now)}: only a requested watch can be decided")
        cleaned = (note or "").strip() or None
        if not approve and cleaned is None:
            raise InputError("denying a watch needs a note saying why (give --note)")
        if approve:
            require_basis(tx, watch.basis_id, now=now, doing="approving a watch")
        decided = tx.decide_watch(
            watch_id,
            status="approved" if approve else "denied",
            approver=actor.name,
            note=cleaned,
            at=now,
            starts_at=now if approve else None,
            expires_at=now + timedelta(days=watch.days) if approve else None,
        )
        if decided is None:
            raise Conflict(f"watch {watch_id} was decided by someone else just now")
        expires = None if decided.expires_at is None else decided.expires_at.isoformat()
        record(
            tx,
            actor=actor,
            action=action,
            at=now,
            object_ids=ref,
            basis_id=decided.basis_id,
            details=_details(decided, note=cleaned, expires_at=expires),
        )
        return decided


def approve_watch(ctx: ServiceContext, *, actor: Actor, watch_id: int, note: str | None = None) -> Watch:
    """Approve a requested watch (a supervisor who did not request it); it runs from now."""
    return _decide(ctx, actor=actor, watch_id=watch_id, approve=True, note=note)


def deny_watch(ctx: ServiceContext, *, actor: Actor, watch_id: int, note: str) -> Watch:
    """Deny a requested watch, saying why (a supervisor who did not request it)."""
    return _decide(ctx, actor=actor, watch_id=watch_id, approve=False, note=note)


def cancel_watch(ctx: ServiceContext, *, actor: Actor, watch_id: int, reason: str | None = None) -> Watch:
    """End a requested or approved watch now (its requester, or a supervisor)."""
    ref = [f"watch:{watch_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="watches.cancel", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        watch = access_watch_or_raise(tx, actor, watch_id, "watches.cancel")
        now = ctx.clock.now()
        if watch.state(now) not in ("requested", "approved"):
            raise Conflict(f"watch {watch_id} is already {watch.state(now)}; nothing to cancel")
        cancelled = tx.cancel_watch(watch_id, by=actor.name, at=now)
        if cancelled is None:
            raise Conflict(f"watch {watch_id} changed just now; look again with `watchfloor watches list`")
        record(
            tx,
            actor=actor,
            action="watches.cancel",
            at=now,
            object_ids=ref,
            basis_id=cancelled.basis_id,
            details=_details(cancelled, reason=(reason or "").strip() or None),
        )
        return cancelled


def list_watches(
    ctx: ServiceContext, *, actor: Actor, state: str | None = None, subject: str | None = None
) -> list[WatchView]:
    """The register: every watch with its state now (filtered by ``state`` and account if given)."""
    with (
        refusals_recorded(ctx, actor=actor, action="watches.list", details={"state": state}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "watches.read")
        if state is not None and state not in WATCH_STATES:
            raise InputError(f"--state must be one of {', '.join(WATCH_STATES)}, not {state!r}")
        now = ctx.clock.now()
        folded = None if subject is None else _subject(subject)
        bases = {b.id: b for b in tx.list_bases()}
        views = [_view(w, bases.get(w.basis_id), now) for w in tx.list_watches(subject=folded)]
        if state is not None:
            views = [v for v in views if v.state == state]
        record(
            tx,
            actor=actor,
            action="watches.list",
            at=now,
            details={"state": state, "count": len(views), "in_force": sum(v.in_force for v in views)},
        )
        return views


def note_profile_view(ctx: ServiceContext, *, actor: Actor, subject: str, session_key: str) -> None:
    """Record that ``actor`` opened one account's posts (a profile page), or refuse a session too many.

    The service form of :func:`note_account_view`, for shells that show an account's posts outside a
    search; the refusal is audited (``accounts.view``, outcome ``denied``).
    """
    folded = fold_handle(subject.strip())
    with (
        refusals_recorded(
            ctx, actor=actor, action="accounts.view", details={"subject_sha256": _digest(folded)}
        ),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.view")
        folded = _subject(subject)
        now = ctx.clock.now()
        note_account_view(tx, actor, folded, session_key, now, ctx.settings)
        record(
            tx,
            actor=actor,
            action="accounts.view",
            at=now,
            details={"subject_sha256": _digest(folded)},
        )
