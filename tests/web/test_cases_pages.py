"""The cases pages: list and detail, notes typed fact/assessment, tasks, deadline, manual links with a
reason, evidence capture and viewing with its custody chain, verification, and the report request."""

from __future__ import annotations

import json
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import update

from tests.web.conftest import Web
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.query.parser import parse_query
from watchfloor.services.ingest import import_file
from watchfloor.store.schema import evidence_blobs

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
XSS = '<script>alert("case")</script><img src=x onerror=alert(2)> water at the weir'


def posts(web: Web, tmp_path: Path) -> dict[str, int]:
    """Import three posts (one hostile) and return native id -> store id."""
    rows = [("31", XSS), ("32", "the flood reached the gates"), ("33", "road closed by the river")]
    lines = ["id,author,created_at,text"] + [
        ",".join(json.dumps(c) for c in (n, f"user{n}", "2026-11-01T10:00:00Z", t)) for n, t in rows
    ]
    path = tmp_path / "posts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(web.ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    with web.ctx.store.transaction() as tx:
        return {p.post.native_id: p.id for p in tx.iter_search(parse_query(""))}


def events(web: Web) -> list[tuple[str, str, str]]:
    with web.ctx.store.transaction() as tx:
        return [(e.actor, e.action, e.outcome) for e in reversed(tx.audit_events(limit=1000))]


def open_case(web: Web, browser: object, title: str = "Weir flooding") -> int:
    done = browser.post_form("/cases", {"title": title, "basis": web.basis})  # type: ignore[attr-defined]
    assert done.status_code == 303, done.text
    return int(done.headers["location"].split("/cases/")[1].split("?")[0])


def test_open_a_case_and_see_it_listed(web: Web) -> None:
    ana = web.client("ana")
    case_id = open_case(web, ana)
    page = ana.get(f"/cases/{case_id}?done=opened")
    assert page.status_code == 200 and "The case is open" in page.text
    listed = HTMLParser(ana.get("/cases?status=open").text)
    rows = listed.css("table.cases tbody tr[data-row]")
    assert len(rows) == 1 and "Weir flooding" in rows[0].text() and "Flood response" in rows[0].text()
    assert HTMLParser(ana.get("/cases?status=closed").text).css("table.cases tbody tr[data-row]") == []
    assert web.anonymous().get("/cases").status_code == 303  # sign in first
    assert web.client("rita").get("/cases").status_code == 403  # reviewers read reports, not cases


def test_notes_tasks_deadline_and_links_on_the_case_page(web: Web) -> None:
    ana = web.client("ana")
    case_id = open_case(web, ana)
    assert (
        ana.post_form(f"/cases/{case_id}/notes", {"kind": "fact", "body": "Gauge at 3.1 m"}).status_code
        == 303
    )
    body = "I think <b>it</b> will breach tonight"
    assert ana.post_form(f"/cases/{case_id}/notes", {"kind": "assessment", "body": body}).status_code == 303
    assert ana.post_form(f"/cases/{case_id}/tasks", {"text": "Call the river authority"}).status_code == 303
    assert ana.post_form(f"/cases/{case_id}/deadline", {"due": "2026-12-24"}).status_code == 303
    refused = ana.post_form(f"/cases/{case_id}/links", {"handle": "@WeirWatch", "reason": " "})
    assert refused.status_code == 422 and "needs a reason" in refused.text
    linked = ana.post_form(
        f"/cases/{case_id}/links", {"handle": "@WeirWatch", "platform": "twitter", "reason": "first photo"}
    )
    assert linked.status_code == 303
    page = HTMLParser(ana.get(f"/cases/{case_id}").text)
    notes = page.css("ol.timeline li.note")
    assert [n.css_first(".badge").text() for n in notes] == ["fact", "assessment"]
    assert notes[1].css_first(".post-text").text() == body and notes[1].css("b") == []  # escaped
    assert "Call the river authority" in page.css_first("#tasks").text()
    assert "2026-12-24 23:59" in page.css_first(".case-summary").text()
    assert (
        "@weirwatch" in page.css_first("#links").text() and "first photo" in page.css_first("#links").text()
    )
    [task_form] = [f for f in page.css("#tasks form") if "/done" in (f.attributes.get("action") or "")]
    assert ana.post_form(task_form.attributes["action"] or "").status_code == 303
    # Another analyst may read the case but not change it; the page offers no forms to them.
    bo = web.client("bo")
    assert bo.post_form(f"/cases/{case_id}/notes", {"kind": "fact", "body": "x"}).status_code == 403
    assert HTMLParser(bo.get(f"/cases/{case_id}").text).css("#notes form") == []


