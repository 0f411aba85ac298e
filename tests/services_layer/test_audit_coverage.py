"""Every service call that reads or changes posts, alerts, rules or exports leaves exactly one audit event.

Each public use case runs once on a small floor (a rule, an account list, imported posts, alerts) and
must add one event with its action, its actor and the objects it touched, in the same transaction as
the work: refusals are recorded too, nothing is done when the event cannot be written (fail closed),
and no event ever holds a word of a post.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.people import ANA, BASIS, BO, SAM
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditDraft, AuditEvent
from watchfloor.domain.errors import Conflict, InputError, NotFound, QuerySyntaxError, StoreError
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import alerts as alert_svc
from watchfloor.services import dissemination
from watchfloor.services import rules as rule_svc
from watchfloor.services import search as search_svc
from watchfloor.services.context import ServiceContext
from watchfloor.services.handover import add_handover_note, handover_summary
from watchfloor.services.ingest import import_file, import_files
from watchfloor.services.recording import ids_digest, refs
from watchfloor.store.audit_sql import AuditSql
from watchfloor.store.ports import AlertFilter, StoreTx

MARKER = "qzxv7731marker"  # in every post's text and every quarantined record; never in a leaf
RESCUE = '("trapped" OR "need rescue" OR "stranded") NEAR/5 (flood* OR water)'
ROWS = [
    (
        "1",
        "ana_w",
        "2012-10-29T20:00:00Z",
        f"We are trapped on the roof, the flood water keeps rising {MARKER}",
    ),
    ("2", "bo_x", "2012-10-29T20:05:00Z", f"Lovely sunset over the river tonight {MARKER}"),
    (
        "3",
        "cy_z",
        "2012-10-29T20:10:00Z",
        f"Stranded near the station, flooding everywhere, need rescue {MARKER}",
    ),
    ("4", "dee", "not a date", f"trapped by the flood, this row is quarantined {MARKER}"),
]


def _csv(tmp_path: Path, rows: list[tuple[str, str, str, str]], name: str) -> Path:
    path = tmp_path / name
    lines = ["id,author,created_at,text"] + [",".join(json.dumps(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(ctx: ServiceContext, path: Path, actor: Actor = ANA) -> None:
    import_file(ctx, actor=actor, path=path, format_name="csv", options=MapOptions(platform="twitter"))


@dataclass
class Floor:
    """What the floor holds before the call under test (read straight from the store, unaudited)."""

    tmp_path: Path
    rule_id: int
    alert_ids: list[int]
    post_ids: dict[str, int]  # native id -> store id


@pytest.fixture
def floor(ctx: ServiceContext, tmp_path: Path) -> Floor:
    rule_svc.set_account_list(ctx, actor=ANA, name="agencies", members=["@Ana_W"])
    rule = rule_svc.add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Rescue", query=RESCUE, severity="high")
    )
    _import(ctx, _csv(tmp_path, ROWS, "posts.csv"))
    with ctx.store.transaction() as tx:
        alerts = tx.list_alerts(AlertFilter(), limit=100)
    assert len(alerts) == 2  # posts 1 and 3 match the rescue rule
    return Floor(tmp_path, rule.id, sorted(a.id for a in alerts), _stored_ids(ctx))


def _stored_ids(ctx: ServiceContext) -> dict[str, int]:
    """Native id -> store id of every stored post (read without going through an audited service)."""
    with ctx.store.transaction() as tx:
        return {p.post.native_id: p.id for p in tx.iter_search(search_svc.parse_search(""))}


def _size(ctx: ServiceContext) -> int:
    with ctx.store.transaction() as tx:
        return tx.audit_size()


def _since(ctx: ServiceContext, seq: int) -> list[AuditEvent]:
    with ctx.store.transaction() as tx:
        return sorted((e for e in tx.audit_events(limit=10_000) if e.seq >= seq), key=lambda e: e.seq)


def _only_event(ctx: ServiceContext, seq: int) -> AuditEvent:
    events = _since(ctx, seq)
    assert len(events) == 1, [(e.action, e.outcome) for e in events]
    return events[0]


def _post_refs(ids: list[int]) -> tuple[str, ...]:
    assert ids, "the call under test should have returned posts to name"
    return refs("post", ids)


# Each case: (prepare, call) -> the call returns the expected (action, object ids, details subset).
Expected = tuple[str, tuple[str, ...], dict[str, object]]
Call = Callable[[ServiceContext, Floor], Expected]


def _search(ctx: ServiceContext, f: Floor) -> Expected:
    found = search_svc.search_posts(ctx, actor=ANA, basis_id=BASIS, query="flood*", limit=10, sort="oldest")
    details = {"query": "flood*", "sort": "oldest", "limit": 10, "offset": 0, "count": 2}
    return "posts.search", _post_refs([p.id for p in found]), details


def _count(ctx: ServiceContext, f: Floor) -> Expected:
    assert search_svc.count_posts(ctx, actor=ANA, basis_id=BASIS, query="sunset") == 1
    return "posts.count", (), {"query": "sunset", "count": 1}


def _export(ctx: ServiceContext, f: Floor) -> Expected:
    held = dissemination.request_export(
        ctx, actor=ANA, query="", basis_id=BASIS, recipient="press desk", title="all three"
    )
    assert held.item_count == 3 and held.status == "pending"
    posts = tuple(f"post:{i}" for i in sorted(f.post_ids.values(), reverse=True))  # newest first
    return "exports.request", (f"dissemination:{held.id}", *posts), {"query": "", "items": 3}


def _stats(ctx: ServiceContext, f: Floor) -> Expected:
    assert search_svc.store_stats(ctx, actor=ANA, top=5).posts == 3
    return "posts.stats", (), {"top": 5, "posts": 3}


def _quarantine(ctx: ServiceContext, f: Floor) -> Expected:
    entries = search_svc.list_quarantine(ctx, actor=ANA, limit=10)
    assert len(entries) == 1
    return "quarantine.list", refs("quarantine", [entries[0].id]), {"count": 1, "limit": 10}


def _add_rule(ctx: ServiceContext, f: Floor) -> Expected:
    rule = rule_svc.add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Sunset", query="sunset", severity="low")
    )
    return "rules.add", (f"rule:{rule.id}",), {"query": "sunset", "severity": "low", "version": 1}


def _edit_rule(ctx: ServiceContext, f: Floor) -> Expected:
    rule_svc.edit_rule(ctx, actor=ANA, rule_id=f.rule_id, severity="critical", change_note="lives at risk")
    details = {"version": 2, "severity": "critical", "changed": ["severity"], "note": "lives at risk"}
    return "rules.edit", (f"rule:{f.rule_id}",), details


def _pause(ctx: ServiceContext, f: Floor) -> Expected:
    rule_svc.set_rule_active(ctx, actor=ANA, rule_id=f.rule_id, active=False)
    return "rules.pause", (f"rule:{f.rule_id}",), {"from_status": "active", "to_status": "paused"}


def _resume(ctx: ServiceContext, f: Floor) -> Expected:
    rule_svc.set_rule_active(ctx, actor=ANA, rule_id=f.rule_id, active=True)
    return "rules.resume", (f"rule:{f.rule_id}",), {"from_status": "paused", "to_status": "active"}


def _pause_first(ctx: ServiceContext, f: Floor) -> None:
    rule_svc.set_rule_active(ctx, actor=SAM, rule_id=f.rule_id, active=False)


def _list_rules(ctx: ServiceContext, f: Floor) -> Expected:
    assert len(rule_svc.list_rules(ctx, actor=ANA)) == 1
    return "rules.list", (f"rule:{f.rule_id}",), {"count": 1, "status": None}


def _history(ctx: ServiceContext, f: Floor) -> Expected:
    rule_svc.rule_history(ctx, actor=ANA, rule_id=f.rule_id)
    return "rules.history", (f"rule:{f.rule_id}",), {"versions": 1}


def _backtest(ctx: ServiceContext, f: Floor) -> Expected:
    result = rule_svc.backtest_rule(ctx, actor=ANA, query="sunset OR stranded", sample_size=5)
    details = {"query": "sunset OR stranded", "matched": 2, "complete": True, "sample": 2}
    return "rules.backtest", _post_refs([item.id for item, _ in result.sample]), details


def _set_list(ctx: ServiceContext, f: Floor) -> Expected:
    rule_svc.set_account_list(ctx, actor=ANA, name="agencies", members=["@cy_z", "dee", "@ana_w"])
    return "lists.set", ("list:agencies",), {"name": "agencies", "members": 3, "added": 2, "removed": 0}


def _lists(ctx: ServiceContext, f: Floor) -> Expected:
    assert [a.name for a in rule_svc.account_lists(ctx, actor=ANA)] == ["agencies"]
    return "lists.list", ("list:agencies",), {"count": 1}


def _list_alerts(ctx: ServiceContext, f: Floor) -> Expected:
    views = alert_svc.list_alerts(ctx, actor=ANA, where=AlertFilter(statuses=("open",)))
    objects = refs("alert", [v.alert.id for v in views]) + refs("post", [v.post.id for v in views if v.post])
    assert len(objects) == 4
    return "alerts.list", objects, {"count": 2, "statuses": ["open"]}


def _show(ctx: ServiceContext, f: Floor) -> Expected:
    detail = alert_svc.show_alert(ctx, actor=ANA, alert_id=f.alert_ids[0])
    assert detail.post is not None
    objects = (f"alert:{f.alert_ids[0]}", f"rule:{f.rule_id}", f"post:{detail.post.id}")
    return "alerts.show", objects, {"rule_version": 1, "posts": 1}


def _claim(ctx: ServiceContext, f: Floor) -> Expected:
    alert_svc.claim_alert(ctx, actor=ANA, alert_id=f.alert_ids[0])
    details = {"from_status": "open", "to_status": "claimed", "assignee": "ana"}
    return "alerts.claim", (f"alert:{f.alert_ids[0]}",), details


def _claim_first(ctx: ServiceContext, f: Floor) -> None:
    alert_svc.claim_alert(ctx, actor=ANA, alert_id=f.alert_ids[0])


def _release(ctx: ServiceContext, f: Floor) -> Expected:
    alert_svc.release_alert(ctx, actor=ANA, alert_id=f.alert_ids[0])
    return "alerts.release", (f"alert:{f.alert_ids[0]}",), {"from_status": "claimed", "to_status": "open"}


def _dismiss(ctx: ServiceContext, f: Floor) -> Expected:
    alert_svc.dismiss_alert(
        ctx, actor=ANA, alert_id=f.alert_ids[1], disposition="false_positive", note="drill"
    )
    details = {"to_status": "dismissed", "disposition": "false_positive", "note": "drill"}
    return "alerts.dismiss", (f"alert:{f.alert_ids[1]}",), details


def _escalate(ctx: ServiceContext, f: Floor) -> Expected:
    alert_svc.escalate_alert(ctx, actor=ANA, alert_id=f.alert_ids[1], note="named location")
    return "alerts.escalate", (f"alert:{f.alert_ids[1]}",), {"to_status": "escalated"}


def _dismiss_first(ctx: ServiceContext, f: Floor) -> None:
    alert_svc.dismiss_alert(ctx, actor=BO, alert_id=f.alert_ids[1], disposition="duplicate")


def _reopen(ctx: ServiceContext, f: Floor) -> Expected:
    alert_svc.reopen_alert(ctx, actor=SAM, alert_id=f.alert_ids[1], note="not a duplicate")
    return "alerts.reopen", (f"alert:{f.alert_ids[1]}",), {"from_status": "dismissed", "to_status": "open"}


def _sweep(ctx: ServiceContext, f: Floor) -> Expected:
    later = ctx.clock.now() + timedelta(hours=2)  # the high-severity deadline is one hour
    breached = alert_svc.sweep_breaches(ctx, actor=SAM, now=later)
    assert sorted(a.id for a in breached) == f.alert_ids
    return (
        "alerts.sweep",
        refs("alert", [a.id for a in breached]),
        {"breached": 2, "as_of": later.isoformat()},
    )


def _handover(ctx: ServiceContext, f: Floor) -> Expected:
    summary = handover_summary(ctx, actor=ANA, hours=8)
    assert len(summary.open_by_severity["high"]) == 2
    return "handover.summary", refs("alert", f.alert_ids), {"hours": 8, "open": 2, "raised_in_shift": 2}


def _note(ctx: ServiceContext, f: Floor) -> Expected:
    note = add_handover_note(ctx, actor=ANA, text="  rescue rule is noisy  ")
    return "handover.note", (f"handover_note:{note.id}",), {"chars": len("rescue rule is noisy")}


CASES: dict[str, tuple[Callable[[ServiceContext, Floor], None] | None, Call]] = {
    "search_posts": (None, _search),
    "count_posts": (None, _count),
    "request_export": (None, _export),
    "store_stats": (None, _stats),
    "list_quarantine": (None, _quarantine),
    "add_rule": (None, _add_rule),
    "edit_rule": (None, _edit_rule),
    "set_rule_active(pause)": (None, _pause),
    "set_rule_active(resume)": (_pause_first, _resume),
    "list_rules": (None, _list_rules),
    "rule_history": (None, _history),
    "backtest_rule": (None, _backtest),
    "set_account_list": (None, _set_list),
    "account_lists": (None, _lists),
    "list_alerts": (None, _list_alerts),
    "show_alert": (None, _show),
    "claim_alert": (None, _claim),
    "release_alert": (_claim_first, _release),
    "dismiss_alert": (None, _dismiss),
    "escalate_alert": (None, _escalate),
    "reopen_alert": (_dismiss_first, _reopen),
    "sweep_breaches": (None, _sweep),
    "handover_summary": (None, _handover),
    "add_handover_note": (None, _note),
}


SUPERVISOR_CASES = frozenset({"reopen_alert", "sweep_breaches"})  # the policy gives these to supervisors


@pytest.mark.parametrize("name", list(CASES))
def test_each_use_case_records_exactly_one_event(ctx: ServiceContext, floor: Floor, name: str) -> None:
    prepare, call = CASES[name]
    if prepare is not None:
        prepare(ctx, floor)
    before = _size(ctx)
    action, objects, details = call(ctx, floor)
    event = _only_event(ctx, before)
    actor = "sam" if name in SUPERVISOR_CASES else "ana"
    assert (event.action, event.actor, event.outcome) == (action, actor, "ok")
    assert event.object_ids == objects
    assert {k: event.details.get(k) for k in details} == details
    assert event.at == ctx.clock.now()


def test_an_import_records_one_event_per_batch_and_one_for_the_run(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    rule_svc.add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Rescue", query=RESCUE, severity="high")
    )
    rows = [(str(n), f"acct{n}", "2012-10-29T20:00:00Z", f"post {n} {MARKER}") for n in range(1, 111)]
    rows[60] = ("61", "acct61", "2012-10-29T20:00:00Z", "trapped on the roof, flood water rising")
    rows[70] = ("71", "acct71", "not a date", "a record to quarantine")
    before = _size(ctx)
    _import(ctx, _csv(tmp_path, rows, "big.csv"), actor=BO)  # the ctx fixture imports 50 per batch
    events = _since(ctx, before)
    assert [e.action for e in events] == ["posts.import_batch"] * 3 + ["posts.import"]
    assert {e.actor for e in events} == {"bo"}
    *batches, run = events
    with ctx.store.transaction() as tx:
        (imported,) = tx.list_imports(limit=5)
        alerts = tx.list_alerts(AlertFilter(), limit=10)
    stored = _stored_ids(ctx)
    assert all(e.object_ids[0] == f"import:{imported.id}" for e in events)
    assert [b.details["batch"] for b in batches] == [1, 2, 3]
    assert [b.details["records"] for b in batches] == [50, 50, 10]
    assert [b.details["quarantined"] for b in batches] == [0, 1, 0]
    second = batches[1]
    assert second.details["alerts_raised"] == 1 and f"alert:{alerts[0].id}" in second.object_ids
    # 50 new posts name each post; the digest is of the same ids, in the order stored
    first_posts = [o for o in batches[0].object_ids if o.startswith("post:")]
    assert first_posts == [f"post:{stored[str(n)]}" for n in range(1, 51)]
    assert run.object_ids == (f"import:{imported.id}",)
    assert run.details["path"] == str((tmp_path / "big.csv").resolve()) and run.details["format"] == "csv"
    assert (run.details["records"], run.details["inserted"], run.details["quarantined"]) == (110, 109, 1)
    assert (run.details["batches"], run.details["alerts_raised"]) == (3, 1)


def test_importing_several_files_records_each_run_or_the_file_refused(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    first = _csv(tmp_path, ROWS[:1], "first.csv")
    second = _csv(tmp_path, ROWS[1:2], "second.csv")
    options = MapOptions(platform="twitter")
    before = _size(ctx)
    with pytest.raises(InputError, match="no such file"):
        import_files(ctx, actor=BO, paths=[first, tmp_path / "gone.csv"], format_name="csv", options=options)
    refused = _only_event(ctx, before)
    assert (refused.action, refused.actor, refused.outcome) == ("posts.import", "bo", "error")
    assert refused.details["path"] == str(tmp_path / "gone.csv") and refused.details["error"] == "input"
    assert _stored_ids(ctx) == {}  # every file is checked before any is imported
    before = _size(ctx)
    import_files(ctx, actor=BO, paths=[first, second], format_name="csv", options=options)
    runs = [e for e in _since(ctx, before) if e.action == "posts.import"]
    assert [e.details["path"] for e in runs] == [str(first.resolve()), str(second.resolve())]
    assert len(_since(ctx, before)) == 4  # one batch and one run event per file


def test_large_results_are_recorded_by_count_and_digest(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [
        (str(n), f"acct{n}", f"2012-10-29T20:{n // 60:02d}:{n % 60:02d}Z", f"flood {n}") for n in range(150)
    ]
    _import(ctx, _csv(tmp_path, rows, "many.csv"))
    before = _size(ctx)
    found = search_svc.search_posts(ctx, actor=ANA, basis_id=BASIS, query="flood", limit=120)
    event = _only_event(ctx, before)
    assert event.object_ids == () and event.details["count"] == 120
    assert event.details["post_ids_sha256"] == ids_digest("post", [p.id for p in found])


# --- refusals ---------------------------------------------------------------------------------------


def _alert_state(tx: StoreTx, alert_id: int) -> tuple[object, ...]:
    alert = tx.get_alert(alert_id)
    assert alert is not None
    return alert.status, alert.assignee, alert.disposition, len(tx.alert_events(alert_id))


def test_a_claim_held_by_someone_else_is_recorded_as_denied(ctx: ServiceContext, floor: Floor) -> None:
    alert_id = floor.alert_ids[0]
    alert_svc.claim_alert(ctx, actor=ANA, alert_id=alert_id)
    with ctx.store.transaction() as tx:
        state = _alert_state(tx, alert_id)
    before = _size(ctx)
    with pytest.raises(Conflict, match="claimed by ana"):
        alert_svc.claim_alert(ctx, actor=BO, alert_id=alert_id)
    event = _only_event(ctx, before)
    assert (event.action, event.actor, event.outcome) == ("alerts.claim", "bo", "denied")
    assert event.object_ids == (f"alert:{alert_id}",)
    assert event.details["error"] == "conflict" and "claimed by ana" in str(event.details["reason"])
    with ctx.store.transaction() as tx:
        assert _alert_state(tx, alert_id) == state == ("claimed", "ana", None, 2)


def test_a_bad_disposition_is_recorded_as_an_error(ctx: ServiceContext, floor: Floor) -> None:
    alert_id = floor.alert_ids[1]
    before = _size(ctx)
    with pytest.raises(InputError, match="disposition must be one of"):
        alert_svc.dismiss_alert(ctx, actor=ANA, alert_id=alert_id, disposition="meh", note="bored")
    event = _only_event(ctx, before)
    assert (event.action, event.actor, event.outcome) == ("alerts.dismiss", "ana", "error")
    assert event.object_ids == (f"alert:{alert_id}",)
    assert (event.details["disposition"], event.details["error"]) == ("meh", "input")
    with ctx.store.transaction() as tx:
        assert _alert_state(tx, alert_id) == ("open", None, None, 1)


def test_a_rule_that_does_not_parse_is_recorded_as_an_error(ctx: ServiceContext, floor: Floor) -> None:
    before = _size(ctx)
    bad = RuleDraft(basis_id=BASIS, name="Broken", query='flood AND "unclosed', severity="high")
    with pytest.raises(QuerySyntaxError):
        rule_svc.add_rule(ctx, actor=BO, draft=bad)
    event = _only_event(ctx, before)
    assert (event.action, event.actor, event.outcome) == ("rules.add", "bo", "error")
    assert event.object_ids == ()
    assert (event.details["query"], event.details["error"]) == ('flood AND "unclosed', "query_syntax")
    assert "column" in str(event.details["reason"])
    with ctx.store.transaction() as tx:
        assert [r.id for r in tx.list_rules()] == [floor.rule_id]


def test_looking_up_a_missing_alert_or_rule_is_recorded_as_denied(ctx: ServiceContext, floor: Floor) -> None:
    before = _size(ctx)
    with pytest.raises(NotFound):
        alert_svc.show_alert(ctx, actor=BO, alert_id=999)
    with pytest.raises(NotFound):
        rule_svc.edit_rule(ctx, actor=BO, rule_id=999, query="flood")
    events = _since(ctx, before)
    assert [(e.action, e.outcome, e.object_ids) for e in events] == [
        ("alerts.show", "denied", ("alert:999",)),
        ("rules.edit", "denied", ("rule:999",)),
    ]


# --- fail closed ------------------------------------------------------------------------------------


def _break_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every audit append fail, on both databases, as a full disk or a lost connection would."""

    def refuse(self: AuditSql, draft: AuditDraft) -> AuditEvent:
        raise StoreError("audit log unavailable")

    monkeypatch.setattr(AuditSql, "append_audit", refuse)


