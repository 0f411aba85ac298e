"""The whole shift in a real browser: from a post arriving to a reviewed PDF report that verifies.

ana signs in and watches the queue; a post arrives (imported while the page is open) and its alert
appears live, without a reload; she claims it with the keyboard, adds it to her case, captures the
post as evidence, writes a note and asks for the case report; rita, a reviewer, approves exactly those
bytes; ana releases and downloads the PDF and its manifest, and the independent export verifier
accepts them. Screenshots of each main page go to tests/artifacts/screenshots/ for review.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.web.browser import (  # noqa: F401  (pytest fixtures)
    Live,
    chromium_fixture,
    live_fixture,
    screenshot,
    watch,
)
from watchfloor import exportverify
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
WAIT = 15_000  # ms: generous, this is a behaviour test on a shared machine, not a timing test


def _arrive(live: Live, tmp_path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "author", "created_at", "text", "url"])
    writer.writerow(
        [
            "9001",
            "harbour_watch",
            "2026-11-30T11:58:00Z",
            "Family trapped on a roof by the flood water on Quay Road",
            "https://twitter.com/harbour_watch/status/9001",
        ]
    )
    path = tmp_path / "arrival.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    import_file(live.web.ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))


def test_from_a_live_alert_to_a_verified_pdf_report(live: Live, tmp_path: Path) -> None:
    add_rule(
        live.web.ctx,
        actor=ANA,
        draft=RuleDraft(
            basis_id=live.web.basis, name="Rooftop rescue", query="trapped AND flood*", severity="high"
        ),
    )
    ana = live.sign_in("ana")
    hooks = watch(ana, live.url)

    # a case to work in, opened from the cases page
    ana.goto("/cases")
    ana.fill("form[action='/cases'] input[name=title]", "Quay Road flooding")
    ana.click("form[action='/cases'] button[type=submit]")
    ana.wait_for_url(re.compile(r"/cases/\d+"))
    case_id = int(re.search(r"/cases/(\d+)", ana.url).group(1))  # type: ignore[union-attr]

    # the queue is open when the post arrives: the alert appears without a reload
    ana.goto("/")
    ana.wait_for_selector("#queue-rows", state="attached")
    screenshot(ana, "queue-empty")
    _arrive(live, tmp_path)
    row = ana.wait_for_selector("#queue-rows tr[data-row]", timeout=WAIT)
    assert row is not None and "trapped on a roof" in row.inner_text()
    alert_id = int((row.get_attribute("id") or "alert-0").split("-")[1])
    screenshot(ana, "queue-live-alert")

    # claim with the keyboard: j selects the row, c claims it
    ana.keyboard.press("j")
    ana.keyboard.press("c")
    ana.wait_for_selector(f"#alert-{alert_id} .state-claimed", timeout=WAIT)

    # add to the case from the queue row
    ana.select_option(f"#alert-{alert_id} select[name=case_id]", str(case_id))
    ana.click(f"#alert-{alert_id} .case-cell button[type=submit]")
    # expect() polls from Playwright's isolated script; a wait_for_function string would be eval'd in
    # the page, which its CSP (no 'unsafe-eval') refuses once polling starts.
    expect(ana.locator(f"#alert-{alert_id} .case-result")).to_have_text(re.compile(r"\S"), timeout=WAIT)

    # the post view ("why this alert"), then capture the post as evidence in the case
    ana.goto(f"/alerts/{alert_id}")
    screenshot(ana, "alert-why")
    with live.web.ctx.store.transaction() as tx:
        alert = tx.get_alert(alert_id)
    assert alert is not None and alert.post_id is not None
    ana.goto(f"/posts/{alert.post_id}")
    screenshot(ana, "post-view")
    ana.goto(f"/cases/{case_id}")
    ana.fill(f"form[action='/cases/{case_id}/evidence'] input[name=post_id]", str(alert.post_id))
    ana.click(f"form[action='/cases/{case_id}/evidence'] button[type=submit]")
    ana.wait_for_load_state("load")
    assert "sha256" in ana.inner_text("main").lower() or "SHA-256" in ana.inner_text("main")
    screenshot(ana, "case")

    # ask for the report: the PDF is rendered now and held for review
    ana.goto(f"/cases/{case_id}/report")
    screenshot(ana, "case-report-preview")
    ana.fill(f"form[action='/cases/{case_id}/report'] input[name=recipient]", "Harbour police duty desk")
    ana.click(f"form[action='/cases/{case_id}/report'] button[type=submit]")
    ana.wait_for_url(re.compile(r"/exports/\d+"), timeout=WAIT)
    export_id = int(re.search(r"/exports/(\d+)", ana.url).group(1))  # type: ignore[union-attr]
    assert "Release" not in ana.inner_text("main") or "pending" in ana.inner_text("main").lower()

    # a second person, a reviewer, approves exactly these bytes
    rita = live.sign_in("rita")
    rita_hooks = watch(rita, live.url)
    rita.goto(f"/exports/{export_id}/review")
    screenshot(rita, "export-review")
    rita.click(f"form[action='/exports/{export_id}/approve'] button[type=submit]")
    rita.wait_for_url(re.compile(rf"/exports/{export_id}\?done=approved"), timeout=WAIT)

    # ana releases and downloads the PDF, then the manifest; the verifier accepts them
    ana.goto(f"/exports/{export_id}")
    with ana.expect_download(timeout=WAIT) as released:
        ana.click(f"form[action='/exports/{export_id}/release'] button[type=submit]")
    pdf = Path(released.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    ana.goto(f"/exports/{export_id}")
    screenshot(ana, "export-released")
    with ana.expect_download(timeout=WAIT) as manifest_download:
        ana.click(f"a[href='/exports/{export_id}/manifest']")
    manifest = json.loads(Path(manifest_download.value.path()).read_bytes())
    report = exportverify.verify_export(pdf, manifest)
    assert not report.problems, report.problems

    assert not hooks.problems(ana) and not rita_hooks.problems(rita)


def test_screenshots_of_the_oversight_pages(live: Live) -> None:
    root, audrey = live.sign_in("root"), live.sign_in("audrey")
    for page, path, name in (
        (root, "/admin", "admin"),
        (root, "/admin/users", "admin-users"),
        (root, "/admin/bases", "admin-bases"),
        (root, "/admin/retention", "admin-retention"),
        (audrey, "/admin/watches", "admin-watches"),
        (audrey, "/admin/reports/transparency", "admin-transparency"),
        (audrey, "/admin/reports/accuracy", "admin-accuracy"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        screenshot(page, name)
    hooks = watch(audrey, live.url)
    audrey.goto("/admin/audit")
    audrey.click("#verify a")  # htmx swaps the verification result in
    audrey.wait_for_selector("#verify .verified", timeout=WAIT)
    assert "Verified" in audrey.inner_text("#verify")
    screenshot(audrey, "admin-audit")
    assert not hooks.problems(audrey)
