"""Rules, matching on arrival, the alert queue and handover, through the service layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.people import ANA, BASIS, BO, SAM
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import Conflict, InputError, PermissionDenied, QuerySyntaxError
from watchfloor.domain.rules import RuleDraft, VolumeSpec
from watchfloor.services import alerts as alert_svc
from watchfloor.services.context import ServiceContext
from watchfloor.services.handover import add_handover_note, handover_summary
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule, backtest_rule, edit_rule, set_account_list, set_rule_active
from watchfloor.services.watches import approve_watch, request_watch
from watchfloor.store.ports import AlertFilter


def _posts_file(tmp_path: Path, rows: list[tuple[str, str, str, str]], name: str = "posts.csv") -> Path:
    """A generic CSV of (id, author, time, text) rows."""
    path = tmp_path / name
    lines = ["id,author,created_at,text"] + [",".join(json.dumps(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(ctx: ServiceContext, path: Path) -> int:
    report = import_file(ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    return report.alerts_raised


def _open(ctx: ServiceContext) -> list[alert_svc.AlertView]:
    return alert_svc.list_alerts(ctx, actor=ANA, where=AlertFilter(statuses=("open", "claimed")))


ROWS = [
    ("1", "ana_w", "2012-10-29T20:00:00Z", "We are trapped on the roof, the flood water keeps rising"),
    ("2", "bo_x", "2012-10-29T20:05:00Z", "Lovely sunset over the river tonight"),
    ("3", "cy_z", "2012-10-29T20:10:00Z", "Stranded near the station, flooding everywhere, need rescue"),
]
RESCUE = '("trapped" OR "need rescue" OR "stranded") NEAR/5 (flood* OR water)'


def test_posts_raise_one_alert_per_rule_and_post_with_evidence_and_deadline(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    rule = add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Rescue", query=RESCUE, severity="high")
    )
    path = _posts_file(tmp_path, ROWS)
    assert _import(ctx, path) == 2
    assert _import(ctx, path) == 0  # re-importing raises nothing new
    views = _open(ctx)
    assert {v.post.post.native_id for v in views if v.post} == {"1", "3"}
    first = next(v for v in views if v.post and v.post.post.native_id == "1")
    assert first.alert.rule_id == rule.id and first.alert.rule_version == 1
    assert first.alert.deadline == ctx.clock.now() + timedelta(hours=1)
    text = first.post.post.searchable_text() if first.post else ""
    assert {text[s:e].casefold() for s, e in first.alert.spans} >= {"trapped", "flood"}


def test_editing_pausing_and_resuming_a_rule(ctx: ServiceContext, tmp_path: Path) -> None:
    rule = add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Sunset", query="sunset", severity="low")
    )
    _import(ctx, _posts_file(tmp_path, ROWS[:2], "a.csv"))
    edit_rule(ctx, actor=SAM, rule_id=rule.id, query="sunset OR sunrise", change_note="both ends of the day")
    _import(ctx, _posts_file(tmp_path, [("4", "d", "2012-10-30T06:00:00Z", "sunrise again")], "b.csv"))
    versions = sorted((v.post.post.native_id, v.alert.rule_version) for v in _open(ctx) if v.post)
    assert versions == [("2", 1), ("4", 2)]
    set_rule_active(ctx, actor=ANA, rule_id=rule.id, active=False)
    assert _import(ctx, _posts_file(tmp_path, [("5", "e", "2012-10-30T07:00:00Z", "sunset")], "c.csv")) == 0
    set_rule_active(ctx, actor=ANA, rule_id=rule.id, active=True)
    assert _import(ctx, _posts_file(tmp_path, [("6", "f", "2012-10-30T08:00:00Z", "sunset")], "d.csv")) == 1


def test_near_duplicates_group_under_one_alert(ctx: ServiceContext, tmp_path: Path) -> None:
    add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Dam", query='"dam broke"', severity="critical")
    )
    text = "Evacuate now the dam broke upstream and the valley road is closed to all traffic"
    rows = [
        ("1", "a", "2013-06-20T10:00:00Z", text),
        ("2", "b", "2013-06-20T10:01:00Z", text.upper() + "!!"),
        ("3", "c", "2013-06-20T10:02:00Z", text + " please"),
    ]
    _import(ctx, _posts_file(tmp_path, rows))
    [view] = _open(ctx)
    assert view.alert.post_count == 3


def test_volume_rule_raises_one_burst_per_window(ctx: ServiceContext, tmp_path: Path) -> None:
    add_rule(
        ctx,
        actor=ANA,
        draft=RuleDraft(
            basis_id=BASIS,
            name="Burst",
            query="outage",
            severity="medium",
            volume=VolumeSpec(threshold=3, window_minutes=10),
        ),
    )
    base = datetime(2013, 1, 1, 9, 0, tzinfo=UTC)
    rows = [
        (
            str(i),
            f"u{i}",
            (base + timedelta(minutes=i)).isoformat(),
            f"power outage report number {i} downtown street {i * 7}",
        )
        for i in range(5)
    ]
    _import(ctx, _posts_file(tmp_path, rows))
    bursts = [v for v in _open(ctx) if v.alert.kind == "burst"]
    assert len(bursts) == 1 and bursts[0].alert.post_count >= 3
    assert all(v.alert.kind == "burst" for v in _open(ctx))  # volume rules never raise per-post alerts


def test_account_list_rules_match_members_only(ctx: ServiceContext, tmp_path: Path) -> None:
    with pytest.raises(QuerySyntaxError, match="does not exist"):
        add_rule(
            ctx,
            actor=ANA,
            draft=RuleDraft(basis_id=BASIS, name="Agencies", query="from:@agencies", severity="low"),
        )
    set_account_list(ctx, actor=ANA, name="agencies", members=["@Ana_W", "cy_z"])
    for handle in ("ana_w", "cy_z"):  # named accounts: nothing is alerted without an approved watch
        watch = request_watch(ctx, actor=ANA, subject=handle, basis_id=BASIS, reason="agency accounts")
        approve_watch(ctx, actor=SAM, watch_id=watch.id)
    add_rule(
        ctx,
        actor=ANA,
        draft=RuleDraft(basis_id=BASIS, name="Agencies", query="from:@agencies", severity="low"),
    )
    _import(ctx, _posts_file(tmp_path, ROWS))
    assert sorted(v.post.post.native_id for v in _open(ctx) if v.post) == ["1", "3"]


def test_claims_are_exclusive_and_every_transition_is_recorded(ctx: ServiceContext, tmp_path: Path) -> None:
    add_rule(ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Rescue", query=RESCUE, severity="high"))
    _import(ctx, _posts_file(tmp_path, ROWS))
    alert_id = _open(ctx)[0].alert.id
    alert_svc.claim_alert(ctx, actor=ANA, alert_id=alert_id)
    with pytest.raises(Conflict, match="claimed by ana"):
        alert_svc.claim_alert(ctx, actor=BO, alert_id=alert_id)
    with pytest.raises(PermissionDenied, match="own only"):  # someone else's claim: a supervisor's call
        alert_svc.dismiss_alert(ctx, actor=BO, alert_id=alert_id, disposition="false_positive")
    with pytest.raises(InputError, match="disposition must be one of"):
        alert_svc.dismiss_alert(ctx, actor=ANA, alert_id=alert_id, disposition="meh")
    alert_svc.dismiss_alert(ctx, actor=ANA, alert_id=alert_id, disposition="false_positive", note="lyrics")
    alert_svc.reopen_alert(ctx, actor=SAM, alert_id=alert_id, note="actually real")
    alert_svc.escalate_alert(ctx, actor=BO, alert_id=alert_id)
    detail = alert_svc.show_alert(ctx, actor=ANA, alert_id=alert_id)
    steps = [(e.actor, e.action, e.to_status) for e in detail.events]
    assert steps == [
        ("ana", "raised", "open"),
        ("ana", "claimed", "claimed"),
        ("ana", "dismissed", "dismissed"),
        ("sam", "reopened", "open"),
        ("bo", "escalated", "escalated"),
    ]
    assert detail.rule.query == RESCUE


def test_breaches_are_recorded_once_and_handover_reports_them(ctx: ServiceContext, tmp_path: Path) -> None:
    add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Rescue", query=RESCUE, severity="critical")
    )
    _import(ctx, _posts_file(tmp_path, ROWS))
    claimed = _open(ctx)[0].alert.id
    alert_svc.claim_alert(ctx, actor=BO, alert_id=claimed)
    add_handover_note(ctx, actor=BO, text="rescue rule fires on song lyrics too")
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(timedelta(minutes=16))  # critical SLA is 15 minutes
    assert len(alert_svc.sweep_breaches(ctx, actor=SAM)) == 2
    assert alert_svc.sweep_breaches(ctx, actor=SAM) == []
    summary = handover_summary(ctx, actor=ANA)
    assert {a.id for a in summary.breached_in_shift} == {v.alert.id for v in _open(ctx)}
    assert [a.id for a in summary.claimed_untouched] == []  # claimed 16 min ago: still within 30 min
    ctx.clock.advance(timedelta(minutes=20))
    summary = handover_summary(ctx, actor=ANA)
    assert [a.id for a in summary.claimed_untouched] == [claimed]
    assert [n.text for n in summary.notes] == ["rescue rule fires on song lyrics too"]
    assert len(summary.open_by_severity["critical"]) == 2


def test_backtest_shows_volume_spread_and_sample(ctx: ServiceContext, tmp_path: Path) -> None:
    _import(ctx, _posts_file(tmp_path, ROWS))
    result = backtest_rule(ctx, actor=ANA, query=RESCUE, sample_size=1)
    assert result.matched == 2 and result.accounts == 2
    assert sum(result.per_day.values()) == 2
    assert result.per_platform == {"twitter": 2}
    [(item, spans)] = result.sample
    assert spans and item.post.native_id in {"1", "3"}