def _everything(ctx: ServiceContext) -> tuple[object, ...]:
    with ctx.store.transaction() as tx:
        alerts = tx.list_alerts(AlertFilter(), limit=1000)
        return (
            tx.audit_size(),
            [(r.id, r.status, r.current.version) for r in tx.list_rules()],
            [(a.id, a.status, a.assignee, len(tx.alert_events(a.id))) for a in alerts],
            tx.stats().posts,
            [(i.id, i.records, i.finished_at) for i in tx.list_imports(limit=100)],
            len(tx.list_quarantine(limit=1000)),
        )


def _add_a_rule(ctx: ServiceContext, f: Floor) -> None:
    rule_svc.add_rule(
        ctx, actor=ANA, draft=RuleDraft(basis_id=BASIS, name="Sunset", query="sunset", severity="low")
    )


def _claim_an_alert(ctx: ServiceContext, f: Floor) -> None:
    alert_svc.claim_alert(ctx, actor=ANA, alert_id=f.alert_ids[0])


def _import_a_batch(ctx: ServiceContext, f: Floor) -> None:
    rows = [("9", "eve", "2012-10-29T21:00:00Z", "trapped by flood water"), ("10", "x", "nope", "bad")]
    _import(ctx, _csv(f.tmp_path, rows, "more.csv"))  # a new post, an alert, a quarantined record


