"""The audit service's reads and failure recording, as the web and CLI shells will call them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.accountability.conftest import AUDITOR, add_events, settings_for
from watchfloor import auditverify
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import InputError, PermissionDenied
from watchfloor.services.audit import (
    list_audit_events,
    prove_consistency,
    prove_inclusion,
    public_key,
    record,
    record_failure,
    sign_checkpoint,
)
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_context

MARIA = Actor(name="maria", roles=frozenset({"auditor"}))
ANA = Actor(name="ana", roles=frozenset({"analyst"}))


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    context = build_context(settings_for(str(tmp_path / "floor.db"), tmp_path), clock=clock)
    yield context
    context.store.close()


def test_a_refused_operation_is_recorded_even_though_it_rolled_back(ctx: ServiceContext) -> None:
    def export_without_permission() -> None:
        with ctx.store.transaction() as tx:
            record(tx, actor=MARIA, action="exports.create", at=ctx.clock.now(), details={"count": 9})
            raise PermissionDenied("maria may not export")

    with pytest.raises(PermissionDenied):
        export_without_permission()
    denied = record_failure(
        ctx, actor=MARIA, action="exports.create", outcome="denied", purpose="quarterly report"
    )
    assert denied.seq == 0  # the rolled-back attempt's event vanished with it; the denial stays
    (listed, *_) = list_audit_events(ctx, actor=AUDITOR, by="maria")
    assert (listed.action, listed.outcome, listed.purpose) == ("exports.create", "denied", "quarterly report")
    with pytest.raises(ValueError, match="refused or failed"):
        record_failure(ctx, actor=MARIA, action="exports.create", outcome="ok")


def test_listing_records_who_read_which_events(ctx: ServiceContext) -> None:
    add_events(ctx, 4)
    shown = list_audit_events(ctx, actor=AUDITOR, limit=3)
    assert [e.seq for e in shown] == [3, 2, 1]
    (read,) = list_audit_events(ctx, actor=MARIA, action="audit.read")
    assert read.actor == "auditor" and read.object_ids == ("audit:3", "audit:2", "audit:1")
    assert read.details == {"by": None, "action": None, "before": None, "limit": 3, "count": 3}
    with pytest.raises(InputError, match="between 1 and 10,000"):
        list_audit_events(ctx, actor=MARIA, limit=0)
    with pytest.raises(PermissionDenied, match="may not read and verify the audit log"):
        list_audit_events(ctx, actor=ANA)
    (refused,) = list_audit_events(ctx, actor=MARIA, by="ana", limit=1)
    assert (refused.action, refused.outcome) == ("audit.read", "denied")


def test_proofs_default_to_the_newest_checkpoint_and_verify(ctx: ServiceContext) -> None:
    add_events(ctx, 6)
    first = sign_checkpoint(ctx, actor=AUDITOR).checkpoint  # size 7
    add_events(ctx, 5, start=6)
    newest = sign_checkpoint(ctx, actor=AUDITOR).checkpoint  # size 13
    key = [auditverify.parse_verifier_key(public_key(ctx.settings))]
    head_1, head_2 = (auditverify.open_checkpoint(c.note, key) for c in (first, newest))
    proof = prove_inclusion(ctx, actor=AUDITOR, seq=4)
    assert proof.size == 13
    assert auditverify.verify_inclusion(proof.leaf_hash, 4, 13, proof.hashes, head_2.root)
    consistency = prove_consistency(ctx, actor=AUDITOR, first=7)
    assert auditverify.verify_consistency(7, 13, head_1.root, head_2.root, consistency.hashes)
    for bad in ({"seq": 13}, {"seq": -1}, {"seq": 0, "size": 99}):
        with pytest.raises(InputError, match="no inclusion proof"):
            prove_inclusion(ctx, actor=AUDITOR, **bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no consistency proof"):
        prove_consistency(ctx, actor=AUDITOR, first=0)
