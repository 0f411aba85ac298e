"""The repeated-viewing rule: one analyst, one account, too many sessions without a watch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.oversight.conftest import events
from tests.people import ANA, BASIS, BO, SAM
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import PermissionDenied
from watchfloor.query.parser import parse_query
from watchfloor.services.context import ServiceContext
from watchfloor.services.watches import (
    approve_watch,
    check_profile_views,
    note_profile_view,
    request_watch,
)


def _view(ctx: ServiceContext, session: str, subject: str = "cy_z", actor: Actor = ANA) -> None:
    note_profile_view(ctx, actor=actor, subject=subject, session_key=session)


def _views(ctx: ServiceContext) -> int:
    with ctx.store.transaction() as tx:
        return tx.count_account_views()


def test_profile_threshold(ctx: ServiceContext) -> None:
    for session in ("s1", "s2", "s3"):
        _view(ctx, session)
        _view(ctx, session, "@CY_Z")  # the same session again is not another session
    assert _views(ctx) == 3
    with pytest.raises(PermissionDenied, match=r"viewed @cy_z's posts in 3 sessions in the last 28 days"):
        _view(ctx, "s4")
    [refused, *_] = events(ctx, "accounts.view")
    assert refused.outcome == "denied" and refused.actor == "ana"
    assert "watchfloor watches request cy_z" in str(refused.details["reason"])
    assert _views(ctx) == 3  # a refused look is not counted
    _view(ctx, "s2")  # an already counted session may go on
    _view(ctx, "s4", actor=BO)  # another analyst has their own count
    _view(ctx, "s4", subject="bo_x")  # and another account its own


def test_threshold_counts_across_sessions(ctx: ServiceContext) -> None:
    for day, session in enumerate(("s1", "s2", "s3")):
        _view(ctx, session)
        ctx.clock.advance(timedelta(days=day + 1))  # type: ignore[attr-defined]
    # s1 was 6 days ago, s3 3 days ago: all inside the 28-day window
    with pytest.raises(PermissionDenied):
        _view(ctx, "s4")
    ctx.clock.advance(timedelta(days=22, seconds=1))  # type: ignore[attr-defined]
    # s1 is now more than 28 days old: out of the window
    _view(ctx, "s4")
    with pytest.raises(PermissionDenied):
        _view(ctx, "s5")


def test_a_watch_in_force_lifts_the_limit(ctx: ServiceContext) -> None:
    for session in ("s1", "s2", "s3"):
        _view(ctx, session)
    watch = request_watch(ctx, actor=ANA, subject="cy_z", basis_id=BASIS, reason="threats", days=5)
    with pytest.raises(PermissionDenied):
        _view(ctx, "s4")  # requested is not enough
    approve_watch(ctx, actor=SAM, watch_id=watch.id)
    _view(ctx, "s4")
    _view(ctx, "s5")
    ctx.clock.advance(timedelta(days=6))  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied, match="5 sessions"):
        _view(ctx, "s6")


def test_system_actors_are_not_counted(ctx: ServiceContext) -> None:
    system = Actor.system("scheduler")
    with ctx.store.transaction() as tx:
        for session in ("s1", "s2", "s3", "s4"):
            check_profile_views(tx, system, parse_query("from:cy_z"), session, ctx.clock.now(), ctx.settings)
        assert tx.count_account_views() == 0


def test_search_queries_count_each_account_they_look_at(ctx: ServiceContext) -> None:
    query = parse_query("(from:cy_z OR author:Bo_X OR from:cy_z) flood -from:ana_w")
    with ctx.store.transaction() as tx:
        seen = check_profile_views(tx, ANA, query, "s1", ctx.clock.now(), ctx.settings)
        assert seen == ["cy_z", "bo_x"]  # excluding an account is not looking at it
        for session in ("s2", "s3"):
            check_profile_views(tx, ANA, query, session, ctx.clock.now(), ctx.settings)
        with pytest.raises(PermissionDenied, match="@cy_z"):
            check_profile_views(tx, ANA, query, "s4", ctx.clock.now(), ctx.settings)
