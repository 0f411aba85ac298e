"""The rules pages: list with hit rates and precision, editor with live validation and back-test,
sensitive rules awaiting a second person's approval, version history with diffs, and the JSON API."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.services_layer.conftest import ctx  # noqa: F401  (SQLite and PostgreSQL)
from tests.web.conftest import Web
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.alerts import dismiss_alert, escalate_alert, list_alerts
from watchfloor.services.console_rules import rules_overview
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule
from watchfloor.store.ports import AlertFilter

ANA = Actor(name="ana", roles=frozenset({"analyst"}))


def _import(
    context: ServiceContext, tmp_path: Path, rows: list[tuple[str, str, str, str]], name: str
) -> None:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "author", "created_at", "text"])
        writer.writerows(rows)
    import_file(context, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))


def _flood_rows(start: int, count: int) -> list[tuple[str, str, str, str]]:
    return [
        (str(i), f"user{i}", f"2012-10-29T20:{i % 60:02d}:00Z", f"flood water number {i}")
        for i in range(start, start + count)
    ]


def _events(web: Web) -> list[tuple[str, str, str]]:
    with web.ctx.store.transaction() as tx:
        return [(e.actor, e.action, e.outcome) for e in reversed(tx.audit_events(limit=1000))]


def _row(page: str, rule_id: int) -> HTMLParser:
    tree = HTMLParser(page)
    row = tree.css_first(f'tr[data-rule-id="{rule_id}"]')
    assert row is not None
    return row  # type: ignore[return-value]


def _cell(page: str, rule_id: int, col: str) -> str:
    return " ".join(_row(page, rule_id).css_first(f'td[data-col="{col}"]').text().split())


def _seed_judged(web: Web, tmp_path: Path) -> int:
    """A rule with 5 alerts: 2 escalated (true), 1 false positive, 1 duplicate (not judged), 1 open."""
    rule = add_rule(
        web.ctx, actor=ANA, draft=RuleDraft(basis_id=web.basis, name="Flood", query="flood", severity="high")
    )
    _import(web.ctx, tmp_path, _flood_rows(1, 5), "a.csv")
    alerts = sorted(a.alert.id for a in list_alerts(web.ctx, actor=ANA, where=AlertFilter()))
    assert len(alerts) == 5
    escalate_alert(web.ctx, actor=ANA, alert_id=alerts[0])
    escalate_alert(web.ctx, actor=ANA, alert_id=alerts[1])
    dismiss_alert(web.ctx, actor=ANA, alert_id=alerts[2], disposition="false_positive")
    dismiss_alert(web.ctx, actor=ANA, alert_id=alerts[3], disposition="duplicate")
    return rule.id


def test_rules_list_shows_hit_rates_and_precision(web: Web, tmp_path: Path) -> None:
    rule_id = _seed_judged(web, tmp_path)
    browser = web.client("ana")
    before = len(_events(web))
    page = browser.get("/rules")
    assert page.status_code == 200
    assert _events(web)[before:] == [("ana", "rules.list", "ok")]
    assert _cell(page.text, rule_id, "alerts-24h") == "5"
    assert _cell(page.text, rule_id, "alerts-7d") == "5"
    assert _cell(page.text, rule_id, "precision") == "67% of 3"  # 2 true of 3 judged
    api = browser.get("/api/rules").json()
    assert [(r["id"], r["true_positive"], r["false_positive"], r["not_judged"]) for r in api] == [
        (rule_id, 2, 1, 2)
    ]
    assert api[0]["precision"] == pytest.approx(2 / 3)
    assert browser.get("/rules").status_code == 200 and web.client("audrey").get("/rules").status_code == 200
    assert web.client("rita").get("/rules").status_code == 403


def test_hit_rates_count_the_last_day_and_week(ctx: ServiceContext, tmp_path: Path) -> None:  # noqa: F811
    add_rule(ctx, actor=ANA, draft=RuleDraft(basis_id=1, name="Flood", query="flood", severity="high"))
    _import(ctx, tmp_path, _flood_rows(1, 3), "a.csv")
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(timedelta(days=2))
    _import(ctx, tmp_path, _flood_rows(10, 2), "b.csv")
    ctx.clock.advance(timedelta(days=6))
    _import(ctx, tmp_path, _flood_rows(20, 1), "c.csv")
    [line] = rules_overview(ctx, actor=ANA)
    assert (line.alerts_24h, line.alerts_7d) == (1, 3)


def test_validation_fragment_for_good_bad_and_sensitive_queries(web: Web) -> None:
    browser = web.client("ana")
    before = len(_events(web))
    good = browser.hx("GET", "/rules/validate", params={"query": '"water rising" NEAR/3 flood*'})
    assert good.status_code == 200 and "<html" not in good.text
    assert HTMLParser(good.text).css_first("[data-check]").attributes["data-check"] == "ok"
    bad = browser.hx("GET", "/rules/validate", params={"query": "flood AND (water"})
    tree = HTMLParser(bad.text)
    assert tree.css_first("[data-check]").attributes["data-check"] == "error"
    query_line, caret_line = tree.css_first("pre.caret").text().split("\n")
    assert query_line == "flood AND (water" and caret_line.endswith("^")
    sensitive = browser.hx("GET", "/rules/validate", params={"query": "protest AND police"})
    assert HTMLParser(sensitive.text).css_first("[data-sensitive]") is not None
    assert "justification is required" in sensitive.text
    assert _events(web)[before:] == []  # parsing the analyst's own text reads no stored data
    api = browser.get("/api/rules/validate", params={"q": "flood AND (water"}).json()
    assert api["ok"] is False and api["column"] >= 1


def test_create_a_rule_through_the_editor_and_preview_it(web: Web, tmp_path: Path) -> None:
    _import(web.ctx, tmp_path, _flood_rows(1, 3), "a.csv")
    browser = web.client("ana")
    editor = browser.get("/rules/new")
    assert editor.status_code == 200
    tree = HTMLParser(editor.text)
    assert tree.css_first('textarea[name="query"]').attributes["hx-get"] == "/rules/validate"
    assert [o.attributes["value"] for o in tree.css('select[name="basis"] option')] == [str(web.basis)]
    preview = browser.hx("GET", "/rules/backtest", params={"query": "flood"})
    assert preview.status_code == 200
    preview_tree = HTMLParser(preview.text)
    assert preview_tree.css_first("[data-matched]").attributes["data-matched"] == "3"
    assert preview_tree.css_first(".chart[data-series]") is not None and preview_tree.css("mark")
    form = {"name": "Flood watch", "query": "flood", "severity": "high", "basis": str(web.basis)}
    saved = browser.post_form("/rules/new", form)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/rules")
    listing = browser.get("/rules").text
    assert "Flood watch" in listing and "awaits approval" not in listing
    # htmx: a refusal comes back as a fragment for the form, success as HX-Redirect
    refused = browser.hx("POST", "/rules/new", data={**form, "severity": "urgent"})
    assert refused.status_code == 422 and "<html" not in refused.text and "severity" in refused.text
    done = browser.hx("POST", "/rules/new", data={**form, "name": "Second"})
    assert done.status_code == 200 and done.headers["HX-Redirect"].startswith("/rules")


def test_a_rule_needs_a_basis_in_force(web: Web) -> None:
    browser = web.client("ana")
    browser.cookies.delete("wf_basis")
    refused = browser.post_form("/rules/new", {"name": "X", "query": "flood", "severity": "low"})
    assert refused.status_code == 422 and "legal basis" in refused.text
    assert ("ana", "rules.add", "error") in _events(web)


def test_sensitive_rule_needs_justification_waits_and_another_supervisor_approves(web: Web) -> None:
    ana = web.client("ana")
    form = {"name": "Protests", "query": "protest AND police", "severity": "medium", "basis": str(web.basis)}
    refused = ana.post_form("/rules/new", form)
    assert refused.status_code == 422 and "justification" in refused.text
    saved = ana.post_form("/rules/new", {**form, "justification": "Public-order risk at the flood site"})
    assert saved.status_code == 303
    with web.ctx.store.transaction() as tx:
        [rule] = tx.list_rules()
    assert rule.status == "pending"
    sam = web.client("sam")
    listing = sam.get("/rules").text
    row = _row(listing, rule.id)
    assert row.css_first(".pending-approval") is not None
    assert row.css_first(f'form[action="/rules/{rule.id}/approve"]') is not None
    ana_row = _row(ana.get("/rules").text, rule.id)
    assert ana_row.css_first(f'form[action="/rules/{rule.id}/approve"]') is None  # analysts cannot
    assert ana.post_form(f"/rules/{rule.id}/approve").status_code == 403
    approved = sam.post_form(f"/rules/{rule.id}/approve")
    assert approved.status_code == 303
    with web.ctx.store.transaction() as tx:
        found = tx.get_rule(rule.id)
    assert found is not None and found.status == "active" and found.current.approved_by == "sam"
    assert ("sam", "rules.approve", "ok") in _events(web)


def test_a_supervisor_cannot_approve_their_own_sensitive_rule(web: Web) -> None:
    sam = web.client("sam")
    form = {
        "name": "P",
        "query": "protest",
        "severity": "low",
        "basis": str(web.basis),
        "justification": "why",
    }
    assert sam.post_form("/rules/new", form).status_code == 303
    row = _row(sam.get("/rules").text, 1)
    assert row.css_first('form[action="/rules/1/approve"]') is None
    assert sam.post_form("/rules/1/approve").status_code == 403


def test_edit_pause_resume_and_history_diff(web: Web) -> None:
    rule = add_rule(
        web.ctx, actor=ANA, draft=RuleDraft(basis_id=web.basis, name="Flood", query="flood", severity="low")
    )
    ana = web.client("ana")
    editor = ana.get(f"/rules/{rule.id}/edit")
    assert editor.status_code == 200 and 'data-check="ok"' in editor.text
    form = {"name": "Flood", "query": "flood OR inondation", "severity": "high", "basis": str(web.basis)}
    saved = ana.post_form(f"/rules/{rule.id}/edit", {**form, "change_note": "French too"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/rules/{rule.id}/history"
    same = ana.post_form(f"/rules/{rule.id}/edit", form)
    assert same.status_code == 422 and "nothing to change" in same.text
    history = HTMLParser(ana.get(f"/rules/{rule.id}/history").text)
    latest = history.css_first('section[data-version="2"]')
    query_row = latest.css_first('tr[data-field="query"]')
    assert [s.text() for s in query_row.css(".diff-add")] == [" OR inondation"]
    assert [s.text() for s in latest.css('tr[data-field="severity"] .diff-del')] == ["low"]
    assert latest.css_first('tr[data-field="name"]') is None  # unchanged fields are not listed
    assert "French too" in latest.text()
    assert ana.post_form(f"/rules/{rule.id}/pause").status_code == 303
    assert 'action="/rules/1/resume"' in ana.get("/rules").text
    assert ana.post_form(f"/rules/{rule.id}/resume").status_code == 303
    # another analyst may not edit or pause ana's rule; the refusal is recorded
    bo = web.client("bo")
    assert bo.get(f"/rules/{rule.id}/edit").status_code == 403
    assert bo.post_form(f"/rules/{rule.id}/pause").status_code == 403
    assert ("bo", "rules.pause", "denied") in _events(web)


def test_json_api_create_edit_and_history(web: Web) -> None:
    ana = web.client("ana")
    created = ana.post(
        "/api/rules",
        json={"name": "Flood", "query": "flood", "severity": "low", "basis_id": web.basis},
        headers={"X-CSRF-Token": ana.csrf},
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    edited = ana.put(f"/api/rules/{rule_id}", json={"query": "flood*"}, headers={"X-CSRF-Token": ana.csrf})
    assert edited.status_code == 200 and edited.json()["current"]["version"] == 2
    assert ana.get(f"/api/rules/{rule_id}").json()["current"]["query"] == "flood*"
    history = ana.get(f"/api/rules/{rule_id}/history").json()
    assert [v["query"] for v in history["versions"]] == ["flood", "flood*"]
    bad = ana.post(
        "/api/rules",
        json={"name": "Bad", "query": "flood AND (", "severity": "low", "basis_id": web.basis},
        headers={"X-CSRF-Token": ana.csrf},
    )
    assert bad.status_code == 422 and "column" in bad.json()["error"]
    schema = ana.get("/api/openapi.json").json()
    assert {"/api/rules", "/api/rules/{rule_id}", "/api/rules/{rule_id}/history", "/api/search"} <= set(
        schema["paths"]
    )
