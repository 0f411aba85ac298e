"""The exports pages: list with status filters, one review, the reviewer's reading of the exact bytes
with approve (bound to the hash shown) or refuse, and the author's release download with its manifest."""

from __future__ import annotations

import json
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.web.conftest import Web
from tests.web.test_cases_pages import events, open_case, posts
from watchfloor import exportverify
from watchfloor.domain.actor import Actor
from watchfloor.services import dissemination as exports

ANA = Actor(name="ana", roles=frozenset({"analyst"}))


def _export(web: Web, tmp_path: Path, fmt: str = "ndjson") -> int:
    posts(web, tmp_path)
    pending = exports.request_export(
        web.ctx,
        actor=ANA,
        query="flood OR river",
        basis_id=web.basis,
        recipient="County cell",
        title="Flood posts",
        fmt=fmt,
    )
    return pending.id


def test_exports_list_filters_by_status(web: Web, tmp_path: Path) -> None:
    export_id = _export(web, tmp_path)
    ana = web.client("ana")
    rows = HTMLParser(ana.get("/exports").text).css("table.exports tbody tr[data-row]")
    assert len(rows) == 1 and "Flood posts" in rows[0].text() and "pending" in rows[0].text()
    assert HTMLParser(ana.get("/exports?status=approved").text).css("table.exports tbody tr[data-row]") == []
    assert ana.get("/exports?status=bogus").status_code == 422
    assert web.client("audrey").get(f"/exports/{export_id}").status_code == 200  # auditors read reviews
    assert web.client("root").get("/exports").status_code == 403


def test_reviewer_reads_exact_bytes_approves_and_author_downloads(web: Web, tmp_path: Path) -> None:
    export_id = _export(web, tmp_path, fmt="csv")
    ana, rita = web.client("ana"), web.client("rita")
    # The author can neither read the content as a review nor approve it.
    assert ana.get(f"/exports/{export_id}/review").status_code == 403
    own = ana.post_form(f"/exports/{export_id}/approve", {"content_sha256": "0" * 64})
    assert own.status_code == 403
    assert HTMLParser(ana.get(f"/exports/{export_id}").text).css('a[href$="/review"]') == []
    page = HTMLParser(rita.get(f"/exports/{export_id}").text)
    assert page.css_first('a[href$="/review"]') is not None
    review = HTMLParser(rita.get(f"/exports/{export_id}/review").text)
    shown = review.css_first("#reviewed-sha256").text()
    assert "river" in review.css_first("pre.raw").text()
    form = review.css_first(f'form[action="/exports/{export_id}/approve"]')
    assert form.css_first('input[name="content_sha256"]').attributes["value"] == shown
    before = len(events(web))
    done = rita.post_form(f"/exports/{export_id}/approve", {"content_sha256": shown})
    assert done.status_code == 303
    assert [e[1:] for e in events(web)[before:]] == [("exports.decide", "ok")]
    assert HTMLParser(rita.get("/exports?status=approved").text).css("table.exports tbody tr[data-row]")
    assert rita.post_form(f"/exports/{export_id}/release").status_code == 403  # only the author releases
    released = ana.post_form(f"/exports/{export_id}/release")
    assert released.status_code == 200
    assert released.headers["content-type"].startswith("text/csv")
    assert (
        released.headers["content-disposition"] == f'attachment; filename="watchfloor-export-{export_id}.csv"'
    )
    manifest = ana.get(f"/exports/{export_id}/manifest")
    assert manifest.status_code == 200 and manifest.headers["content-disposition"].startswith("attachment")
    assert exportverify.verify_export(released.content, manifest.json()).ok
    assert ana.post_form(f"/exports/{export_id}/release").status_code == 409  # once


def test_a_reviewer_refuses_with_a_reason(web: Web, tmp_path: Path) -> None:
    export_id = _export(web, tmp_path)
    rita = web.client("rita")
    assert rita.post_form(f"/exports/{export_id}/reject", {"note": ""}).status_code == 422
    assert rita.post_form(f"/exports/{export_id}/reject", {"note": "names a minor"}).status_code == 303
    page = HTMLParser(web.client("ana").get(f"/exports/{export_id}").text)
    assert "rejected" in page.css_first(".badge").text() and "names a minor" in page.text()


def test_case_report_pdf_through_review_and_release_verifies(web: Web, tmp_path: Path) -> None:
    ids = posts(web, tmp_path)
    ana, rita = web.client("ana"), web.client("rita")
    case_id = open_case(web, ana)
    ana.post_form(f"/cases/{case_id}/evidence", {"post_id": ids["32"]})
    requested = ana.post_form(f"/cases/{case_id}/report", {"recipient": "River authority"})
    export_id = int(requested.headers["location"].split("/exports/")[1].split("?")[0])
    review = HTMLParser(rita.get(f"/exports/{export_id}/review").text)
    assert review.css("pre.raw") == []  # a PDF is opened as a file, not shown as text
    pdf = rita.get(f"/exports/{export_id}/review/content")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    sha = review.css_first("#reviewed-sha256").text()
    assert pdf.headers["x-content-sha256"] == sha
    assert rita.post_form(f"/exports/{export_id}/approve", {"content_sha256": sha}).status_code == 303
    released = ana.post_form(f"/exports/{export_id}/release")
    assert released.headers["content-type"] == "application/pdf" and released.content == pdf.content
    manifest = ana.get(f"/exports/{export_id}/manifest").json()
    assert exportverify.verify_export(released.content, manifest).ok
    flipped = bytearray(released.content)
    flipped[100] ^= 0xFF
    assert not exportverify.verify_export(bytes(flipped), manifest).ok
    custody = ana.get(f"/api/cases/{case_id}/evidence/1").json()["custody"]
    assert [c["action"] for c in custody] == ["captured", "exported", "released", "viewed"]


def test_the_exports_api(web: Web, tmp_path: Path) -> None:
    export_id = _export(web, tmp_path)
    ana, rita = web.client("ana"), web.client("rita")
    assert [e["id"] for e in ana.get("/api/exports?status=pending").json()] == [export_id]
    review = rita.get(f"/api/exports/{export_id}/review").json()
    sha = review["content_sha256"]
    wrong = rita.post(
        f"/api/exports/{export_id}/approve",
        json={"content_sha256": "f" * 64},
        headers={"X-CSRF-Token": rita.csrf},
    )
    assert wrong.status_code == 409
    ok = rita.post(
        f"/api/exports/{export_id}/approve", json={"content_sha256": sha}, headers={"X-CSRF-Token": rita.csrf}
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    out = ana.post(f"/api/exports/{export_id}/release", headers={"X-CSRF-Token": ana.csrf}).json()
    assert out["media_type"] == "application/x-ndjson" and out["manifest"]["content_sha256"] == sha
    assert ana.get(f"/api/exports/{export_id}").json()["status"] == "released"
    assert json.dumps(out["manifest"]).count("sha256") >= 2
