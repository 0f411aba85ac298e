"""Rules, versions, account lists and the rules revision, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.store.racing import race
from watchfloor.domain.errors import NotFound
from watchfloor.domain.rules import AccountList, RuleDraft, VolumeSpec
from watchfloor.store.engine import SqlStore

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FLOOD = RuleDraft(
    name="Flooding",
    query="flood OR inundación",
    severity="high",
    description="Reports of flooding",
    basis_id=7,
)


def test_a_new_rule_is_active_at_version_one_written_by_its_owner(store: SqlStore) -> None:
    with store.transaction() as tx:
        rule = tx.create_rule(FLOOD, owner="alice", at=T0)
    with store.transaction() as tx:
        assert tx.get_rule(rule.id) == rule
        history = tx.rule_history(rule.id)
    assert rule.status == "active"
    assert rule.owner == "alice"
    assert rule.created_at == rule.updated_at == T0
    current = rule.current
    assert (current.rule_id, current.version, current.author, current.created_at) == (rule.id, 1, "alice", T0)
    assert (current.name, current.query, current.severity) == ("Flooding", "flood OR inundación", "high")
    assert (current.description, current.basis_id, current.volume) == ("Reports of flooding", 7, None)
    assert history == [current]


def test_editing_a_rule_adds_a_version_and_keeps_every_earlier_one(store: SqlStore) -> None:
    later = T0 + timedelta(hours=1)
    volume = RuleDraft(
        name="Flood burst",
        query="flood",
        severity="critical",
        volume=VolumeSpec(threshold=50, window_minutes=10),
        change_note="alert on bursts only",
    )
    with store.transaction() as tx:
        rule = tx.create_rule(FLOOD, owner="alice", at=T0)
        tx.add_rule_version(rule.id, volume, author="bob", at=later)
        edited = tx.add_rule_version(rule.id, FLOOD, author="carol", at=later + timedelta(minutes=5))
    with store.transaction() as tx:
        history = tx.rule_history(rule.id)
    assert [(v.version, v.author, v.name) for v in history] == [
        (1, "alice", "Flooding"),
        (2, "bob", "Flood burst"),
        (3, "carol", "Flooding"),
    ]
    assert history[1].volume == VolumeSpec(threshold=50, window_minutes=10)
    assert history[1].change_note == "alert on bursts only"
    assert history[1].created_at == later
    assert edited.current == history[2]
    assert (edited.owner, edited.created_at, edited.updated_at) == ("alice", T0, later + timedelta(minutes=5))


def test_editing_a_missing_rule_is_not_found_and_unknown_rules_read_as_absent(store: SqlStore) -> None:
    with store.transaction() as tx, pytest.raises(NotFound, match="Rule 99"):
        tx.add_rule_version(99, FLOOD, author="bob", at=T0)
    with store.transaction() as tx:
        assert tx.get_rule(99) is None
        assert tx.rule_history(99) == []
        assert tx.set_rule_status(99, "paused", at=T0) is None


def test_pausing_and_resuming_a_rule(store: SqlStore) -> None:
    with store.transaction() as tx:
        flood = tx.create_rule(FLOOD, owner="alice", at=T0)
        other = tx.create_rule(FLOOD, owner="bob", at=T0)
        paused = tx.set_rule_status(flood.id, "paused", at=T0 + timedelta(hours=1))
    assert paused is not None
    assert (paused.status, paused.updated_at) == ("paused", T0 + timedelta(hours=1))
    with store.transaction() as tx:
        assert [r.id for r in tx.list_rules(status="active")] == [other.id]
        assert [r.id for r in tx.list_rules(status="paused")] == [flood.id]
        assert [r.id for r in tx.list_rules()] == [flood.id, other.id]
        # Pausing a paused rule changes nothing, not even its updated time.
        again = tx.set_rule_status(flood.id, "paused", at=T0 + timedelta(hours=2))
        resumed = tx.set_rule_status(flood.id, "active", at=T0 + timedelta(hours=3))
    assert again == paused
    assert resumed is not None
    assert (resumed.status, resumed.updated_at) == ("active", T0 + timedelta(hours=3))


def test_the_rules_revision_moves_with_every_change_and_only_then(store: SqlStore) -> None:
    def revision() -> int:
        with store.transaction() as tx:
            return tx.rules_revision()

    seen = [revision()]
    with store.transaction() as tx:
        rule = tx.create_rule(FLOOD, owner="alice", at=T0)
    seen.append(revision())
    with store.transaction() as tx:
        tx.add_rule_version(rule.id, FLOOD, author="bob", at=T0)
    seen.append(revision())
    with store.transaction() as tx:
        tx.set_rule_status(rule.id, "paused", at=T0)
    seen.append(revision())
    with store.transaction() as tx:
        tx.put_account_list(AccountList(name="officials", members=("mayor",), owner="alice", updated_at=T0))
    seen.append(revision())
    assert len(set(seen)) == len(seen), f"every change must move the revision: {seen}"

    with store.transaction() as tx:
        tx.get_rule(rule.id)
        tx.list_rules()
        tx.rule_history(rule.id)
        tx.account_lists()
        tx.set_rule_status(rule.id, "paused", at=T0)  # already paused: not a change
    assert revision() == seen[-1]


def test_a_rolled_back_edit_leaves_rules_and_revision_as_they_were(store: SqlStore) -> None:
    with store.transaction() as tx:
        rule = tx.create_rule(FLOOD, owner="alice", at=T0)
        before = tx.rules_revision()

    def edit_then_fail() -> None:
        with store.transaction() as tx:
            tx.add_rule_version(rule.id, FLOOD, author="bob", at=T0)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        edit_then_fail()
    with store.transaction() as tx:
        assert tx.rules_revision() == before
        assert [v.version for v in tx.rule_history(rule.id)] == [1]
        assert tx.get_rule(rule.id) == rule


def test_concurrent_edits_get_distinct_consecutive_versions(store: SqlStore) -> None:
    with store.transaction() as tx:
        rule = tx.create_rule(FLOOD, owner="alice", at=T0)
    edited = race(store, 4, lambda tx, i: tx.add_rule_version(rule.id, FLOOD, author=f"editor{i}", at=T0))
    assert sorted(r.current.version for r in edited) == [2, 3, 4, 5]
    with store.transaction() as tx:
        assert [v.version for v in tx.rule_history(rule.id)] == [1, 2, 3, 4, 5]
        assert tx.get_rule(rule.id).current.version == 5  # type: ignore[union-attr]


def test_account_lists_are_created_and_replaced_by_name(store: SqlStore) -> None:
    officials = AccountList(
        name="officials", members=("mayor", "cityhall"), owner="alice", updated_at=T0, description="City"
    )
    agencies = AccountList(name="agencies", members=("12345",), owner="bob", updated_at=T0)
    with store.transaction() as tx:
        tx.put_account_list(officials)
        tx.put_account_list(agencies)
    with store.transaction() as tx:
        assert tx.account_lists() == [agencies, officials]
    replaced = AccountList(
        name="officials", members=("fire_dept",), owner="carol", updated_at=T0 + timedelta(1)
    )
    with store.transaction() as tx:
        tx.put_account_list(replaced)
    with store.transaction() as tx:
        assert tx.account_lists() == [agencies, replaced]
