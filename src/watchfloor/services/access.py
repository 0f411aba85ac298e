"""Permission chokepoints: the only way a use case gets hold of a protected object.

Each ``access_<kind>_or_raise(tx, actor, id, operation)`` fetches the object inside the caller's
transaction, raises :class:`NotFound` if it does not exist and :class:`PermissionDenied` if the policy
(``accountability/policy.py``) refuses ``operation`` to ``actor`` on it — with the object's owner as
the ownership relation. Operations on no particular object call :func:`authorize` directly. A refusal
propagates out of the use case's transaction, and ``refusals_recorded`` logs it as ``denied``.

:func:`require_basis` is the chokepoint for the legal basis every search, rule, watch, case and export
hangs on: it must exist and be in force.
"""

from __future__ import annotations

from datetime import datetime

from watchfloor.accountability.policy import allowed, authorize
from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import Alert
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.domain.oversight import LegalBasis
from watchfloor.domain.rules import Rule
from watchfloor.store.ports import StoreTx

__all__ = [
    "BASIS_HELP",
    "access_alert_or_raise",
    "access_rule_or_raise",
    "alert_owner",
    "allowed",
    "authorize",
    "require_basis",
]

BASIS_HELP = (
    "create one with `watchfloor basis add --title ... --authority ... --purpose ... --necessity ...` "
    "(a supervisor or admin), then pass --basis ID or set WATCHFLOOR_BASIS"
)


def require_basis(tx: StoreTx, basis_id: int | None, *, now: datetime, doing: str) -> LegalBasis:
    """The legal basis ``basis_id``, which must exist and be in force, for ``doing`` (e.g. "a search")."""
    if basis_id is None:
        raise InputError(f"{doing} needs a legal basis: {BASIS_HELP}")
    basis = tx.get_basis(basis_id)
    if basis is None:
        raise InputError(
            f"legal basis {basis_id} does not exist: `watchfloor basis list` shows them; {BASIS_HELP}"
        )
    state = basis.state(now)
    if state != "active":
        raise InputError(
            f"legal basis {basis_id} ({basis.title}) is {state}: {doing} needs one in force; "
            f"`watchfloor basis list` shows the others, or {BASIS_HELP}"
        )
    return basis


def access_rule_or_raise(tx: StoreTx, actor: Actor, rule_id: int, operation: str) -> Rule:
    """Rule ``rule_id`` if ``actor`` may perform ``operation`` on it (owner: the rule's owner)."""
    rule = tx.get_rule(rule_id)
    if rule is None:
        raise NotFound(f"rule {rule_id} does not exist")
    authorize(actor, operation, owner=rule.owner)
    return rule


def alert_owner(alert: Alert, actor: Actor) -> str:
    """Whose alert it is for the policy: its holder while claimed; otherwise anyone's to take.

    An analyst works alerts that are unclaimed or claimed by themselves; someone else's claimed alert
    needs a supervisor.
    """
    if alert.status == "claimed" and alert.assignee:
        return alert.assignee
    return actor.name


def access_alert_or_raise(tx: StoreTx, actor: Actor, alert_id: int, operation: str) -> Alert:
    """Alert ``alert_id`` if ``actor`` may perform ``operation`` on it (owner: :func:`alert_owner`)."""
    alert = tx.get_alert(alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist (see `watchfloor alerts list`)")
    authorize(actor, operation, owner=alert_owner(alert, actor))
    return alert
