"""The console's composite services and their store reads, on SQLite and PostgreSQL (frozen clock)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.people import ANA, BASIS, BO, RITA, SAM
from tests.services_layer.conftest import ctx  # noqa: F401  (the SQLite + PostgreSQL fixture)
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.alerts import claim_alert
from watchfloor.services.console_dashboard import dashboard
from watchfloor.services.console_posts import account_page, alert_page, post_page
from watchfloor.services.console_queue import dismiss_alerts, new_alerts, queue_page, watch_queue
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule
from watchfloor.store.ports import AlertFilter

ACTIVE = AlertFilter(statuses=("open", "claimed"))


def _tweet(native_id: str, who: str, text: str, minute: int, reply_to: str | None = None) -> str:
    return json.dumps(
        {
            "id_str": native_id,
            "created_at": f"Mon Oct 29 20:{minute:02d}:00 +0000 2012",
            "text": text,
            "in_reply_to_status_id_str": reply_to,
            "lang": "en",
            "user": {"id_str": f"u-{who}", "screen_name": who},
            "entities": {"hashtags": [{"text": "sandy"}], "urls": [], "user_mentions": []},
        }
    )


def _load(context: ServiceContext, tmp_path: Path) -> None:
    for name, query in (("Rescue", '"trapped" OR "stranded"'), ("Roof", "roof")):
        add_rule(context, actor=ANA, draft=RuleDraft(basis_id=BASIS, name=name, query=query, severity="high"))
    lines = [
        _tweet("100", "root", "Is the bridge open tonight?", 0),
        _tweet("101", "helper", "We are trapped on the roof near the bridge, water rising fast", 5, "100"),
        _tweet("102", "root", "Sending a boat now", 9, "101"),
        _tweet("103", "copier", "We are trapped on the roof near the bridge, water rising fast!!", 12),
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(context, actor=ANA, path=path)


def _post_id(context: ServiceContext, native_id: str) -> int:
    with context.store.transaction() as tx:
        return tx.posts_by_keys([("twitter", native_id)])[0].id


def test_queue_live_stream_and_bulk_dismissal(ctx: ServiceContext, tmp_path: Path) -> None:  # noqa: F811
    start = watch_queue(ctx, actor=ANA, where=ACTIVE, after_id=None)
    assert start == 0 and new_alerts(ctx, actor=ANA, where=ACTIVE, after_id=start).rows == []
    _load(ctx, tmp_path)
    page = queue_page(ctx, actor=ANA, where=ACTIVE)
    assert [name for _, name in page.rules] == ["Rescue", "Roof"]
    assert len(page.rows) == 2 and page.latest_id == max(r.view.alert.id for r in page.rows)
    assert all(r.view.alert.post_count == 2 for r in page.rows)  # the copy grouped into each
    cluster = page.rows[0].cluster
    assert sorted(cluster) == sorted(r.view.alert.id for r in page.rows)
    live = new_alerts(ctx, actor=ANA, where=ACTIVE, after_id=start)
    assert [r.view.alert.id for r in live.rows] == sorted(cluster)
    assert new_alerts(ctx, actor=ANA, where=AlertFilter(severities=("low",)), after_id=start).rows == []
    claim_alert(ctx, actor=BO, alert_id=cluster[0])
    done = dismiss_alerts(ctx, actor=ANA, alert_ids=cluster, disposition="duplicate")
    assert [a.id for a in done.dismissed] == cluster[1:] and done.skipped == cluster[:1]  # bo holds one
    assert len(dismiss_alerts(ctx, actor=SAM, alert_ids=cluster, disposition="duplicate").dismissed) == 1
    with pytest.raises(PermissionDenied):
        dismiss_alerts(
            ctx,
            actor=RITA,
            alert_ids=cluster,
            disposition="duplicate",
        )


def test_post_context_and_the_account_rule(ctx: ServiceContext, tmp_path: Path) -> None:  # noqa: F811
    _load(ctx, tmp_path)
    context = post_page(ctx, actor=ANA, post_id=_post_id(ctx, "101"), basis_id=BASIS)
    assert [p.post.native_id for p in context.parents] == ["100"]
    assert [p.post.native_id for p in context.replies] == ["102"]
    assert [p.post.native_id for p in context.near_duplicates] == ["103"]
    page = alert_page(ctx, actor=ANA, alert_id=1, basis_id=None)  # the rule's basis
    assert page.context is not None and page.rule.name == "Rescue" and page.context.basis_id == BASIS
    assert [p.post.native_id for p in page.grouped_posts] == ["103"]
    mine = account_page(ctx, actor=ANA, post_id=_post_id(ctx, "100"), basis_id=BASIS, session_key="s1")
    assert [p.post.native_id for p in mine.posts] == ["102"]
    for session in range(2, ctx.settings.view_threshold_sessions + 1):
        account_page(ctx, actor=ANA, post_id=_post_id(ctx, "100"), basis_id=BASIS, session_key=f"s{session}")
    with pytest.raises(PermissionDenied, match="watch"):
        account_page(ctx, actor=ANA, post_id=_post_id(ctx, "100"), basis_id=BASIS, session_key="one too many")


def test_dashboard_counts(ctx: ServiceContext, tmp_path: Path) -> None:  # noqa: F811
    _load(ctx, tmp_path)
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(minutes=10))
    claim_alert(ctx, actor=ANA, alert_id=1)
    board = dashboard(ctx, actor=ANA, hours=24)
    assert len(board.alerts_by_rule.starts) == 24 and board.alerts_by_rule.total == 2
    assert {s.label: sum(s.counts) for s in board.alerts_by_rule.series} == {"Rescue": 1, "Roof": 1}
    assert board.alerts_by_rule.series[0].counts[-1] == 1  # raised in the current hour
    assert {s.label: sum(s.counts) for s in board.posts_by_language.series} == {"en": 4}
    assert board.sla.raised == 2 and board.sla.claimed == 1 and board.sla.median_seconds_to_claim == 600
    assert board.sla.claimed_within_deadline == 1 and board.imports[0].inserted == 4
    assert dashboard(ctx, actor=ANA, hours=24 * 7).alerts_by_rule.total == 2