@pytest.mark.parametrize("operation", [_add_a_rule, _claim_an_alert, _import_a_batch])
def test_when_the_event_cannot_be_written_nothing_happens(
    ctx: ServiceContext,
    floor: Floor,
    monkeypatch: pytest.MonkeyPatch,
    operation: Callable[[ServiceContext, Floor], None],
) -> None:
    state = _everything(ctx)
    _break_audit(monkeypatch)
    with pytest.raises(StoreError, match="audit log unavailable"):
        operation(ctx, floor)
    monkeypatch.undo()
    assert _everything(ctx) == state
    operation(ctx, floor)  # the same call, with a working log, does change more than the log
    assert _everything(ctx)[1:] != state[1:]


# --- no post text -----------------------------------------------------------------------------------


def test_no_event_holds_post_text(ctx: ServiceContext, floor: Floor) -> None:
    """A whole shift's worth of calls over posts that all carry MARKER; no leaf may contain it."""
    alert_id = floor.alert_ids[0]
    search_svc.search_posts(ctx, actor=ANA, basis_id=BASIS, query="trapped OR sunset")
    search_svc.count_posts(ctx, actor=ANA, basis_id=BASIS, query="flood*")
    dissemination.request_export(ctx, actor=ANA, query="", basis_id=BASIS, recipient="desk", title="all")
    search_svc.store_stats(ctx, actor=ANA)
    search_svc.list_quarantine(ctx, actor=ANA)
    rule_svc.backtest_rule(ctx, actor=ANA, query="sunset OR rescue")
    alert_svc.list_alerts(ctx, actor=ANA, where=AlertFilter())
    alert_svc.show_alert(ctx, actor=ANA, alert_id=alert_id)
    alert_svc.claim_alert(ctx, actor=ANA, alert_id=alert_id)
    alert_svc.dismiss_alert(ctx, actor=ANA, alert_id=alert_id, disposition="resolved", note="crew sent")
    handover_summary(ctx, actor=ANA)
    with ctx.store.transaction() as tx:
        leaves = [r.leaf for r in tx.audit_leaves(0, tx.audit_size())]
        assert MARKER in tx.get_posts([floor.post_ids["1"]])[0].post.text  # the posts do carry it
    assert len(leaves) >= 15
    assert not [leaf for leaf in leaves if MARKER.encode("ascii") in leaf.lower()]
    # the scan would have seen it: what the analysts typed is there
    assert any(b'"query":"trapped OR sunset"' in leaf for leaf in leaves)
    assert any(b'"note":"crew sent"' in leaf for leaf in leaves)
