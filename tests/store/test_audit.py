"""The audit log in the store, on SQLite and PostgreSQL: dense sequencing, reads, checkpoints, fail closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.store.racing import race
from watchfloor.accountability.auditlog import record
from watchfloor.domain.audit import AuditDraft, Checkpoint, decode_leaf, leaf_hash
from watchfloor.domain.errors import StoreError
from watchfloor.domain.rules import RuleDraft
from watchfloor.store.engine import SqlStore
from watchfloor.store.rows import to_micros
from watchfloor.store.sqlstore import SqlTx

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULE = RuleDraft(name="Flooding", query="flood", severity="high")


def _draft(n: int, actor: str = "maria", action: str = "posts.search") -> AuditDraft:
    return AuditDraft(
        at=T0 + timedelta(seconds=n), actor=actor, action=action, object_ids=(f"post:{n}",), details={"n": n}
    )


def test_events_get_dense_numbers_are_stored_exactly_and_listed_newest_first(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.audit_size() == 0
        events = [tx.append_audit(_draft(n, actor="maria" if n % 2 else "li")) for n in range(6)]
    assert [e.seq for e in events] == list(range(6))
    with store.transaction() as tx:
        rows = tx.audit_leaves(0, 10)
        assert tx.audit_size() == 6
        assert [r.seq for r in tx.audit_leaves(1, 3)] == [1, 2]
    for event, row in zip(events, rows, strict=True):
        assert decode_leaf(row.leaf) == event
        assert row.leaf_hash == leaf_hash(row.leaf)
        assert (row.seq, row.at_us, row.actor, row.action) == (
            event.seq,
            to_micros(event.at),
            event.actor,
            "posts.search",
        )
    with store.transaction() as tx:
        tx.append_audit(_draft(6, actor="li", action="alerts.claim"))
        assert [e.seq for e in tx.audit_events(limit=3)] == [6, 5, 4]
        assert [e.seq for e in tx.audit_events(actor="li")] == [6, 4, 2, 0]
        assert [e.seq for e in tx.audit_events(action="alerts.claim")] == [6]
        assert [e.seq for e in tx.audit_events(actor="maria", before=5)] == [3, 1]

    def append_then_fail() -> None:
        with store.transaction() as tx:
            tx.append_audit(_draft(7))
            raise RuntimeError("the operation failed after its audit append")

    with pytest.raises(RuntimeError):
        append_then_fail()
    with store.transaction() as tx:
        assert tx.append_audit(_draft(8)).seq == 7  # the rolled-back append left no gap


def test_checkpoints_are_kept_with_their_frontier(store: SqlStore) -> None:
    def checkpoint(size: int) -> Checkpoint:
        hashes = tuple(bytes([size, i]) * 16 for i in range(size.bit_count()))
        return Checkpoint(
            size=size, root=bytes([size]) * 32, frontier=hashes, note=f"note {size}\n", signed_at=T0
        )

    with store.transaction() as tx:
        assert tx.latest_checkpoint() is None
        for size in (3, 12, 7):
            tx.save_checkpoint(checkpoint(size))
    with store.transaction() as tx:
        assert tx.latest_checkpoint() == checkpoint(12)
        assert tx.checkpoint_at(7) == checkpoint(7)
        assert tx.checkpoint_at(8) is None
        assert [c.size for c in tx.checkpoints()] == [3, 7, 12]


def test_concurrent_appenders_are_totally_ordered(store: SqlStore) -> None:
    """Eight writers append at once: every event gets its own number, with no gap and no duplicate."""

    def work(tx: SqlTx, i: int) -> list[int]:
        return [tx.append_audit(_draft(i * 10 + k, actor=f"w{i}")).seq for k in range(5)]

    seqs = sorted(s for batch in race(store, 8, work) for s in batch)
    assert seqs == list(range(40))
    with store.transaction() as tx:
        rows = tx.audit_leaves(0, 40)
    assert [decode_leaf(r.leaf).seq for r in rows] == list(range(40))


# -- fail closed: no operation without its audit event ---------------------------------------------


def _add_rule_audited(store: SqlStore, details: dict[str, object] | None = None) -> None:
    """A tiny service: one change and its audit event, in one transaction."""
    with store.transaction() as tx:
        rule = tx.create_rule(RULE, owner="maria", at=T0)
        record(tx, actor="maria", action="rules.add", at=T0, object_ids=(f"rule:{rule.id}",), details=details)


def _nothing_written(store: SqlStore) -> bool:
    with store.transaction() as tx:
        return tx.list_rules() == [] and tx.audit_size() == 0


def test_an_operation_whose_audit_write_fails_leaves_no_trace(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three ways the audit write fails: the append raises (disk full), the event cannot be encoded,
    and the database itself refuses the row. Each time the change it recorded is rolled back too."""

    def broken(self: SqlTx, draft: AuditDraft) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SqlTx, "append_audit", broken)
    with pytest.raises(OSError, match="No space left"):
        _add_rule_audited(store)
    monkeypatch.undo()
    assert _nothing_written(store)

    with pytest.raises(TypeError, match="float is not allowed"):
        _add_rule_audited(store, details={"score": 0.93})
    assert _nothing_written(store)

    with store.engine.begin() as conn:
        for statement in _REFUSE_AUDIT_ROWS[store.dialect]:
            conn.execute(text(statement))
    with pytest.raises(StoreError, match="audit sink unavailable"):
        _add_rule_audited(store)
    assert _nothing_written(store)


# Fault injection in the database itself: a trigger that rejects every audit row.
_REFUSE_AUDIT_ROWS = {
    "sqlite": [
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit sink unavailable'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit sink unavailable'; END $$",
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down()",
    ],
}
