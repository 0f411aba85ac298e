"""The retention purge under time travel: what expires goes everywhere, holds and open cases keep theirs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.casework.conftest import (
    ADA,
    ANA,
    AUDREY,
    SUE,
    add_flood_rule,
    alert_of,
    import_rows,
    make_basis,
    stored,
)
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import PermissionDenied
from watchfloor.domain.oversight import RetentionCounts
from watchfloor.query.parser import parse_query
from watchfloor.services import cases
from watchfloor.services.audit import verify_log
from watchfloor.services.context import ServiceContext
from watchfloor.services.retention import purge
from watchfloor.store.schema import alert_events, alert_posts, post_terms, raw_payloads

SYSTEM = Actor.system("retention-sweeper")


def _advance(ctx: ServiceContext, days: int) -> None:
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(timedelta(days=days))


def _fts_hits(ctx: ServiceContext, word: str) -> set[int]:
    """Post ids the full-text index itself still has for ``word`` (bypassing the posts table)."""
    with ctx.store.transaction() as tx:
        if ctx.store.dialect == "sqlite":
            sql = "SELECT rowid FROM posts_fts WHERE posts_fts MATCH :w"
        else:
            sql = "SELECT id FROM posts WHERE search_tsv @@ CAST(:w AS tsquery)"
        return {int(r[0]) for r in tx.conn.execute(text(sql), {"w": word})}  # type: ignore[attr-defined]


def _search(ctx: ServiceContext, query: str) -> set[int]:
    with ctx.store.transaction() as tx:
        return {p.id for p in tx.iter_search(parse_query(query))}


def _count(ctx: ServiceContext, table: object, where: object) -> int:
    with ctx.store.transaction() as tx:
        stmt = select(func.count()).select_from(table).where(where)  # type: ignore[arg-type]
        return int(tx.conn.execute(stmt).scalar_one())  # type: ignore[attr-defined]


def _counts(result: RetentionCounts) -> tuple[int, int, int, int, int]:
    return (
        result.cases,
        result.alerts,
        result.posts_unmatched,
        result.posts_of_expired_alerts,
        result.posts_deleted_by_platform,
    )


def test_retention_timetravel(ctx: ServiceContext, tmp_path: Path) -> None:
    basis = make_basis(ctx)
    add_flood_rule(ctx, basis)
    ids = import_rows(
        ctx,
        tmp_path,
        [
            ("1", "pelicans nesting quietly beside unmatchedword lagoon"),
            ("2", "flood alertonly water across the ring road junction"),
            ("3", "flood opencase cellar pumps failing on Gas Street"),
            ("4", "flood closedcase sandbags handed out at the depot"),
            ("5", "heldpost photograph of the old mill wheel"),
            ("6", "flood heldalert river gauge broke its record"),
        ],
        "t0.csv",
    )
    alerts = {n: alert_of(ctx, ids[n]) for n in ("2", "3", "4", "6")}
    open_case = cases.open_case(ctx, actor=ANA, title="Gas Street", basis_id=basis)
    cases.add_alert_to_case(ctx, actor=ANA, case_id=open_case.id, alert_id=alerts["3"])
    closed_case = cases.open_case(ctx, actor=ANA, title="Depot", basis_id=basis)
    cases.add_alert_to_case(ctx, actor=ANA, case_id=closed_case.id, alert_id=alerts["4"])
    cases.close_case(ctx, actor=ANA, case_id=closed_case.id)
    post_hold = cases.place_hold(ctx, actor=SUE, kind="post", object_id=ids["5"], reason="inquest")
    alert_hold = cases.place_hold(ctx, actor=SUE, kind="alert", object_id=alerts["6"], reason="inquest")
    assert _fts_hits(ctx, "unmatchedword") == {ids["1"]}
    with ctx.store.transaction() as tx:
        raw_digest = tx.conn.execute(  # type: ignore[attr-defined]
            text("SELECT raw_digest FROM posts WHERE id = :i"), {"i": ids["1"]}
        ).scalar_one()

    assert _counts(purge(ctx, actor=SYSTEM)) == (0, 0, 0, 0, 0)  # nothing has expired yet

    _advance(ctx, 31)
    fresh = import_rows(ctx, tmp_path, [("7", "pelicans again freshword")], "t31.csv")["7"]
    preview = purge(ctx, actor=ADA, dry_run=True)
    assert _counts(preview) == (0, 0, 1, 0, 0) and stored(ctx, [ids["1"]]) == {ids["1"]}
    result = purge(ctx, actor=ADA)
    assert _counts(result) == (0, 0, 1, 0, 0) and result.post_ids == [ids["1"]]
    assert stored(ctx, ids.values()) == set(ids.values()) - {ids["1"]}
    assert _fts_hits(ctx, "unmatchedword") == set() and _search(ctx, "unmatchedword") == set()
    assert _count(ctx, post_terms, post_terms.c.post_id == ids["1"]) == 0
    assert _count(ctx, raw_payloads, raw_payloads.c.digest == raw_digest) == 0
    assert _search(ctx, "pelicans") == {fresh}  # the index still works for what remains

    _advance(ctx, 150)  # day 181: alerts in no case expire, then the posts only they covered
    result = purge(ctx, actor=SYSTEM)
    assert _counts(result) == (0, 1, 1, 1, 0)
    assert result.alert_ids == [alerts["2"]] and sorted(result.post_ids) == sorted([ids["2"], fresh])
    assert _count(ctx, alert_events, alert_events.c.alert_id == alerts["2"]) == 0
    assert _count(ctx, alert_posts, alert_posts.c.alert_id == alerts["2"]) == 0
    kept = {ids["3"], ids["4"], ids["5"], ids["6"]}  # open case, closed case in its period, two holds
    assert stored(ctx, [*ids.values(), fresh]) == kept
    assert _fts_hits(ctx, "alertonly") == set()

    _advance(ctx, 185)  # day 366: the closed case expires, and with it its alert and post
    result = purge(ctx, actor=SYSTEM)
    assert _counts(result) == (1, 1, 0, 1, 0) and result.case_ids == [closed_case.id]
    assert stored(ctx, kept) == {ids["3"], ids["5"], ids["6"]}
    assert [c.id for c in cases.list_cases(ctx, actor=ANA)] == [open_case.id]

    cases.release_hold(ctx, actor=ADA, hold_id=post_hold.id)
    cases.release_hold(ctx, actor=ADA, hold_id=alert_hold.id)
    result = purge(ctx, actor=SYSTEM)
    assert _counts(result) == (0, 1, 1, 1, 0)
    assert stored(ctx, kept) == {ids["3"]}  # only the open case's evidence is left
    assert _search(ctx, "") == {ids["3"]}


def test_held_case_covers_its_alerts_and_posts(ctx: ServiceContext, tmp_path: Path) -> None:
    basis = make_basis(ctx)
    add_flood_rule(ctx, basis)
    ids = import_rows(ctx, tmp_path, [("1", "flood caseheld basement of the library")], "a.csv")
    case = cases.open_case(ctx, actor=ANA, title="Library", basis_id=basis)
    cases.add_alert_to_case(ctx, actor=ANA, case_id=case.id, alert_id=alert_of(ctx, ids["1"]))
    cases.close_case(ctx, actor=ANA, case_id=case.id)
    cases.place_hold(ctx, actor=SUE, kind="case", object_id=case.id, reason="litigation")
    _advance(ctx, 2000)
    assert _counts(purge(ctx, actor=SYSTEM)) == (0, 0, 0, 0, 0)
    assert stored(ctx, [ids["1"]]) == {ids["1"]}


def test_deleted_posts_purged_unless_held(ctx: ServiceContext, tmp_path: Path) -> None:
    basis = make_basis(ctx)
    add_flood_rule(ctx, basis)
    ids = import_rows(
        ctx,
        tmp_path,
        [
            ("21", "gone quietly from the timeline"),
            ("22", "flood gonecase on the towpath"),
            ("23", "gonehold statement from the mayor"),
            ("24", "still here by the canal"),
        ],
        "a.csv",
    )
    case = cases.open_case(ctx, actor=ANA, title="Towpath", basis_id=basis)
    cases.add_alert_to_case(ctx, actor=ANA, case_id=case.id, alert_id=alert_of(ctx, ids["22"]))
    cases.place_hold(ctx, actor=SUE, kind="post", object_id=ids["23"], reason="preserve for inquiry")
    notices = tmp_path / "deletes.jsonl"
    notices.write_text(
        "".join(f'{{"delete":{{"status":{{"id_str":"{n}"}}}}}}\n' for n in ("21", "22", "23", "99")),
        encoding="utf-8",
    )
    from watchfloor.services.ingest import import_file

    import_file(ctx, actor=ANA, path=notices, format_name="twitter-v1")
    result = purge(ctx, actor=SYSTEM)  # no time has passed: deletions go at the next purge
    assert _counts(result) == (0, 0, 0, 0, 2) and result.deleted_but_held == 1
    assert stored(ctx, ids.values()) == {ids["23"], ids["24"]}
    assert _fts_hits(ctx, "gonecase") == set()
    assert cases.show_case(ctx, actor=ANA, case_id=case.id).alert_ids  # the alert stays, its post went


def test_audit_verifies_after_purge(ctx: ServiceContext, tmp_path: Path) -> None:
    basis = make_basis(ctx)
    add_flood_rule(ctx, basis)
    import_rows(ctx, tmp_path, [("1", "flood one"), ("2", "nothing to see")], "a.csv")
    _advance(ctx, 400)
    with pytest.raises(PermissionDenied):
        purge(ctx, actor=ANA)
    with pytest.raises(PermissionDenied):
        purge(ctx, actor=SYSTEM, dry_run=True)  # a preview is for people: an admin or an auditor
    assert purge(ctx, actor=AUDREY, dry_run=True).posts == 2
    result = purge(ctx, actor=SYSTEM)
    assert (result.alerts, result.posts) == (1, 2)
    with ctx.store.transaction() as tx:
        events = tx.audit_events(action="retention.purge", limit=10)
    assert [(e.actor, e.outcome) for e in events] == [("retention-sweeper", "ok"), ("ana", "denied")]
    details = events[0].details
    assert details["posts_unmatched"] == 1 and details["posts_of_expired_alerts"] == 1
    assert isinstance(details["post_ids_sha256"], str) and len(details["post_ids_sha256"]) == 64
    assert events[0].object_ids == (f"alert:{result.alert_ids[0]}",)
    report = verify_log(ctx, actor=AUDREY)
    assert report.ok, report.problems
