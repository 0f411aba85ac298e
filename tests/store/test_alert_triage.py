"""Alert transitions, exclusive claims, deadline breaches, the event trail and handover notes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.alerting import HOUR, T0, World, build_world, claim, draft, raise_one
from tests.store.racing import race
from watchfloor.domain.alerts import AlertEvent
from watchfloor.store.engine import SqlStore
from watchfloor.store.ports import AlertFilter

MINUTE = timedelta(minutes=1)


@pytest.fixture
def world(store: SqlStore) -> World:
    return build_world(store)


def test_every_step_of_an_alert_is_recorded_with_who_when_and_why(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")
    with store.transaction() as tx:
        claimed = claim(tx, alert_id, "alice", at=T0 + MINUTE)
        released = tx.transition_alert(
            alert_id,
            allowed_from=("claimed",),
            to_status="open",
            action="released",
            actor="alice",
            at=T0 + 2 * MINUTE,
            require_assignee="alice",
            note="end of shift",
        )
        claim(tx, alert_id, "bob", at=T0 + 3 * MINUTE)
        dismissed = tx.transition_alert(
            alert_id,
            allowed_from=("open", "claimed"),
            to_status="dismissed",
            action="dismissed",
            actor="bob",
            at=T0 + 4 * MINUTE,
            disposition="false_positive",
            note="satire account",
        )
        reopened = tx.transition_alert(
            alert_id,
            allowed_from=("dismissed",),
            to_status="open",
            action="reopened",
            actor="carol",
            at=T0 + 5 * MINUTE,
            note="the account is real",
        )
        claim(tx, alert_id, "carol", at=T0 + 6 * MINUTE)
        escalated = tx.transition_alert(
            alert_id,
            allowed_from=("claimed",),
            to_status="escalated",
            action="escalated",
            actor="carol",
            at=T0 + 7 * MINUTE,
            require_assignee="carol",
        )
        in_case = tx.transition_alert(
            alert_id,
            allowed_from=("escalated",),
            to_status="in_case",
            action="added_to_case",
            actor="dave",
            at=T0 + 8 * MINUTE,
            note="case 12",
        )
        events = tx.alert_events(alert_id)
    assert claimed is not None
    assert (claimed.status, claimed.assignee, claimed.updated_at) == ("claimed", "alice", T0 + MINUTE)
    assert released is not None
    assert (released.status, released.assignee) == ("open", None)
    assert dismissed is not None
    assert (dismissed.status, dismissed.assignee, dismissed.disposition) == (
        "dismissed",
        "bob",
        "false_positive",
    )
    assert reopened is not None
    assert (reopened.status, reopened.assignee, reopened.disposition) == ("open", None, None)
    assert escalated is not None
    assert (escalated.status, escalated.assignee) == ("escalated", "carol")
    assert in_case is not None
    assert (in_case.status, in_case.assignee, in_case.updated_at) == ("in_case", "carol", T0 + 8 * MINUTE)

    def step(minute: int, actor: str, action: str, old: str, new: str, **kw: str) -> AlertEvent:
        return AlertEvent(
            alert_id=alert_id,
            at=T0 + minute * MINUTE,
            actor=actor,
            action=action,  # type: ignore[arg-type]
            from_status=old,  # type: ignore[arg-type]
            to_status=new,  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )

    assert events == [
        AlertEvent(alert_id=alert_id, at=T0, actor="matcher", action="raised", to_status="open"),
        step(1, "alice", "claimed", "open", "claimed"),
        step(2, "alice", "released", "claimed", "open", note="end of shift"),
        step(3, "bob", "claimed", "open", "claimed"),
        step(
            4, "bob", "dismissed", "claimed", "dismissed", disposition="false_positive", note="satire account"
        ),
        step(5, "carol", "reopened", "dismissed", "open", note="the account is real"),
        step(6, "carol", "claimed", "open", "claimed"),
        step(7, "carol", "escalated", "claimed", "escalated"),
        step(8, "dave", "added_to_case", "escalated", "in_case", note="case 12"),
    ]


def test_a_transition_from_the_wrong_state_changes_nothing(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")
    with store.transaction() as tx:
        before = tx.get_alert(alert_id)
        escalated = tx.transition_alert(
            alert_id,
            allowed_from=("claimed",),
            to_status="escalated",
            action="escalated",
            actor="alice",
            at=T0 + HOUR,
        )
        missing = claim(tx, alert_id + 100, "alice")
        assert tx.get_alert(alert_id) == before
        assert [e.action for e in tx.alert_events(alert_id)] == ["raised"]
    assert escalated is None
    assert missing is None


def test_only_the_holder_can_release_a_claim(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")

    def release(who: str) -> object:
        with store.transaction() as tx:
            return tx.transition_alert(
                alert_id,
                allowed_from=("claimed",),
                to_status="open",
                action="released",
                actor=who,
                at=T0 + HOUR,
                require_assignee=who,
            )

    with store.transaction() as tx:
        claim(tx, alert_id, "alice")
    assert release("bob") is None
    with store.transaction() as tx:
        held = tx.get_alert(alert_id)
    assert held is not None
    assert (held.status, held.assignee) == ("claimed", "alice")
    assert release("alice") is not None


def test_exactly_one_of_many_simultaneous_claims_wins(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")
    analysts = [f"analyst{i}" for i in range(8)]
    results = race(store, len(analysts), lambda tx, i: claim(tx, alert_id, analysts[i]))
    winners = [a for a in results if a is not None]
    assert len(winners) == 1
    with store.transaction() as tx:
        alert = tx.get_alert(alert_id)
        claims = [e for e in tx.alert_events(alert_id) if e.action == "claimed"]
    assert alert is not None
    assert alert.assignee == winners[0].assignee
    assert [e.actor for e in claims] == [winners[0].assignee]


def _overdue_world(store: SqlStore, world: World) -> dict[str, int]:
    """Alerts due at T0+10m (open), T0+20m (claimed), T0+5m (dismissed) and T0+2h (open)."""
    due = {"a1": 10, "b1": 20, "c1": 5}
    ids = {n: raise_one(store, world, n, deadline=T0 + m * MINUTE) for n, m in due.items()}
    ids["later"] = raise_one(store, world, "a1", rule=world.other_rule, deadline=T0 + 2 * HOUR)
    with store.transaction() as tx:
        claim(tx, ids["b1"], "alice")
        tx.transition_alert(
            ids["c1"], allowed_from=("open",), to_status="dismissed", action="dismissed", actor="bob", at=T0
        )
    return ids


def test_a_breach_is_marked_once(store: SqlStore, world: World) -> None:
    ids = _overdue_world(store, world)
    now = T0 + HOUR
    with store.transaction() as tx:
        breached = tx.mark_breaches(now=now, actor="sweeper")
        again = tx.mark_breaches(now=now + MINUTE, actor="sweeper")
        events = tx.events_since(T0, actions=("breached",))
    assert [a.id for a in breached] == [ids["a1"], ids["b1"]]  # soonest deadline first
    assert {a.breached_at for a in breached} == {now}
    assert again == []
    assert [(e.alert_id, e.actor, e.at) for e in events] == [
        (ids["a1"], "sweeper", now),
        (ids["b1"], "sweeper", now),
    ]
    with store.transaction() as tx:
        assert tx.get_alert(ids["later"]).breached_at is None  # type: ignore[union-attr]
        assert tx.get_alert(ids["c1"]).breached_at is None  # type: ignore[union-attr]


def test_simultaneous_sweepers_mark_each_breach_once(store: SqlStore, world: World) -> None:
    ids = _overdue_world(store, world)
    results = race(store, 4, lambda tx, i: tx.mark_breaches(now=T0 + HOUR, actor=f"sweeper{i}"))
    assert sorted(a.id for found in results for a in found) == sorted([ids["a1"], ids["b1"]])
    with store.transaction() as tx:
        assert len(tx.events_since(T0, actions=("breached",))) == 2


def test_events_since_a_time_across_alerts(store: SqlStore, world: World) -> None:
    first = raise_one(store, world, "a1")
    second = raise_one(store, world, "b1", at=T0 + 10 * MINUTE)
    with store.transaction() as tx:
        tx.write_alerts([draft(world, "a2", at=T0 + 20 * MINUTE)], actor="matcher")
        claim(tx, first, "alice", at=T0 + 30 * MINUTE)
        everything = tx.events_since(T0)
        recent = tx.events_since(T0 + 10 * MINUTE)
        claims_and_raises = tx.events_since(T0 + 10 * MINUTE, actions=("claimed", "raised"))
    assert [(e.alert_id, e.action) for e in everything] == [
        (first, "raised"),
        (second, "raised"),
        (first, "grouped"),
        (first, "claimed"),
    ]
    assert recent == everything[1:]
    assert [(e.alert_id, e.action) for e in claims_and_raises] == [(second, "raised"), (first, "claimed")]


def test_handover_notes_since_a_time_oldest_first(store: SqlStore) -> None:
    with store.transaction() as tx:
        early = tx.add_handover_note(author="alice", text="Quiet night.", at=T0)
        late = tx.add_handover_note(author="bob", text="Watch the bridge rule.", at=T0 + 8 * HOUR)
        middle = tx.add_handover_note(author="carol", text="Flood alerts rising.", at=T0 + 4 * HOUR)
    with store.transaction() as tx:
        assert tx.handover_notes(since=T0) == [early, middle, late]
        assert tx.handover_notes(since=T0 + 4 * HOUR) == [middle, late]
        assert tx.handover_notes(since=T0 + 9 * HOUR) == []
    assert len({early.id, middle.id, late.id}) == 3
    assert (late.author, late.text, late.at) == ("bob", "Watch the bridge rule.", T0 + 8 * HOUR)


def test_a_claim_in_a_rolled_back_transaction_leaves_the_alert_open(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")

    def claim_then_fail() -> None:
        with store.transaction() as tx:
            assert claim(tx, alert_id, "alice") is not None
            raise RuntimeError("the audit write failed")

    with pytest.raises(RuntimeError):
        claim_then_fail()
    with store.transaction() as tx:
        assert [a.status for a in tx.list_alerts(AlertFilter())] == ["open"]
        assert [e.action for e in tx.alert_events(alert_id)] == ["raised"]
