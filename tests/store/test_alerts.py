"""Raising alerts: new, grouped by near-duplicate cluster, replayed; bursts, rule hits and the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.alerting import HOUR, T0, World, build_world, claim, draft, raise_one
from tests.store.racing import race
from watchfloor.domain.alerts import AlertDraft
from watchfloor.store.engine import SqlStore
from watchfloor.store.ports import AlertFilter, AlertWrite


@pytest.fixture
def world(store: SqlStore) -> World:
    return build_world(store)


def test_a_draft_raises_an_open_alert_carrying_its_evidence(store: SqlStore, world: World) -> None:
    first = draft(world, "a1", spans=((0, 5), (9, 15)), fields=("lang:en",), severity="critical")
    with store.transaction() as tx:
        written = tx.write_alerts([first], actor="matcher")
    assert written.grouped == written.unchanged == 0
    [alert_id] = written.raised
    with store.transaction() as tx:
        alert = tx.get_alert(alert_id)
        posts = tx.alert_posts(alert_id)
        [event] = tx.alert_events(alert_id)
    assert alert is not None
    assert (alert.kind, alert.rule_id, alert.rule_version, alert.severity) == (
        "post",
        world.rule,
        1,
        "critical",
    )
    assert (alert.status, alert.assignee, alert.disposition, alert.breached_at) == ("open", None, None, None)
    assert (alert.created_at, alert.updated_at, alert.deadline) == (T0, T0, T0 + HOUR)
    assert (alert.post_id, alert.cluster_id, alert.post_count) == (first.post_id, first.cluster_id, 1)
    assert (alert.spans, alert.fields) == (((0, 5), (9, 15)), ("lang:en",))
    assert posts == [first.post_id]
    assert (event.action, event.actor, event.at, event.from_status, event.to_status) == (
        "raised",
        "matcher",
        T0,
        None,
        "open",
    )


def test_writing_the_same_drafts_again_changes_nothing(store: SqlStore, world: World) -> None:
    drafts = [draft(world, "a1"), draft(world, "a2"), draft(world, "b1"), draft(world, "c1")]
    with store.transaction() as tx:
        first = tx.write_alerts(drafts, actor="matcher")
        queue = tx.list_alerts(AlertFilter())
    with store.transaction() as tx:
        again = tx.write_alerts(drafts + drafts, actor="matcher")
        assert tx.list_alerts(AlertFilter()) == queue
        assert sum(len(tx.alert_events(a.id)) for a in queue) == 4
    assert (len(first.raised), first.grouped, first.unchanged) == (3, 1, 0)
    assert again == AlertWrite(raised=[], grouped=0, unchanged=8)


def test_posts_of_one_cluster_group_under_one_alert(store: SqlStore, world: World) -> None:
    with store.transaction() as tx:
        # Within one batch: the first post raises, its near-duplicate joins it.
        first = tx.write_alerts([draft(world, "a1"), draft(world, "a2")], actor="matcher")
    later = T0 + timedelta(minutes=20)
    with store.transaction() as tx:
        # Across batches: the active alert collects the next one.
        second = tx.write_alerts([draft(world, "a3", at=later)], actor="matcher")
    [alert_id] = first.raised
    assert (first.grouped, second.raised, second.grouped) == (1, [], 1)
    with store.transaction() as tx:
        alert = tx.get_alert(alert_id)
        posts = tx.alert_posts(alert_id)
        events = tx.alert_events(alert_id)
    assert alert is not None
    assert alert.post_count == 3
    assert alert.updated_at == later
    assert alert.post_id == world.posts["a1"].id  # the post that raised it stays its face
    assert posts == sorted(world.posts[n].id for n in ("a1", "a2", "a3"))
    assert [(e.action, e.at) for e in events] == [("raised", T0), ("grouped", T0), ("grouped", later)]


def test_a_claimed_alert_keeps_collecting_its_cluster(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")
    with store.transaction() as tx:
        claim(tx, alert_id, "alice")
        written = tx.write_alerts([draft(world, "a2")], actor="matcher")
        alert = tx.get_alert(alert_id)
    assert (written.raised, written.grouped) == ([], 1)
    assert alert is not None
    assert (alert.status, alert.assignee, alert.post_count) == ("claimed", "alice", 2)


def test_a_dismissed_alert_collects_nothing_more(store: SqlStore, world: World) -> None:
    alert_id = raise_one(store, world, "a1")
    with store.transaction() as tx:
        tx.transition_alert(
            alert_id,
            allowed_from=("open",),
            to_status="dismissed",
            action="dismissed",
            actor="alice",
            at=T0,
            disposition="not_actionable",
        )
        written = tx.write_alerts([draft(world, "a1"), draft(world, "a2")], actor="matcher")
        dismissed = tx.get_alert(alert_id)
    # The dismissed post is a replay; its near-duplicate is news and gets a fresh alert.
    assert (len(written.raised), written.grouped, written.unchanged) == (1, 0, 1)
    assert dismissed is not None
    assert (dismissed.status, dismissed.post_count) == ("dismissed", 1)
    with store.transaction() as tx:
        assert tx.alert_posts(written.raised[0]) == [world.posts["a2"].id]


def test_other_rules_and_unclustered_posts_raise_their_own_alerts(store: SqlStore, world: World) -> None:
    unclustered = draft(world, "b1", cluster_id=None)
    with store.transaction() as tx:
        written = tx.write_alerts(
            [draft(world, "a1"), draft(world, "a2", rule=world.other_rule), unclustered], actor="matcher"
        )
        again = tx.write_alerts([unclustered], actor="matcher")
    assert (len(written.raised), written.grouped) == (3, 0)
    assert again.unchanged == 1


def test_a_post_draft_without_its_post_is_refused(store: SqlStore, world: World) -> None:
    with store.transaction() as tx, pytest.raises(ValueError, match="needs the post"):
        tx.write_alerts([draft(world, "a1", post_id=None)], actor="matcher")


def _burst(world: World, start_minute: int, *, count: int = 3) -> AlertDraft:
    start = T0 + timedelta(minutes=start_minute)
    return AlertDraft(
        kind="burst",
        rule_id=world.rule,
        rule_version=1,
        severity="critical",
        created_at=start + timedelta(minutes=10),
        deadline=start + HOUR,
        post_id=world.posts["a1"].id,
        window_start=start,
        window_end=start + timedelta(minutes=10),
        post_count=count,
    )


def test_a_burst_is_raised_once_per_window(store: SqlStore, world: World) -> None:
    with store.transaction() as tx:
        assert tx.last_burst_end(world.rule) is None
        first = tx.write_alerts([_burst(world, 0)], actor="matcher")
        replay = tx.write_alerts([_burst(world, 0, count=4)], actor="matcher")
        nxt = tx.write_alerts([_burst(world, 30)], actor="matcher")
        alert = tx.get_alert(first.raised[0])
        last_end = tx.last_burst_end(world.rule)
        other_end = tx.last_burst_end(world.other_rule)
    assert (len(first.raised), replay.raised, replay.unchanged, len(nxt.raised)) == (1, [], 1, 1)
    assert alert is not None
    assert (alert.kind, alert.post_count, alert.window_start, alert.window_end) == (
        "burst",
        3,
        T0,
        T0 + timedelta(minutes=10),
    )
    assert (last_end, other_end) == (T0 + timedelta(minutes=40), None)


def test_a_burst_lists_the_rule_hits_inside_its_window(store: SqlStore, world: World) -> None:
    ids = {n: world.posts[n].id for n in ("a1", "a2", "b1", "c1")}
    hits = [
        (world.rule, ids["a1"], T0),
        (world.rule, ids["a2"], T0 + timedelta(minutes=10)),  # on the window's end: inside
        (world.rule, ids["b1"], T0 + timedelta(minutes=11)),
        (world.other_rule, ids["c1"], T0 + timedelta(minutes=5)),
    ]
    with store.transaction() as tx:
        tx.record_rule_hits(hits)
        [alert_id] = tx.write_alerts([_burst(world, 0)], actor="matcher").raised
        assert tx.alert_posts(alert_id) == sorted([ids["a1"], ids["a2"]])


def test_rule_hits_are_counted_by_post_time(store: SqlStore, world: World) -> None:
    ids = [world.posts[n].id for n in ("a1", "a2", "a3", "b1")]
    hits = [(world.rule, post_id, T0 + timedelta(minutes=5 * i)) for i, post_id in enumerate(ids)]
    with store.transaction() as tx:
        tx.record_rule_hits(hits)
        tx.record_rule_hits([*hits[:2], (world.other_rule, ids[0], T0)])  # replays count once
    with store.transaction() as tx:

        def count(since: int, until: int, rule: int = world.rule) -> int:
            window = {"since": T0 + timedelta(minutes=since), "until": T0 + timedelta(minutes=until)}
            return tx.count_rule_hits(rule, **window)

        # Hits at minutes 0, 5, 10 and 15; windows are half-open: [since, until).
        assert count(0, 16) == 4
        assert count(0, 15) == 3
        assert count(5, 15) == 2
        assert count(0, 10) + count(10, 20) == 4  # adjacent windows count each post once
        assert count(16, 60) == 0
        assert count(0, 60, world.other_rule) == 1


def test_the_queue_filters_and_sorts_by_deadline(store: SqlStore, world: World) -> None:
    def raise_(native: str, *, due: int, **kw: object) -> int:
        return raise_one(store, world, native, deadline=T0 + timedelta(minutes=due), **kw)

    a = raise_("a1", due=30, severity="critical")
    b = raise_("b1", due=10)
    c = raise_("c1", due=20, rule=world.other_rule, severity="low", at=T0 + HOUR)
    d = raise_("a1", due=10, rule=world.other_rule)  # same deadline as b: the older id first
    with store.transaction() as tx:
        claim(tx, c, "alice")

    def ids(**where: object) -> list[int]:
        with store.transaction() as tx:
            return [x.id for x in tx.list_alerts(AlertFilter(**where))]  # type: ignore[arg-type]

    assert ids() == [b, d, c, a]
    assert ids(statuses=("open",)) == [b, d, a]
    assert ids(statuses=("claimed", "dismissed")) == [c]
    assert ids(severities=("critical", "low")) == [c, a]
    assert ids(rule_id=world.other_rule) == [d, c]
    assert ids(assignee="alice") == [c]
    assert ids(platform="bluesky") == [b]
    assert ids(lang="en") == [d, c, a]  # c1 is en-GB, stored by primary subtag
    assert ids(lang="ES") == [b]
    assert ids(deadline_before=T0 + timedelta(minutes=20)) == [b, d]
    assert ids(created_since=T0 + HOUR) == [c]
    assert ids(statuses=("open",), platform="twitter", severities=("high",)) == [d]
    with store.transaction() as tx:
        assert [x.id for x in tx.list_alerts(AlertFilter(), limit=2)] == [b, d]


def test_concurrent_writers_raise_one_alert_per_cluster(store: SqlStore, world: World) -> None:
    natives = ["a1", "a2", "a3"]
    results = race(store, 3, lambda tx, i: tx.write_alerts([draft(world, natives[i])], actor=f"w{i}"))
    assert sum(len(r.raised) for r in results) == 1
    assert sum(r.grouped for r in results) == 2
    with store.transaction() as tx:
        [alert] = tx.list_alerts(AlertFilter())
        assert alert.post_count == 3
        assert len(tx.alert_posts(alert.id)) == 3


def test_concurrent_replays_raise_one_alert(store: SqlStore, world: World) -> None:
    drafts = [draft(world, "b1"), _burst(world, 0)]
    results = race(store, 4, lambda tx, i: tx.write_alerts(drafts, actor=f"w{i}"))
    assert sum(len(r.raised) for r in results) == 2
    assert sum(r.unchanged for r in results) == 6
    with store.transaction() as tx:
        assert len(tx.list_alerts(AlertFilter())) == 2
