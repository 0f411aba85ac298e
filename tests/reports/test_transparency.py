"""The transparency report: every number against an independent query, suppression, no personal data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.reports.conftest import ANA, AUD, REV, SAM, SUE, clock_of, conn_of
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.errors import InputError, PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import alerts as alert_svc
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.services.recording import record
from watchfloor.services.reports import Period, parse_period, render_html, shown, transparency_report
from watchfloor.services.rule_review import approve_rule
from watchfloor.services.rules import add_rule, edit_rule, set_rule_active
from watchfloor.services.search import count_posts, search_posts
from watchfloor.store.ports import AlertFilter
from watchfloor.store.rows import to_micros

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
OCT_15 = datetime(2026, 10, 15, tzinfo=UTC)
NOV_10 = datetime(2026, 11, 10, tzinfo=UTC)
DEC_05 = datetime(2026, 12, 5, tzinfo=UTC)
JAN_2027 = datetime(2027, 1, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)
AUTHORS = ["flood_watcher", "river_rat", "storm_chaser", "ana_w", "bo_x"]
SECRET_WORDS = ["Elm Street", "Hazel Avenue", "Subject Handle"]


def us(at: datetime) -> int:
    return to_micros(at)


def _posts(tmp_path: Path, name: str, texts: list[str], day: str) -> Path:
    path = tmp_path / name
    rows = ["id,author,created_at,text"]
    for i, body in enumerate(texts):
        author = AUTHORS[i % len(AUTHORS)]
        rows.append(",".join(json.dumps(c) for c in (f"{name}-{i}", author, f"{day}T08:00:00Z", body)))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _import(ctx: ServiceContext, path: Path) -> None:
    import_file(ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))


FLOOD_TEXTS = [
    "flood water at the bakery on Elm Street",
    "the flood reached our school gym this morning",
    "flood warning issued for the valley tonight",
    "cars floating in the flood near the station",
    "basement flood again, pumps failing",
    "flood closes the northern bridge",
    "river flood sweeps away the market stalls",
    "flood rescue boats seen on Hazel Avenue",
    "our farm lost to the flood completely",
    "flood damage to the library archive",
    "hospital generators holding despite the flood",
    "flood victims sheltering at the stadium",
]


def _insert(tx: Any, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        cols = ", ".join(row)
        conn_of(tx).execute(
            text(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in row)})"), row
        )


def _oversight_rows(ctx: ServiceContext, basis: int) -> None:
    """Watches, cases, holds, exports and checkpoints, written as plain rows (other teams' services)."""

    def watch(requested: datetime, status: str, **extra: Any) -> dict[str, Any]:
        return {"subject": "subject_handle", "basis_id": basis, "reason": "Subject Handle threats",
                "requester": "ana", "requested_us": us(requested), "status": status, "days": 30,
                **extra}  # fmt: skip

    nov = [NOV_10 + timedelta(days=i) for i in range(10)]
    watches = [watch(nov[i], "requested") for i in range(2)]
    watches += [
        watch(nov[i], "approved", approver="sam", decided_us=us(nov[i] + timedelta(hours=2)),
              starts_us=us(nov[i]), expires_us=us(nov[i] + timedelta(days=90)))
        for i in range(2, 6)
    ]  # fmt: skip
    watches.append(watch(nov[6], "denied", approver="sam", decided_us=us(nov[6] + timedelta(hours=1))))
    watches.append(watch(nov[7], "requested", renewal_of=3))
    watches.append(
        watch(nov[8], "cancelled", cancelled_by="ana", cancelled_us=us(nov[8] + timedelta(hours=3)))
    )
    # Approved in October, expired in November; another expired in November but was cancelled before.
    watches.append(watch(OCT_15, "approved", approver="sam", decided_us=us(OCT_15),
                         starts_us=us(OCT_15), expires_us=us(nov[3])))  # fmt: skip
    watches.append(watch(OCT_15, "cancelled", approver="sam", decided_us=us(OCT_15), starts_us=us(OCT_15),
                         expires_us=us(nov[5]), cancelled_by="sam", cancelled_us=us(nov[1])))  # fmt: skip
    # Approved in November, expiring in the future (not expired); a December request.
    watches.append(watch(nov[9], "approved", approver="sue", decided_us=us(nov[9]), starts_us=us(nov[9]),
                         expires_us=us(DEC_05 + timedelta(days=60)), renewal_of=1))  # fmt: skip
    watches.append(watch(DEC_05, "requested"))

    def case(opened: datetime, closed: datetime | None = None) -> dict[str, Any]:
        return {"title": "Case about Elm Street", "basis_id": basis, "owner": "ana",
                "status": "closed" if closed else "open", "opened_us": us(opened),
                "closed_us": us(closed) if closed else None}  # fmt: skip

    cases = [case(nov[i]) for i in range(4)] + [
        case(nov[4], nov[6]),
        case(nov[5], nov[7]),
        case(OCT_15, nov[2]),
    ]
    cases.append(case(DEC_05))

    def hold(placed: datetime, released: datetime | None = None) -> dict[str, Any]:
        return {"kind": "case", "object_id": 1, "reason": "litigation", "placed_by": "sam",
                "placed_us": us(placed), "released_by": "sam" if released else None,
                "released_us": us(released) if released else None}  # fmt: skip

    holds = [hold(nov[0]), hold(nov[1], nov[2]), hold(nov[3]), hold(OCT_15, nov[4]), hold(DEC_05)]

    def export(
        created: datetime, status: str, decided: datetime | None = None, released: datetime | None = None
    ):  # type: ignore[no-untyped-def]
        return {"kind": "export", "title": "Posts from Elm Street", "author": "ana", "basis_id": basis,
                "recipient": "City police", "spec": "{}", "content_sha256": "0" * 64, "item_count": 3,
                "status": status, "created_us": us(created), "reviewer": "rita" if decided else None,
                "decided_us": us(decided) if decided else None,
                "released_us": us(released) if released else None}  # fmt: skip

    exports = [export(nov[i], "pending") for i in range(3)]
    exports += [export(nov[i], "approved", nov[i + 1]) for i in range(3, 6)]
    exports += [export(nov[6], "released", nov[7], nov[8]), export(nov[7], "rejected", nov[8])]
    exports += [export(OCT_15, "released", OCT_15, nov[0]), export(DEC_05, "rejected", DEC_05)]

    checkpoints = [
        (5, OCT_15),
        (10, datetime(2026, 11, 29, 9, tzinfo=UTC)),
        (20, datetime(2026, 11, 29, 21, tzinfo=UTC)),
        (30, datetime(2026, 11, 30, 11, tzinfo=UTC)),
        (40, DEC_05),
    ]
    with ctx.store.transaction() as tx:
        _insert(tx, "watches", watches)
        _insert(tx, "cases", cases)
        _insert(tx, "legal_holds", holds)
        _insert(tx, "disseminations", exports)
        for size, at in checkpoints:
            row = {
                "size": size,
                "root": bytes([size]) * 32,
                "frontier": b"",
                "note": "n",
                "signed_us": us(at),
            }
            conn_of(tx).execute(
                text("INSERT INTO audit_checkpoints VALUES (:size, :root, :frontier, :note, :signed_us)"), row
            )


def _purge_event(ctx: ServiceContext, details: dict[str, Any]) -> None:
    with ctx.store.transaction() as tx:
        record(tx, actor=SAM, action="retention.purge", at=ctx.clock.now(), details=details)


def populate(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    """Activity in November 2026 (the period) and in December (outside it)."""
    clock = clock_of(ctx)  # 2026-11-30 12:00
    draft = {"basis_id": basis}
    rules = [
        add_rule(ctx, actor=ANA, draft=RuleDraft(name=f"Rule {w}", query=w, severity="medium", **draft))
        for w in ("flood", "earthquake", "wildfire", "tornado", "landslide", "avalanche")
    ]
    add_rule(ctx, actor=ANA, draft=RuleDraft(name="Blackout", query="blackout", severity="high", **draft))
    paused = add_rule(
        ctx, actor=ANA, draft=RuleDraft(name="Riot", query="riot", severity="critical", **draft)
    )
    set_rule_active(ctx, actor=SAM, rule_id=paused.id, active=False)
    sensitive = {"severity": "low", "justification": "threats against worshippers", **draft}
    add_rule(ctx, actor=ANA, draft=RuleDraft(name="Pending", query="mosque AND arson", **sensitive))  # type: ignore[arg-type]
    approved = add_rule(
        ctx, actor=ANA, draft=RuleDraft(name="Approved", query="church AND arson", **sensitive)
    )  # type: ignore[arg-type]
    approve_rule(ctx, actor=SAM, rule_id=approved.id)

    _import(
        ctx,
        _posts(tmp_path, "nov", [*FLOOD_TEXTS, "sunny day at the beach", "new bakery opened"], "2026-11-29"),
    )
    alerts = alert_svc.list_alerts(ctx, actor=ANA, where=AlertFilter(statuses=("open",)))
    ids = sorted(v.alert.id for v in alerts)
    assert len(ids) == len(FLOOD_TEXTS)
    for alert_id in ids[:6]:
        alert_svc.dismiss_alert(ctx, actor=SAM, alert_id=alert_id, disposition="false_positive")
    for alert_id in ids[6:8]:
        alert_svc.dismiss_alert(ctx, actor=SAM, alert_id=alert_id, disposition="duplicate")
    alert_svc.escalate_alert(ctx, actor=SAM, alert_id=ids[8])

    for query in ("flood", "bakery", "school", "bridge", "storm", "market"):
        search_posts(ctx, actor=ANA, query=query, basis_id=basis)
    count_posts(ctx, actor=SUE, query="flood", basis_id=basis)
    count_posts(ctx, actor=SUE, query="river", basis_id=basis)
    for _ in range(2):
        with pytest.raises(PermissionDenied):
            search_posts(ctx, actor=AUD, query="from:subject_handle", basis_id=basis)
    with pytest.raises(InputError):
        search_posts(ctx, actor=ANA, query="flood", basis_id=None)  # rejected input: not a search
    _purge_event(ctx, {"posts": 4, "alerts": 1, "cases": 0})
    _purge_event(ctx, {"posts_unmatched": 3, "posts_of_expired_alerts": 2, "posts_deleted_by_platform": 1})
    _purge_event(ctx, {"posts": 50, "dry_run": True})

    clock.advance(timedelta(hours=8))  # 2026-11-30 20:00: medium deadlines (4 h) have passed
    alert_svc.sweep_breaches(ctx, actor=SAM)
    _oversight_rows(ctx, basis)

    clock.advance(timedelta(days=2))  # 2026-12-02: outside the period from here on
    edit_rule(ctx, actor=ANA, rule_id=rules[0].id, severity="critical")  # in force in Nov as medium
    add_rule(ctx, actor=ANA, draft=RuleDraft(name="Hail", query="hail", severity="medium", **draft))
    _import(ctx, _posts(tmp_path, "dec", ["flood in december too", "quiet morning"], "2026-12-02"))
    search_posts(ctx, actor=ANA, query="december", basis_id=basis)
    _purge_event(ctx, {"posts": 100})


# Independent ground truth: plain SQL written from the definitions in docs/transparency-and-accuracy.md.
TRUTH = {
    "rules_added": "SELECT count(*) FROM rules WHERE created_us >= :s AND created_us < :e",
    "rule_versions_sensitive": "SELECT count(*) FROM rule_versions WHERE sensitive_terms IS NOT NULL "
    "AND created_us >= :s AND created_us < :e",
    "rule_versions_approved": "SELECT count(*) FROM rule_versions "
    "WHERE approved_us >= :s AND approved_us < :e",
    "watches_requested": "SELECT count(*) FROM watches WHERE requested_us >= :s AND requested_us < :e",
    "watches_renewals": "SELECT count(*) FROM watches WHERE requested_us >= :s AND requested_us < :e "
    "AND renewal_of IS NOT NULL",
    "watches_approved": "SELECT count(*) FROM watches WHERE decided_us >= :s AND decided_us < :e "
    "AND approver IS NOT NULL AND status <> 'denied'",
    "watches_denied": "SELECT count(*) FROM watches WHERE decided_us >= :s AND decided_us < :e "
    "AND status = 'denied'",
    "watches_cancelled": "SELECT count(*) FROM watches WHERE cancelled_us >= :s AND cancelled_us < :e",
    "watches_expired": "SELECT count(*) FROM watches WHERE approver IS NOT NULL AND status <> 'denied' "
    "AND expires_us >= :s AND expires_us < :e AND expires_us <= :now "
    "AND (cancelled_us IS NULL OR cancelled_us > expires_us)",
    "posts_collected": "SELECT count(*) FROM posts WHERE collected_us >= :s AND collected_us < :e",
    "posts_imported": "SELECT coalesce(sum(inserted), 0) FROM imports "
    "WHERE started_us >= :s AND started_us < :e",
    "holds_placed": "SELECT count(*) FROM legal_holds WHERE placed_us >= :s AND placed_us < :e",
    "holds_released": "SELECT count(*) FROM legal_holds WHERE released_us >= :s AND released_us < :e",
    "alerts_raised": "SELECT count(*) FROM alerts WHERE created_us >= :s AND created_us < :e",
    "alerts_breached": "SELECT count(*) FROM alerts WHERE breached_us >= :s AND breached_us < :e",
    "cases_opened": "SELECT count(*) FROM cases WHERE opened_us >= :s AND opened_us < :e",
    "cases_closed": "SELECT count(*) FROM cases WHERE closed_us >= :s AND closed_us < :e",
    "exports_requested": "SELECT count(*) FROM disseminations WHERE created_us >= :s AND created_us < :e",
    "exports_approved": "SELECT count(*) FROM disseminations WHERE decided_us >= :s AND decided_us < :e "
    "AND reviewer IS NOT NULL AND status <> 'rejected'",
    "exports_rejected": "SELECT count(*) FROM disseminations WHERE decided_us >= :s AND decided_us < :e "
    "AND status = 'rejected'",
    "exports_released": "SELECT count(*) FROM disseminations WHERE released_us >= :s AND released_us < :e",
    "audit_events": "SELECT count(*) FROM audit_events WHERE at_us >= :s AND at_us < :e",
    "checkpoints_signed": "SELECT count(*) FROM audit_checkpoints WHERE signed_us >= :s AND signed_us < :e",
}
IN_FORCE = """
SELECT v.severity, count(*) FROM rules r JOIN rule_versions v ON v.rule_id = r.id
WHERE r.status = 'active' AND r.created_us < :e
  AND v.version = (SELECT max(version) FROM rule_versions x WHERE x.rule_id = r.id AND x.created_us < :e)
  AND (v.sensitive_terms IS NULL OR v.approved_us < :e)
GROUP BY v.severity
"""
OUTCOMES = """
SELECT coalesce(disposition, status), count(*) FROM alerts WHERE created_us >= :s AND created_us < :e
GROUP BY coalesce(disposition, status)
"""


def _audit_truth(ctx: ServiceContext, s: int, e: int) -> dict[str, int]:
    """Searches, refusals and purged posts, read from the leaves with json, not the store's decoder."""
    searches = refused = purged = 0
    with ctx.store.transaction() as tx:
        rows = conn_of(tx).execute(
            text("SELECT action, leaf FROM audit_events WHERE at_us >= :s AND at_us < :e"), {"s": s, "e": e}
        )
        for action, leaf in rows:
            event = json.loads(bytes(leaf))
            details = event["details"]
            if action in ("posts.search", "posts.count"):
                searches += event["outcome"] == "ok"
                refused += event["outcome"] == "denied" and details.get("error") == "permission_denied"
            elif action == "retention.purge" and event["outcome"] == "ok" and not details.get("dry_run"):
                purged += details.get("posts", 0) or sum(
                    details.get(k, 0)
                    for k in ("posts_unmatched", "posts_of_expired_alerts", "posts_deleted_by_platform")
                )
    return {"searches": searches, "searches_refused": refused, "posts_purged": purged}


def test_transparency_report_golden(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    populate(ctx, basis, tmp_path)
    period = parse_period("2026-11", now=ctx.clock.now())
    assert (period.start, period.end) == (NOV, DEC)
    with ctx.store.transaction() as tx:  # before the report's own event is added to the log
        bounds = {"s": us(NOV), "e": us(DEC), "now": us(ctx.clock.now())}
        truth = {k: int(conn_of(tx).execute(text(q), bounds).scalar_one()) for k, q in TRUTH.items()}
        in_force = dict(conn_of(tx).execute(text(IN_FORCE), bounds).all())
        outcomes = dict(conn_of(tx).execute(text(OUTCOMES), bounds).all())
        roots = (
            conn_of(tx)
            .execute(
                text(
                    "SELECT size, root FROM audit_checkpoints "
                    "WHERE signed_us >= :s AND signed_us < :e ORDER BY size"
                ),
                bounds,
            )
            .all()
        )
    truth |= _audit_truth(ctx, us(NOV), us(DEC))
    truth |= {f"rules_in_force_{s}": in_force.get(s, 0) for s in ("critical", "high", "medium", "low")}
    truth |= {
        f"alerts_{d}": outcomes.get(d, 0) for d in ("false_positive", "duplicate", "escalated", "in_case")
    }
    truth |= {f"alerts_{d}": outcomes.get(d, 0) for d in ("out_of_scope", "not_actionable", "resolved")}
    truth["alerts_open"] = outcomes.get("open", 0) + outcomes.get("claimed", 0)

    report = transparency_report(ctx, actor=AUD, period=period)

    published = {m["key"]: m["value"] for s in report.as_json()["sections"] for m in s["metrics"]}  # type: ignore[attr-defined]
    assert set(published) == set(truth), "every published metric has a ground-truth query and back"
    for key, expected in truth.items():
        assert report.metric(key).count == expected, key
        assert published[key] == shown(expected), key
    # The fixture was built to exercise real values, not a wall of zeros and "<5".
    assert truth["rules_in_force_medium"] == 6 and truth["rules_in_force_critical"] == 0
    assert truth["rules_in_force_low"] == 1 and truth["rules_added"] == 10
    assert truth["searches"] == 8 and truth["searches_refused"] == 2 and truth["posts_purged"] == 10
    assert (
        truth["watches_requested"] == 10 and truth["watches_expired"] == 1 and truth["watches_approved"] == 5
    )
    assert (
        truth["alerts_raised"] == 12 and truth["alerts_breached"] == 3 and truth["alerts_false_positive"] == 6
    )
    assert truth["exports_approved"] == 4 and truth["cases_opened"] == 6 and truth["posts_collected"] == 14
    assert published["alerts_false_positive"] == 6 and published["alerts_duplicate"] == "<5"
    assert published["rules_in_force_critical"] == 0 and published["rules_in_force_high"] == "<5"

    # The last checkpoint of each day, not suppressed.
    assert [(r["day"], r["tree_size"], r["root_sha256"]) for r in report.as_json()["audit_roots"]] == [  # type: ignore[attr-defined]
        ("2026-11-29", 20, roots[1][1].hex()),
        ("2026-11-30", 30, roots[2][1].hex()),
    ]
    with ctx.store.transaction() as tx:
        event = tx.audit_events(action="reports.transparency", limit=1)[0]
    assert event.actor == "audrey" and event.outcome == "ok" and event.details["period"] == "2026-11"
    assert (
        event.details["report_sha256"]
        == __import__("hashlib").sha256(report.json_text().encode()).hexdigest()
    )


def test_report_has_no_personal_data(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    populate(ctx, basis, tmp_path)
    report = transparency_report(ctx, actor=SAM, period=parse_period("2026-Q4", now=ctx.clock.now()))
    body = report.json_text()
    html = render_html(report)
    people = ["ana", "sam", "sue", "audrey", "rita", "subject_handle", *AUTHORS]
    words = [
        *SECRET_WORDS,
        "Protecting public events",
        "City police",
        "litigation",
        "worshippers",
        "Rule flood",
    ]
    for document in (body, html):
        lowered = document.casefold()
        for needle in [*people, *words, *(t.split()[-1] for t in FLOOD_TEXTS)]:
            assert not re.search(rf"\b{re.escape(needle.casefold())}\b", lowered), needle
    values = [m["value"] for s in json.loads(body)["sections"] for m in s["metrics"]]
    assert all(v == "<5" or (isinstance(v, int) and (v == 0 or v >= 5)) for v in values)
    assert "<5" in values  # small cells exist in this fixture, and are suppressed
    keys = json.dumps(json.loads(body)["sections"])
    assert not re.search(r'"(id|ids|name|handle|author|user)"', keys)
    # Self-contained page: no scripts, no external assets.
    assert "<script" not in html and "http://" not in html and "https://" not in html and "src=" not in html
    assert "&lt;5" in html  # autoescaped


def test_reviewers_may_not_produce_it(ctx: ServiceContext) -> None:
    with pytest.raises(PermissionDenied):
        transparency_report(ctx, actor=REV, period=parse_period("2026", now=ctx.clock.now()))
    with ctx.store.transaction() as tx:
        assert tx.audit_events(action="reports.transparency", limit=1)[0].outcome == "denied"


@pytest.mark.parametrize(
    ("given", "label", "start", "end"),
    [
        ({"period": "2026-Q4"}, "2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), JAN_2027),
        ({"period": "2026-q1"}, "2026-Q1", datetime(2026, 1, 1, tzinfo=UTC), APR),
        ({"period": "2026"}, "2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ({"period": "2026-12"}, "2026-12", DEC, datetime(2027, 1, 1, tzinfo=UTC)),
        ({"since": "2026-10-01", "until": "2026-10-31"}, "2026-10-01 to 2026-10-31",
         datetime(2026, 10, 1, tzinfo=UTC), NOV),
        ({}, "2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_period_parsing(given: dict[str, str], label: str, start: datetime, end: datetime) -> None:
    assert parse_period(**given, now=datetime(2026, 11, 30, tzinfo=UTC)) == Period(label, start, end)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "given",
    [
        {"period": "Q4"},
        {"period": "2026-13"},
        {"period": "2026-Q5"},
        {"period": "2026", "since": "2026-01-01"},
        {"since": "2026-02-30"},
        {"since": "2026-03-01", "until": "2026-02-01"},
        {"until": "2026-02-01"},
    ],
)
def test_bad_periods_say_what_to_write(given: dict[str, str]) -> None:
    with pytest.raises(InputError, match=r"2026-|YYYY-MM-DD"):
        parse_period(**given, now=datetime(2026, 11, 30, tzinfo=UTC))  # type: ignore[arg-type]
