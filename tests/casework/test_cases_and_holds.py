"""Cases (every one under a legal basis) and legal holds, through the service layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.casework.conftest import ADA, ANA, BO, SUE, add_flood_rule, alert_of, import_rows, make_basis
from watchfloor.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from watchfloor.services import cases
from watchfloor.services.context import ServiceContext


def _last_event(ctx: ServiceContext) -> tuple[str, str, str]:
    with ctx.store.transaction() as tx:
        [event] = tx.audit_events(limit=1)
    return event.actor, event.action, event.outcome


def test_a_case_requires_a_legal_basis_in_force(ctx: ServiceContext) -> None:
    with pytest.raises(InputError, match="needs a legal basis"):
        cases.open_case(ctx, actor=ANA, title="Dam failure", basis_id=None)
    assert _last_event(ctx) == ("ana", "cases.open", "error")
    with pytest.raises(InputError, match="does not exist"):
        cases.open_case(ctx, actor=ANA, title="Dam failure", basis_id=999)
    basis = make_basis(ctx)
    with ctx.store.transaction() as tx:
        tx.retire_basis(basis, by="sue", reason="emergency over", at=ctx.clock.now())
    with pytest.raises(InputError, match="retired"):
        cases.open_case(ctx, actor=ANA, title="Dam failure", basis_id=basis)
    case = cases.open_case(ctx, actor=ANA, title="  Dam   failure ", basis_id=make_basis(ctx))
    assert (case.title, case.owner, case.status) == ("Dam failure", "ana", "open")
    assert _last_event(ctx) == ("ana", "cases.open", "ok")


def test_case_lifecycle_and_who_may_work_on_it(ctx: ServiceContext, tmp_path: Path) -> None:
    basis = make_basis(ctx)
    add_flood_rule(ctx, basis)
    ids = import_rows(ctx, tmp_path, [("1", "flood water rising on the high street")], "a.csv")
    alert = alert_of(ctx, ids["1"])
    case = cases.open_case(ctx, actor=ANA, title="High street", basis_id=basis)

    with pytest.raises(PermissionDenied):  # another analyst's case
        cases.add_alert_to_case(ctx, actor=BO, case_id=case.id, alert_id=alert)
    assert _last_event(ctx) == ("bo", "cases.work", "denied")
    with pytest.raises(NotFound):
        cases.add_alert_to_case(ctx, actor=ANA, case_id=case.id, alert_id=alert + 1000)
    cases.add_alert_to_case(ctx, actor=ANA, case_id=case.id, alert_id=alert)
    cases.add_alert_to_case(ctx, actor=SUE, case_id=case.id, alert_id=alert)  # a supervisor may; no-op twice
    view = cases.show_case(ctx, actor=BO, case_id=case.id)
    assert view.alert_ids == [alert] and view.case.basis_id == basis
    assert [c.id for c in cases.list_cases(ctx, actor=BO, status="open")] == [case.id]

    closed = cases.close_case(ctx, actor=ANA, case_id=case.id, summary="handed to the council")
    assert closed.status == "closed" and closed.closed_at == ctx.clock.now()
    with pytest.raises(Conflict, match="already closed"):
        cases.close_case(ctx, actor=ANA, case_id=case.id)
    with pytest.raises(Conflict, match="closed"):
        cases.add_alert_to_case(ctx, actor=ANA, case_id=case.id, alert_id=alert)
    with pytest.raises(NotFound):
        cases.show_case(ctx, actor=ANA, case_id=case.id + 1)
    with pytest.raises(PermissionDenied):
        cases.list_cases(ctx, actor=ADA)  # admins manage the system, not casework


def test_legal_holds(ctx: ServiceContext, tmp_path: Path) -> None:
    basis = make_basis(ctx)
    case = cases.open_case(ctx, actor=ANA, title="Evidence", basis_id=basis)
    with pytest.raises(PermissionDenied):
        cases.place_hold(ctx, actor=ANA, kind="case", object_id=case.id, reason="court order 12")
    with pytest.raises(InputError, match="needs a reason"):
        cases.place_hold(ctx, actor=SUE, kind="case", object_id=case.id, reason="  ")
    with pytest.raises(InputError, match="not 'person'"):
        cases.place_hold(ctx, actor=SUE, kind="person", object_id=case.id, reason="x")
    with pytest.raises(NotFound):
        cases.place_hold(ctx, actor=SUE, kind="post", object_id=12345, reason="court order 12")
    hold = cases.place_hold(ctx, actor=SUE, kind="case", object_id=case.id, reason="court order 12")
    assert _last_event(ctx) == ("sue", "holds.manage", "ok")
    assert [h.id for h in cases.show_case(ctx, actor=ANA, case_id=case.id).holds] == [hold.id]
    assert [h.id for h in cases.list_holds(ctx, actor=ADA)] == [hold.id]
    released = cases.release_hold(ctx, actor=ADA, hold_id=hold.id)
    assert released.released_by == "ada" and released.released_at == ctx.clock.now()
    with pytest.raises(Conflict, match="already released"):
        cases.release_hold(ctx, actor=ADA, hold_id=hold.id)
    assert cases.list_holds(ctx, actor=ADA) == []
    assert [h.id for h in cases.list_holds(ctx, actor=ADA, include_released=True)] == [hold.id]
