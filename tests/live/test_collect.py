"""collect_batch: a live batch, its alerts and its source's cursor commit together or not at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.live.conftest import FakeFeeds
from tests.people import make_basis
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.rss import RssConnector
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, Permanent, PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.domain.sources import Source
from watchfloor.services import collect, rules, sources
from watchfloor.services.context import ServiceContext
from watchfloor.store.ports import AlertFilter
from watchfloor.store.sources_sql import SourcesSql

SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add_feed(ctx: ServiceContext, feeds: FakeFeeds, path: str = "/rss2.xml") -> Source:
    with ctx.store.transaction() as tx:
        basis = tx.list_bases()[0].id if tx.list_bases() else None
    basis = basis or make_basis(ctx)
    config = {"url": feeds.url(path)}
    return sources.add_source(ctx, actor=SAM, name="city", kind="rss", config=config, basis_id=basis)


def current(ctx: ServiceContext, source: Source) -> Source:
    with ctx.store.transaction() as tx:
        found = tx.get_source(source.id)
    assert found is not None
    return found


def post_count(ctx: ServiceContext) -> int:
    with ctx.store.transaction() as tx:
        return tx.stats().posts


def collect_events(ctx: ServiceContext) -> list[dict[str, object]]:
    with ctx.store.transaction() as tx:
        events = tx.audit_events(actor="runner", action="sources.collect", before=None, limit=100)
    return [dict(e.details) for e in events]


def test_a_batch_its_alerts_and_the_cursor_commit_together(ctx: ServiceContext, feeds: FakeFeeds) -> None:
    rules.add_rule(ctx, actor=SAM, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=1))
    source = add_feed(ctx, feeds)
    connector = RssConnector(feeds.url("/rss2.xml"), now=lambda: NOW)
    report = collect.run_once(ctx, source.id, connector)
    assert (report.inserted, report.alerts_raised) == (3, 1)
    after = current(ctx, source)
    assert after.cursor is not None and "etag" in after.cursor
    assert after.posts_total == 3 and after.last_success_at == ctx.clock.now()
    with ctx.store.transaction() as tx:
        (alert,) = tx.list_alerts(AlertFilter())
    assert alert.severity == "high"
    (event,) = collect_events(ctx)
    assert event["inserted"] == 3 and event["alerts_raised"] == 1 and event["source"] == "city"
    # Polling again at once: 304, nothing new and the cursor unmoved, so nothing is written (a quiet
    # stream polls many times a second; each empty batch would be an audit event).
    again = collect.run_once(ctx, source.id, connector)
    assert again.inserted == 0 and post_count(ctx) == 3
    assert current(ctx, source).cursor == after.cursor and len(collect_events(ctx)) == 1
    # A minute on, an empty batch is stored once more: the heartbeat `sources status` shows.
    ctx.clock.advance(collect.IDLE_HEARTBEAT)  # type: ignore[attr-defined]
    collect.run_once(ctx, source.id, connector)
    assert len(collect_events(ctx)) == 2 and current(ctx, source).last_success_at == ctx.clock.now()


def test_a_failure_before_commit_stores_nothing_and_keeps_the_cursor(
    ctx: ServiceContext, feeds: FakeFeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules.add_rule(ctx, actor=SAM, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=1))
    source = add_feed(ctx, feeds)
    batch = RssConnector(feeds.url("/rss2.xml"), now=lambda: NOW).fetch(None)

    def crash(self: object, source_id: int, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SourcesSql, "advance_source", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        collect.collect_batch(ctx, source, batch)
    assert post_count(ctx) == 0 and current(ctx, source).cursor is None
    with ctx.store.transaction() as tx:
        assert tx.list_alerts(AlertFilter()) == []
    monkeypatch.undo()
    assert collect.collect_batch(ctx, source, batch).inserted == 3  # the retry stores it all, once
    assert collect.collect_batch(ctx, current(ctx, source), batch).inserted == 0


def test_a_cursor_moved_by_someone_else_is_a_conflict(ctx: ServiceContext, feeds: FakeFeeds) -> None:
    source = add_feed(ctx, feeds)
    collect.collect_batch(ctx, source, Batch(next_cursor="page-2"))
    with pytest.raises(Conflict, match="cursor moved"):
        collect.collect_batch(ctx, source, Batch(next_cursor="page-2"))  # read after the stale cursor


def test_quarantined_entries_are_stored_with_their_reason(ctx: ServiceContext, feeds: FakeFeeds) -> None:
    source = add_feed(ctx, feeds, "/atom.xml")
    report = collect.run_once(ctx, source.id, RssConnector(feeds.url("/atom.xml"), now=lambda: NOW))
    assert (report.inserted, report.quarantined) == (1, 1)
    with ctx.store.transaction() as tx:
        (entry,) = tx.list_quarantine(limit=10)
    assert "neither a guid/id nor a link" in entry.reason


def test_a_permanent_error_fails_the_source_with_the_reason(ctx: ServiceContext, feeds: FakeFeeds) -> None:
    source = add_feed(ctx, feeds, "/gone.xml")
    collect.record_fetch_error(ctx, source, Permanent("GET /gone.xml: HTTP 404 Not Found"))
    failed = current(ctx, source)
    assert failed.status == "failed" and failed.error_count == 1 and "404" in (failed.last_error or "")
    assert collect.sources_to_run(ctx) == []


def test_only_the_runner_and_admins_collect(ctx: ServiceContext, feeds: FakeFeeds) -> None:
    source = add_feed(ctx, feeds)
    with pytest.raises(PermissionDenied):
        collect.collect_batch(ctx, source, Batch(), actor=SAM)


def test_a_source_following_named_accounts_is_not_collected_without_a_watch(ctx: ServiceContext) -> None:
    config = {"url": "ws://127.0.0.1:9/subscribe", "dids": ["did:plc:someone"]}
    source = sources.add_source(
        ctx, actor=SAM, name="people", kind="bluesky-jetstream", config=config, basis_id=make_basis(ctx)
    )
    assert source.unwatched == (("bluesky", "did:plc:someone"),)  # added: a watch may be on its way
    with pytest.raises(Permanent, match=r"no watch in force \(bluesky:did:plc:someone\)"):
        collect.collect_batch(ctx, source, Batch(next_cursor="1"))  # more: test_watched_sources.py