def test_capture_view_and_verify_evidence(web: Web, tmp_path: Path) -> None:
    ids = posts(web, tmp_path)
    ana = web.client("ana")
    case_id = open_case(web, ana)
    before = len(events(web))
    captured = ana.post_form(f"/cases/{case_id}/evidence", {"post_id": ids["31"]})
    assert captured.status_code == 303
    assert [e[1:] for e in events(web)[before:]] == [("evidence.capture", "ok")]  # one request, one event
    location = captured.headers["location"]
    page = ana.get(location)
    assert page.status_code == 200
    tree = HTMLParser(page.text)
    parts = {r.css("td")[0].text(): r.css_first("code.hash").text() for r in tree.css("table.parts tbody tr")}
    assert set(parts) == {"raw.csv", "snapshot.html", "metadata.json"}
    assert [li.css_first(".badge").text() for li in tree.css("ol.custody li")] == ["captured", "viewed"]
    snapshot = ana.get(f"/cases/{case_id}/evidence/1/parts/snapshot.html")
    assert snapshot.status_code == 200 and snapshot.headers["content-disposition"].startswith("attachment")
    assert snapshot.headers["x-evidence-sha256"] == parts["snapshot.html"]
    assert "<script>" not in snapshot.text and "&lt;script&gt;" in snapshot.text
    shown = HTMLParser(ana.get(f"/cases/{case_id}/evidence/1?show=raw.csv").text)
    assert "<script>" in shown.css_first("pre.raw").text()  # shown as text, escaped in the page
    assert shown.css("pre.raw script") == []
    ok = HTMLParser(ana.get(f"/cases/{case_id}/verify").text)
    assert "All 3 stored parts" in ok.text() and ok.css("tr.bad") == []
    with web.ctx.store.transaction() as tx:
        tx.conn.execute(  # type: ignore[attr-defined]
            update(evidence_blobs).where(evidence_blobs.c.sha256 == parts["raw.csv"]).values(content=b"x")
        )
    bad = HTMLParser(ana.get(f"/cases/{case_id}/verify").text)
    assert [r.css("td")[1].text() for r in bad.css("tr.bad")] == ["raw.csv"]
    assert web.client("bo").post_form(f"/cases/{case_id}/evidence", {"post_id": ids["32"]}).status_code == 403


def test_report_preview_labels_assessments_and_request_goes_to_review(web: Web, tmp_path: Path) -> None:
    ids = posts(web, tmp_path)
    ana = web.client("ana")
    case_id = open_case(web, ana)
    ana.post_form(f"/cases/{case_id}/evidence", {"post_id": ids["32"]})
    ana.post_form(f"/cases/{case_id}/notes", {"kind": "assessment", "body": "Likely to get worse"})
    preview = HTMLParser(ana.get(f"/cases/{case_id}/report").text)
    [note] = preview.css("article.report .note")
    assert note.css_first(".badge").text() == "Assessment" and "Likely to get worse" in note.text()
    assert len(preview.css("article.report table tbody tr")) == 3  # three parts in the manifest
    done = ana.post_form(f"/cases/{case_id}/report", {"recipient": "River authority"})
    assert done.status_code == 303 and done.headers["location"].startswith("/exports/")
    export = HTMLParser(ana.get(done.headers["location"]).text)
    assert "pending" in export.css_first(".badge").text() and "Waiting for a reviewer" in export.text()
    case_page = HTMLParser(ana.get(f"/cases/{case_id}").text)
    assert "(pending)" in case_page.css_first(".case-summary").text()


def test_the_cases_api(web: Web, tmp_path: Path) -> None:
    ids = posts(web, tmp_path)
    ana = web.client("ana")
    headers = {"X-CSRF-Token": ana.csrf}
    made = ana.post("/api/cases", json={"title": "API case", "basis_id": web.basis}, headers=headers)
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    item = ana.post(f"/api/cases/{case_id}/evidence", json={"post_id": ids["33"]}, headers=headers).json()
    assert {p["name"] for p in item["parts"]} == {"raw.csv", "snapshot.html", "metadata.json"}
    detail = ana.get(f"/api/cases/{case_id}/evidence/{item['id']}").json()
    assert [c["action"] for c in detail["custody"]] == ["captured", "viewed"]
    case = ana.get(f"/api/cases/{case_id}").json()
    assert case["evidence"][0]["id"] == item["id"] and case["basis_title"].startswith("Flood response")
    report = ana.post(f"/api/cases/{case_id}/report", json={"recipient": "Council"}, headers=headers)
    assert (
        report.status_code == 201 and report.json()["format"] == "pdf" and report.json()["case_id"] == case_id
    )
    assert [c["id"] for c in ana.get("/api/cases").json()] == [case_id]
    schema = ana.get("/api/openapi.json").json()
    assert "/api/cases/{case_id}/evidence/{evidence_id}" in schema["paths"]
    assert ana.get("/api/cases/999").status_code == 404
