"""The shift handover page (summary and notes) and the dashboard (volumes, SLA, top terms, imports)."""

from __future__ import annotations

import json
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.web.alerts_data import ANA, add_rescue_rule, audit_size, events, import_rows
from tests.web.conftest import Web
from watchfloor.domain.actor import Actor
from watchfloor.services.alerts import claim_alert
from watchfloor.services.console_dashboard import dashboard
from watchfloor.services.handover import handover_summary

ROWS = [
    {
        "id": "1",
        "author": "a",
        "created_at": "2012-10-29T20:00:00Z",
        "text": "Trapped on the roof #sandy",
        "lang": "en",
        "hashtags": "sandy",
        "urls": "https://news.example.org/a",
    },
    {
        "id": "2",
        "author": "b",
        "created_at": "2012-10-29T20:05:00Z",
        "text": "Stranded at the station #sandy",
        "lang": "en",
        "hashtags": "sandy",
    },
    {"id": "3", "author": "c", "created_at": "2012-10-29T20:10:00Z", "text": "Quiet evening", "lang": "fr"},
]


def _text(html: str, selector: str) -> str:
    node = HTMLParser(html).css_first(selector)
    assert node is not None, selector
    return node.text().strip()


def test_the_handover_page_matches_the_summary_and_takes_notes(web: Web, tmp_path: Path) -> None:
    add_rescue_rule(web)
    import_rows(web, tmp_path, ROWS)
    browser = web.client("ana")
    before = audit_size(web)
    page = browser.get("/handover")
    assert page.status_code == 200 and audit_size(web) == before + 1
    summary = handover_summary(web.ctx, actor=ANA)
    assert _text(page.text, "#raised-in-shift") == str(summary.raised_in_shift) == "2"
    assert _text(page.text, 'tr[data-severity="high"] td.count') == "2"
    note = "Rescue rule fires on <b>song lyrics</b>"
    added = browser.post_form("/handover/notes", {"text": note})
    assert added.status_code == 303 and added.headers["location"] == "/handover"
    assert events(web)[-1].action == "handover.note"
    shown = browser.get("/handover")
    assert note in _text(shown.text, "li.note") and "<b>song" not in shown.text
    assert browser.post_form("/handover/notes", {"text": "   "}).status_code == 422
    api = browser.get("/api/handover").json()
    assert api["raised_in_shift"] == 2 and api["notes"][0]["text"] == note
    assert web.client("audrey").get("/handover").status_code == 403


def test_the_dashboard_numbers_match_the_service(web: Web, tmp_path: Path) -> None:
    add_rescue_rule(web)
    import_rows(web, tmp_path, ROWS)
    claim_alert(web.ctx, actor=ANA, alert_id=1)
    browser = web.client("ana")
    page = browser.get("/dashboard")
    assert page.status_code == 200 and events(web)[-1].action == "dashboard.view"
    board = dashboard(web.ctx, actor=ANA)
    assert _text(page.text, "#sla-raised") == str(board.sla.raised) == "2"
    assert _text(page.text, "#sla-claimed").startswith("1")
    assert board.alerts_by_rule.total == 2 and board.posts_by_platform.total == 3
    assert [s.label for s in board.alerts_by_rule.series] == ["Rescue"]
    chart = HTMLParser(page.text).css_first("#chart-languages")
    assert chart is not None
    data = json.loads(str(chart.attributes["data-chart"]))
    assert {s["label"]: sum(s["y"]) for s in data["series"]} == {"en": 2, "fr": 1}
    assert _text(page.text, "#top-hashtags") == "#sandy 2" and board.top_hashtags[0].count == 2
    assert _text(page.text, "#top-domains") == f"{board.top_domains[0].value} 1" == "example.org 1"
    assert "posts.csv" in _text(page.text, "table.imports")
    assert 'src="/static/vendor/uPlot-1.6.32.iife.min.js"' in page.text
    api = browser.get("/api/dashboard", params={"hours": 8}).json()
    assert api["sla"]["raised"] == 2 and api["sla"]["claimed"] == 1 and api["imports"][0]["inserted"] == 3


def test_who_sees_the_dashboard(web: Web, tmp_path: Path) -> None:
    add_rescue_rule(web)
    import_rows(web, tmp_path, ROWS)
    assert "Rescue" in web.client("audrey").get("/dashboard").text  # auditors read rules
    admin = dashboard(web.ctx, actor=Actor(name="root", roles=frozenset({"admin"})))
    assert [s.label for s in admin.alerts_by_rule.series] == ["rule 1"]  # admins do not
    assert web.client("rita").get("/dashboard").status_code == 403
    assert events(web)[-1].outcome == "denied"
