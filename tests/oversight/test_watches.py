"""Named-account watches: approval by a second person, expiry, renewal, the register, and matching."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from tests.oversight.conftest import Posts, events
from tests.people import ADMIN, ANA, AUDITOR, BASIS, BO, SAM
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, InputError, PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.query.parser import parse_query
from watchfloor.services.alerts import list_alerts
from watchfloor.services.context import ServiceContext
from watchfloor.services.matching import NewPost, match_and_alert
from watchfloor.services.rules import add_rule, set_account_list
from watchfloor.services.watches import (
    approve_watch,
    authorised_subjects,
    cancel_watch,
    deny_watch,
    list_watches,
    renew_watch,
    request_watch,
)
from watchfloor.store.ports import AlertFilter

SUPERVISOR_2 = Actor(name="sue", roles=frozenset({"supervisor"}))


def _rule(ctx: ServiceContext, query: str) -> int:
    return add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name=query, query=query, severity="low")
    ).id


def _authors(ctx: ServiceContext, rule_id: int) -> list[str]:
    views = list_alerts(ctx, actor=ANA, where=AlertFilter(rule_id=rule_id))
    return sorted(v.post.post.author_handle or "" for v in views if v.post)


def _watch(ctx: ServiceContext, subject: str = "cy_z", **kwargs: object) -> int:
    return request_watch(
        ctx, actor=ANA, subject=subject, basis_id=BASIS, reason="threats against staff", **kwargs
    ).id


def test_watch_requires_approval(ctx: ServiceContext, posts: Posts) -> None:
    named = _rule(ctx, "from:cy_z")
    general = _rule(ctx, "flood")
    watch_id = _watch(ctx)
    posts.add(("cy_z", "the flood is here"), ("bo_x", "flood again"))
    assert _authors(ctx, named) == []  # requested is not approved: nothing alerted for cy_z
    assert _authors(ctx, general) == ["bo_x", "cy_z"]  # rules naming no one are not affected
    approve_watch(ctx, actor=SAM, watch_id=watch_id, note="proportionate")
    posts.add(("cy_z", "another post from me"))
    assert _authors(ctx, named) == ["cy_z"]


def test_only_the_named_part_of_a_rule_needs_a_watch(ctx: ServiceContext, posts: Posts) -> None:
    either = _rule(ctx, "from:cy_z OR sunset")
    excluding = _rule(ctx, "sunset -from:bo_x")
    posts.add(("cy_z", "sunset over the flood"), ("ana_w", "what a sunset"), ("bo_x", "sunset!"))
    assert _authors(ctx, either) == ["ana_w", "bo_x", "cy_z"]  # cy_z's post also says sunset
    posts.add(("cy_z", "nothing to see"))
    assert _authors(ctx, either) == ["ana_w", "bo_x", "cy_z"]  # no alert through from:cy_z alone
    assert _authors(ctx, excluding) == ["ana_w", "cy_z"]  # excluding someone targets no one


def test_account_list_rules_alert_only_for_watched_members(ctx: ServiceContext, posts: Posts) -> None:
    set_account_list(ctx, actor=ANA, name="people", members=["cy_z", "ana_w"])
    listed = _rule(ctx, "from:@people")
    approve_watch(ctx, actor=SAM, watch_id=_watch(ctx, "CY_Z"))
    posts.add(("cy_z", "one"), ("ana_w", "two"), ("bo_x", "three"))
    assert _authors(ctx, listed) == ["cy_z"]


def test_a_platform_watch_covers_only_that_platform(ctx: ServiceContext, posts: Posts) -> None:
    named = _rule(ctx, "from:cy_z")
    approve_watch(ctx, actor=SAM, watch_id=_watch(ctx, platform="bluesky"))
    with ctx.store.transaction() as tx:
        assert authorised_subjects(tx, ctx.clock.now()) == frozenset({"bluesky:cy_z"})
    posts.add(("cy_z", "on twitter"), platform="twitter")
    assert _authors(ctx, named) == []
    posts.add(("cy_z", "on bluesky"), platform="bluesky")
    assert _authors(ctx, named) == ["cy_z"]


def test_withheld_matches_are_counted(ctx: ServiceContext, posts: Posts) -> None:
    _rule(ctx, "from:cy_z")
    posts.add(("cy_z", "a post"), ("cy_z", "a second post"))
    with ctx.store.transaction() as tx:
        stored = list(tx.search(parse_query("from:cy_z"), limit=10))
        written = match_and_alert(
            tx,
            cache=ctx.matchers,
            posts=[NewPost(id=p.id, post=p.post, cluster_id=p.cluster_id) for p in stored],
            settings=ctx.settings,
            now=ctx.clock.now(),
            actor="test",
        )
    assert written.withheld == 2 and written.raised == []


def test_self_approval_forbidden(ctx: ServiceContext) -> None:
    own = request_watch(ctx, actor=SAM, subject="cy_z", basis_id=BASIS, reason="threats")
    with pytest.raises(PermissionDenied, match="second person"):
        approve_watch(ctx, actor=SAM, watch_id=own.id)
    with pytest.raises(PermissionDenied):
        approve_watch(ctx, actor=BO, watch_id=own.id)  # an analyst, not a supervisor
    with pytest.raises(PermissionDenied):
        approve_watch(ctx, actor=ADMIN, watch_id=own.id)
    refused = events(ctx, "watches.approve")
    assert [e.outcome for e in refused] == ["denied"] * 3
    assert refused[-1].actor == "sam" and refused[-1].object_ids == (f"watch:{own.id}",)
    approved = approve_watch(ctx, actor=SUPERVISOR_2, watch_id=own.id)
    assert approved.approver == "sue" and approved.status == "approved"


def test_only_a_requested_watch_is_decided(ctx: ServiceContext) -> None:
    first, second = _watch(ctx), _watch(ctx, "bo_x")
    with pytest.raises(InputError, match="--note"):
        deny_watch(ctx, actor=SAM, watch_id=second, note=" ")
    denied = deny_watch(ctx, actor=SAM, watch_id=second, note="not proportionate")
    assert denied.status == "denied" and denied.expires_at is None
    approved = approve_watch(ctx, actor=SAM, watch_id=first)
    assert approved.starts_at == ctx.clock.now()
    assert approved.expires_at == ctx.clock.now() + timedelta(days=90)
    with pytest.raises(Conflict, match="only a requested watch"):
        approve_watch(ctx, actor=SUPERVISOR_2, watch_id=first)
    with pytest.raises(Conflict, match="denied"):
        approve_watch(ctx, actor=SAM, watch_id=second)


def test_request_checks_its_input(ctx: ServiceContext) -> None:
    with pytest.raises(InputError, match="1 to 90 days"):
        _watch(ctx, days=91)
    with pytest.raises(InputError, match="reason"):
        request_watch(ctx, actor=ANA, subject="cy_z", basis_id=BASIS, reason=" ")
    with pytest.raises(InputError, match="Unknown platform"):
        _watch(ctx, platform="myspace")
    with pytest.raises(InputError, match="not an account handle"):
        _watch(ctx, "two words")
    with pytest.raises(PermissionDenied):
        request_watch(ctx, actor=AUDITOR, subject="cy_z", basis_id=BASIS, reason="curious")
    first = _watch(ctx, days=10)
    with pytest.raises(Conflict, match=f"watch {first} on @cy_z is already requested"):
        _watch(ctx, "@CY_Z")
    assert _watch(ctx, platform="bluesky") != first  # another platform is another watch
    assert [e.outcome for e in events(ctx, "watches.request")][:2] == ["ok", "denied"]


def test_watch_expiry_timetravel(ctx: ServiceContext, posts: Posts) -> None:
    named = _rule(ctx, "from:cy_z")
    approve_watch(ctx, actor=SAM, watch_id=_watch(ctx, days=10))
    posts.add(("cy_z", "day one"))
    ctx.clock.advance(timedelta(days=10))  # type: ignore[attr-defined]
    posts.add(("cy_z", "day ten, the watch has run out"))
    assert len(_authors(ctx, named)) == 1
    [view] = list_watches(ctx, actor=AUDITOR)
    assert view.state == "expired" and not view.in_force and not view.stopped_by_basis
    assert list_watches(ctx, actor=AUDITOR, state="approved") == []


def test_renewal_needs_new_approval(ctx: ServiceContext, posts: Posts) -> None:
    named = _rule(ctx, "from:cy_z")
    old = _watch(ctx, days=10)
    with pytest.raises(Conflict, match="only an approved or expired watch"):
        renew_watch(ctx, actor=ANA, watch_id=old)
    approve_watch(ctx, actor=SAM, watch_id=old)
    renewal = renew_watch(ctx, actor=ANA, watch_id=old, reason="threats continue")
    assert renewal.status == "requested" and renewal.renewal_of == old and renewal.days == 10
    with pytest.raises(Conflict, match="already waiting"):
        renew_watch(ctx, actor=ANA, watch_id=old)
    ctx.clock.advance(timedelta(days=11))  # type: ignore[attr-defined]
    posts.add(("cy_z", "after the first watch ran out"))
    assert _authors(ctx, named) == []  # the renewal is not approved yet
    approve_watch(ctx, actor=SAM, watch_id=renewal.id)
    posts.add(("cy_z", "under the renewed watch"))
    assert _authors(ctx, named) == ["cy_z"]
    states = {v.watch.id: v.state for v in list_watches(ctx, actor=SAM)}
    assert states == {old: "expired", renewal.id: "approved"}


def test_cancel(ctx: ServiceContext, posts: Posts) -> None:
    named = _rule(ctx, "from:cy_z")
    mine, other = _watch(ctx), _watch(ctx, "bo_x")
    approve_watch(ctx, actor=SAM, watch_id=mine)
    with pytest.raises(PermissionDenied):
        cancel_watch(ctx, actor=BO, watch_id=mine)  # analysts cancel only their own
    assert cancel_watch(ctx, actor=ANA, watch_id=mine).cancelled_by == "ana"
    assert cancel_watch(ctx, actor=SAM, watch_id=other, reason="no longer needed").status == "cancelled"
    with pytest.raises(Conflict, match="already cancelled"):
        cancel_watch(ctx, actor=ANA, watch_id=mine)
    posts.add(("cy_z", "after cancellation"))
    assert _authors(ctx, named) == []


def test_register_matches_db(ctx: ServiceContext) -> None:
    requested = _watch(ctx, "a1")
    approved = _watch(ctx, "a2")
    approve_watch(ctx, actor=SAM, watch_id=approved)
    denied = _watch(ctx, "a3")
    deny_watch(ctx, actor=SAM, watch_id=denied, note="no")
    cancelled = _watch(ctx, "a4")
    cancel_watch(ctx, actor=ANA, watch_id=cancelled)
    short = _watch(ctx, "a5", days=1)
    approve_watch(ctx, actor=SAM, watch_id=short)
    ctx.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    register = list_watches(ctx, actor=AUDITOR)
    with ctx.store.transaction() as tx:
        stored = tx.list_watches()
        keys = authorised_subjects(tx, ctx.clock.now())
    assert [v.watch for v in register] == stored
    assert {v.watch.id: v.state for v in register} == {
        requested: "requested",
        approved: "approved",
        denied: "denied",
        cancelled: "cancelled",
        short: "expired",
    }
    assert {v.watch.subject for v in register if v.in_force} == keys == {"a2"}
    for state in ("requested", "approved", "denied", "cancelled", "expired"):
        assert len(list_watches(ctx, actor=SAM, state=state)) == 1
    with pytest.raises(InputError, match="--state"):
        list_watches(ctx, actor=SAM, state="pending")
    listed = events(ctx, "watches.list")
    assert listed[0].outcome == "error" and listed[-1].details == {"state": None, "count": 5, "in_force": 1}
    details = events(ctx, "watches.approve")[0].details  # the latest: a5's
    assert details["subject_sha256"] == hashlib.sha256(b"a5").hexdigest()
    assert "a5" not in details.values()  # a digest, not the handle
