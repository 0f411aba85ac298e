"""Builders for alert tests: a store holding two rules and a few posts, and drafts about those posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from tests.store.helpers import make_post, prepared
from watchfloor.domain.alerts import Alert, AlertDraft
from watchfloor.domain.rules import RuleDraft
from watchfloor.store.engine import SqlStore
from watchfloor.store.ports import StoredPost
from watchfloor.store.sqlstore import SqlTx

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SAME_STORY = "Water is rising fast on Main Street"


class World(msgspec.Struct, frozen=True, kw_only=True):
    rule: int
    other_rule: int
    posts: dict[str, StoredPost]  # by native id


def build_world(store: SqlStore) -> World:
    """Rules "flood" and "bridge"; posts a1-a3 are one near-duplicate cluster, b1 and c1 stand alone."""
    items = [
        make_post("a1", SAME_STORY, langs=("en",)),
        make_post("a2", SAME_STORY, langs=("en",)),
        make_post("a3", SAME_STORY, langs=("en",)),
        make_post("b1", "Se inunda la calle mayor", langs=("es",), platform="bluesky"),
        make_post("c1", "Bridge closed downtown", langs=("en-GB",)),
    ]
    with store.transaction() as tx:
        written = tx.write_posts([prepared(p) for p in items], import_id=None)
        stored = {s.post.native_id: s for s in tx.get_posts(written.inserted_ids)}
        rule = tx.create_rule(RuleDraft(name="flood", query="water", severity="high"), owner="lead", at=T0)
        other = tx.create_rule(RuleDraft(name="bridge", query="bridge", severity="low"), owner="lead", at=T0)
    clusters = {native: s.cluster_id for native, s in stored.items()}
    assert clusters["a1"] == clusters["a2"] == clusters["a3"] is not None
    assert len({clusters["a1"], clusters["b1"], clusters["c1"]}) == 3
    return World(rule=rule.id, other_rule=other.id, posts=stored)


def draft(
    world: World, native_id: str, *, rule: int | None = None, at: datetime = T0, **kw: Any
) -> AlertDraft:
    """A post-alert draft for one of the world's posts, due an hour after ``at`` unless told."""
    post = world.posts[native_id]
    values: dict[str, Any] = {
        "kind": "post",
        "rule_id": world.rule if rule is None else rule,
        "rule_version": 1,
        "severity": "high",
        "created_at": at,
        "deadline": at + HOUR,
        "post_id": post.id,
        "cluster_id": post.cluster_id,
    }
    values.update(kw)
    return AlertDraft(**values)


def raise_one(store: SqlStore, world: World, native_id: str, **kw: Any) -> int:
    with store.transaction() as tx:
        [alert_id] = tx.write_alerts([draft(world, native_id, **kw)], actor="matcher").raised
    return alert_id


def claim(tx: SqlTx, alert_id: int, who: str, *, at: datetime = T0) -> Alert | None:
    return tx.transition_alert(
        alert_id,
        allowed_from=("open",),
        to_status="claimed",
        action="claimed",
        actor=who,
        at=at,
        assignee=who,
    )
