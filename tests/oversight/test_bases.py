"""Legal bases: who may manage them, what they must say, and what stops when one ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.oversight.conftest import Posts, events
from tests.people import ADMIN, ANA, AUDITOR, BASIS, SAM
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import InputError, NotFound, PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.context import ServiceContext
from watchfloor.services.legal import (
    add_basis,
    enforce_basis_expiry,
    list_bases,
    retire_basis,
    show_basis,
)
from watchfloor.services.rules import add_rule, list_rules, set_rule_active
from watchfloor.services.search import count_posts
from watchfloor.services.watches import approve_watch, list_watches, request_watch

SCHEDULER = Actor.system("scheduler")


def _basis(ctx: ServiceContext, *, days: int | None = None, title: str = "Storm watch") -> int:
    expires = None if days is None else ctx.clock.now() + timedelta(days=days)
    return add_basis(
        ctx,
        actor=SAM,
        title=title,
        authority="Civil Contingencies Act 2004",
        purpose="Find people asking for rescue",
        necessity="Public posts only, for the storm's duration",
        expires_at=expires,
    ).id


def test_supervisors_manage_bases_everyone_reads_them(ctx: ServiceContext) -> None:
    basis = add_basis(
        ctx,
        actor=SAM,
        title=" Storm watch ",
        authority="Civil Contingencies Act 2004",
        purpose="Find people asking for rescue",
        necessity="Public posts only",
        review_at=ctx.clock.now() + timedelta(days=30),
    )
    assert basis.title == "Storm watch" and basis.owner == "sam" and basis.created_by == "sam"
    assert basis.state(ctx.clock.now()) == "active"
    assert show_basis(ctx, actor=AUDITOR, basis_id=basis.id) == basis
    assert [b.id for b in list_bases(ctx, actor=ANA)] == [BASIS, basis.id]
    with pytest.raises(PermissionDenied, match="supervisor"):
        add_basis(ctx, actor=ANA, title="t", authority="a", purpose="p", necessity="n")
    with pytest.raises(NotFound, match="basis list"):
        show_basis(ctx, actor=ANA, basis_id=999)
    assert events(ctx, "basis.add")[0].outcome == "denied"
    assert events(ctx, "basis.add")[1].object_ids == (f"basis:{basis.id}",)


@pytest.mark.parametrize("blank", ["title", "authority", "purpose", "necessity"])
def test_a_basis_must_say_each_part(ctx: ServiceContext, blank: str) -> None:
    fields = {"title": "t", "authority": "a", "purpose": "p", "necessity": "n", blank: "  "}
    with pytest.raises(InputError, match=f"--{blank}"):
        add_basis(ctx, actor=ADMIN, **fields)


def test_expiry_must_be_in_the_future(ctx: ServiceContext) -> None:
    with pytest.raises(InputError, match="not in the future"):
        _basis(ctx, days=-1)


def test_retire_needs_a_reason_and_happens_once(ctx: ServiceContext) -> None:
    basis_id = _basis(ctx)
    with pytest.raises(InputError, match="reason"):
        retire_basis(ctx, actor=SAM, basis_id=basis_id, reason=" ")
    retired = retire_basis(ctx, actor=SAM, basis_id=basis_id, reason="storm over")
    assert retired.state(ctx.clock.now()) == "retired" and retired.retired_reason == "storm over"
    with pytest.raises(InputError, match="already retired"):
        retire_basis(ctx, actor=SAM, basis_id=basis_id, reason="again")
    assert [b.id for b in list_bases(ctx, actor=ANA, include_inactive=False)] == [BASIS]


def test_basis_required_and_expiry(ctx: ServiceContext) -> None:
    """A rule, a watch and a search each refuse a missing, unknown, expired or retired basis."""
    expiring, retired = _basis(ctx, days=1), _basis(ctx, title="Old")
    retire_basis(ctx, actor=SAM, basis_id=retired, reason="superseded")
    ctx.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    calls = {
        "rule": lambda b: add_rule(
            ctx, actor=ANA, draft=RuleDraft(basis_id=b, name="r", query="flood", severity="low")
        ),
        "watch": lambda b: request_watch(ctx, actor=ANA, subject="cy_z", basis_id=b, reason="threats"),
        "search": lambda b: count_posts(ctx, actor=ANA, query="flood", basis_id=b),
    }
    for name, call in calls.items():
        with pytest.raises(InputError, match="watchfloor basis add"):
            call(None)
        with pytest.raises(InputError, match="does not exist: `watchfloor basis list`"):
            call(999)
        with pytest.raises(InputError, match=f"legal basis {expiring} .* is expired"):
            call(expiring)
        with pytest.raises(InputError, match=f"legal basis {retired} .* is retired"):
            call(retired)
        assert call(BASIS) is not None, name


def test_rules_pause_when_their_basis_expires(ctx: ServiceContext, posts: Posts) -> None:
    basis_id = _basis(ctx, days=3)
    storm = add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=basis_id, name="storm", query="flood", severity="low")
    )
    other = add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="rescue", query="rescue", severity="low")
    )
    assert posts.add(("ana_w", "flood rescue")) == 2
    assert enforce_basis_expiry(ctx, actor=SCHEDULER) == []
    ctx.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    # before the sweep: the rule is still active, but its expired basis raises nothing
    assert posts.add(("cy_z", "rescue boats out on the flood water")) == 1
    paused = enforce_basis_expiry(ctx, actor=SCHEDULER)
    assert [r.id for r in paused] == [storm.id] and paused[0].status == "paused"
    assert {r.id: r.status for r in list_rules(ctx, actor=ANA)} == {storm.id: "paused", other.id: "active"}
    assert posts.add(("bo_x", "another rescue call from the flood plain")) == 1  # the live basis's rule
    assert enforce_basis_expiry(ctx, actor=SCHEDULER) == []  # nothing left to stop
    ran = events(ctx, "basis.enforce")
    assert ran[1].object_ids == (f"rule:{storm.id}",) and ran[1].details["bases"] == [basis_id]
    assert ran[0].details["paused"] == 0
    with pytest.raises(InputError, match="expired"):
        set_rule_active(ctx, actor=ANA, rule_id=storm.id, active=True)
    with pytest.raises(PermissionDenied):
        enforce_basis_expiry(ctx, actor=ANA)


def test_watches_stop_when_their_basis_is_retired(ctx: ServiceContext) -> None:
    basis_id = _basis(ctx)
    watch = request_watch(ctx, actor=ANA, subject="@Cy_Z", basis_id=basis_id, reason="threats to staff")
    approve_watch(ctx, actor=SAM, watch_id=watch.id)
    [before] = list_watches(ctx, actor=SAM)
    assert before.state == "approved" and before.in_force and before.watch.subject == "cy_z"
    retire_basis(ctx, actor=SAM, basis_id=basis_id, reason="withdrawn by counsel")
    [after] = list_watches(ctx, actor=SAM)
    assert after.state == "expired" and not after.in_force
    assert after.stopped_by_basis and after.basis_state == "retired"
