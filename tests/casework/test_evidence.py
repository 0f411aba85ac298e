"""Evidence in cases: write-once captures with hashes, custody chains, typed notes, manual links, and the
case report (PDF) going out through review and verifying offline."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.casework.conftest import ADA, ANA, BO, RITA, SUE, import_rows, make_basis
from watchfloor import exportverify
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from watchfloor.services import case_report, casefile, cases, evidence
from watchfloor.services import dissemination as exports
from watchfloor.services.context import ServiceContext
from watchfloor.services.release import release_export_bytes
from watchfloor.services.retention import purge
from watchfloor.store.schema import custody_events, evidence_blobs, evidence_items, evidence_parts

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> flood at the weir'
ROWS = [("21", HOSTILE), ("22", "the flood reached the school gates"), ("23", "bridge closed, flood warning")]


_POSTS: dict[int, dict[str, int]] = {}  # id(ctx) -> native id -> store id


@pytest.fixture
def case_id(ctx: ServiceContext, tmp_path: Path) -> int:
    _POSTS[id(ctx)] = import_rows(ctx, tmp_path, ROWS, "posts.csv")
    basis = make_basis(ctx)
    return cases.open_case(ctx, actor=ANA, title="Weir flooding", basis_id=basis).id


def _post(ctx: ServiceContext, native: str) -> int:
    return _POSTS[id(ctx)][native]


def _events(ctx: ServiceContext, action: str) -> list[tuple[str, str, dict[str, object]]]:
    with ctx.store.transaction() as tx:
        found = tx.audit_events(actor=None, action=action, before=None, limit=100)
        return [(e.actor, e.outcome, dict(e.details)) for e in reversed(found)]


def _count(ctx: ServiceContext, table: object) -> int:
    with ctx.store.transaction() as tx:
        return int(tx.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[attr-defined,arg-type]


def test_a_capture_stores_raw_snapshot_and_metadata_each_with_its_hash(
    ctx: ServiceContext, case_id: int
) -> None:
    item = evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "21"))
    names = [p.name for p in item.parts]
    assert sorted(names) == ["metadata.json", "raw.csv", "snapshot.html"]
    assert (item.captured_by, item.captured_at, item.tool_version) == ("ana", ctx.clock.now(), evidence.TOOL)
    contents = {}
    for part in item.parts:
        view = evidence.view_evidence(ctx, actor=ANA, case_id=case_id, evidence_id=item.id, part=part.name)
        assert view.content is not None
        assert hashlib.sha256(view.content).hexdigest() == part.sha256 and len(view.content) == part.size
        contents[part.name] = view.content
    snapshot = contents["snapshot.html"].decode()
    assert "<script>" not in snapshot and "onerror=alert" not in snapshot.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;" in snapshot and "<img" not in snapshot
    assert "src=" not in snapshot.replace("img src=x", "")
    assert "http://" not in snapshot and "https://" not in snapshot
    meta = json.loads(contents["metadata.json"])
    assert meta["captured_by"] == "ana" and meta["tool"] == evidence.TOOL
    assert meta["parts"]["raw.csv"] == hashlib.sha256(contents["raw.csv"]).hexdigest()
    assert meta["legal_basis"]["title"] == "Flood response 2026"
    [(who, outcome, details)] = _events(ctx, "evidence.capture")
    assert (who, outcome) == ("ana", "ok") and "flood at the weir" not in json.dumps(details)


def test_evidence_is_write_once_and_tampering_is_detected(ctx: ServiceContext, case_id: int) -> None:
    first = evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "22"))
    again = evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "22"))
    raw = next(p for p in first.parts if p.name.startswith("raw."))
    assert raw in again.parts  # the same bytes are one blob, shared; nothing was overwritten
    # No service changes or deletes evidence: the modules offer capture, view and verify only.
    for module in (evidence, cases, casefile):
        assert not [n for n in module.__all__ if any(w in n for w in ("update", "edit", "delete", "replace"))]
    with ctx.store.transaction() as tx:  # the store keeps the first bytes for a hash, whatever is offered
        assert tx.put_evidence_blob(raw.sha256, b"forged") is False
    assert all(c.ok for c in evidence.verify_evidence(ctx, actor=ANA, case_id=case_id))
    with ctx.store.transaction() as tx:  # tampering behind the store's back
        tx.conn.execute(  # type: ignore[attr-defined]
            update(evidence_blobs).where(evidence_blobs.c.sha256 == raw.sha256).values(content=b"forged")
        )
    checks = evidence.verify_evidence(ctx, actor=ANA, case_id=case_id)
    bad = [(c.evidence_id, c.name) for c in checks if not c.ok]
    assert sorted(bad) == sorted([(first.id, raw.name), (again.id, raw.name)])
    assert _events(ctx, "evidence.verify")[-1][2]["mismatched"] == 2


def test_the_custody_chain_follows_an_item_out_of_the_building(ctx: ServiceContext, case_id: int) -> None:
    item = evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "23"))
    evidence.view_evidence(ctx, actor=SUE, case_id=case_id, evidence_id=item.id)
    casefile.add_note(ctx, actor=ANA, case_id=case_id, kind="fact", body="Bridge closed at 09:10 UTC.")
    casefile.add_note(ctx, actor=ANA, case_id=case_id, kind="assessment", body="Likely to reopen by noon.")
    pending = case_report.request_case_report(ctx, actor=ANA, case_id=case_id, recipient="County cell")
    assert (pending.kind, pending.status, pending.spec["case_id"]) == ("report", "pending", case_id)
    with pytest.raises(PermissionDenied):  # the author cannot approve their own report
        exports.approve_export(
            ctx, actor=ANA, dissemination_id=pending.id, content_sha256=pending.content_sha256
        )
    _, pdf = exports.review_content(ctx, actor=RITA, dissemination_id=pending.id)
    assert pdf.startswith(b"%PDF")
    exports.approve_export(
        ctx, actor=RITA, dissemination_id=pending.id, content_sha256=exports.sha256_hex(pdf)
    )
    out = release_export_bytes(ctx, actor=ANA, dissemination_id=pending.id)
    assert out.content == pdf and out.media_type == "application/pdf" and out.filename.endswith(".pdf")
    view = evidence.view_evidence(ctx, actor=ANA, case_id=case_id, evidence_id=item.id)
    chain = [(c.action, c.actor) for c in view.custody]
    assert chain == [
        ("captured", "ana"),
        ("viewed", "sue"),
        ("exported", "ana"),
        ("released", "ana"),
        ("viewed", "ana"),
    ]
    assert view.custody[2].note == f"in case report sha256:{pending.content_sha256}"
    assert exportverify.verify_export(out.content, json.loads(out.manifest_bytes)).ok
    flipped = bytearray(out.content)
    flipped[len(flipped) // 2] ^= 0x01
    report = exportverify.verify_export(bytes(flipped), json.loads(out.manifest_bytes))
    assert not report.ok and "SHA-256" in report.problems[0]


def test_notes_are_typed_and_the_report_labels_assessments(ctx: ServiceContext, case_id: int) -> None:
    with pytest.raises(InputError, match="fact or an assessment"):
        casefile.add_note(ctx, actor=ANA, case_id=case_id, kind="rumour", body="x")
    casefile.add_note(ctx, actor=ANA, case_id=case_id, kind="fact", body="Water over the weir at 08:00.")
    casefile.add_note(ctx, actor=ANA, case_id=case_id, kind="assessment", body="Probably <b>rising</b>.")
    evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "21"))
    view = cases.show_case(ctx, actor=ANA, case_id=case_id)
    assert [n.kind for n in view.notes] == ["fact", "assessment"]
    report = case_report.preview_case_report(ctx, actor=ANA, case_id=case_id)
    html = case_report.render_report_html(report)
    assessment = html.index("Probably &lt;b&gt;rising&lt;/b&gt;.")
    label = html.rindex('<span class="label assessment">Assessment</span>', 0, assessment)
    assert html.rindex("Fact</span>", 0, assessment) < label
    assert "<script>" not in html and report.manifest and all(len(r.sha256) == 64 for r in report.manifest)
    assert report.manifest_sha256 in html
    assert case_report.render_pdf(html).startswith(b"%PDF")


def test_the_pdf_renderer_fetches_nothing(ctx: ServiceContext) -> None:
    pdf = case_report.render_pdf(
        '<link rel=stylesheet href="http://127.0.0.1:9/x.css"><img src="http://127.0.0.1:9/i.png">'
    )
    assert pdf.startswith(b"%PDF")  # the refused fetches are only warnings; no connection was tried


def test_linking_an_account_is_manual_with_a_reason(ctx: ServiceContext, case_id: int) -> None:
    with pytest.raises(InputError, match="needs a reason"):
        casefile.link_account(ctx, actor=ANA, case_id=case_id, handle="@WeirWatcher", reason="  ")
    link = casefile.link_account(
        ctx,
        actor=ANA,
        case_id=case_id,
        handle="@WeirWatcher",
        platform="twitter",
        reason="posted the first photo",
    )
    assert (link.handle, link.platform, link.linked_by) == ("weirwatcher", "twitter", "ana")
    with pytest.raises(PermissionDenied):  # another analyst's case
        casefile.link_account(ctx, actor=BO, case_id=case_id, handle="x", reason="y")
    ok = [d for _, outcome, d in _events(ctx, "cases.work") if outcome == "ok"]
    assert ok[-1]["reason"] == "posted the first photo"
    assert ok[-1]["handle_sha256"] == hashlib.sha256(b"weirwatcher").hexdigest()
    assert "weirwatcher" not in json.dumps(ok)


def test_tasks_deadline_and_who_may_touch_evidence(ctx: ServiceContext, case_id: int) -> None:
    task = casefile.add_task(ctx, actor=ANA, case_id=case_id, text="Ask the council for the gauge data")
    casefile.complete_task(ctx, actor=SUE, case_id=case_id, task_id=task.id)
    with pytest.raises(Conflict, match="already done"):
        casefile.complete_task(ctx, actor=ANA, case_id=case_id, task_id=task.id)
    due = casefile.parse_due("2026-12-24")
    assert casefile.set_deadline(ctx, actor=ANA, case_id=case_id, due=due).due_at == due
    with pytest.raises(InputError, match="not a date"):
        casefile.parse_due("next week")
    with pytest.raises(PermissionDenied):
        evidence.capture_evidence(ctx, actor=BO, case_id=case_id, post_id=_post(ctx, "21"))
    item = evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "21"))
    with pytest.raises(PermissionDenied):  # reviewers read reports under review, not case files
        evidence.view_evidence(ctx, actor=RITA, case_id=case_id, evidence_id=item.id)
    with pytest.raises(NotFound):
        evidence.view_evidence(ctx, actor=ANA, case_id=case_id, evidence_id=item.id, part="../etc/passwd")
    assert [o for _, o, _ in _events(ctx, "evidence.view")] == ["denied", "denied"]
    cases.close_case(ctx, actor=ANA, case_id=case_id)
    with pytest.raises(Conflict, match="closed"):
        evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "22"))


def test_purging_a_case_takes_its_evidence_and_unshared_blobs(ctx: ServiceContext, case_id: int) -> None:
    basis = make_basis(ctx)
    other = cases.open_case(ctx, actor=ANA, title="Other", basis_id=basis).id
    gone = evidence.capture_evidence(ctx, actor=ANA, case_id=case_id, post_id=_post(ctx, "21"))
    kept = evidence.capture_evidence(ctx, actor=ANA, case_id=other, post_id=_post(ctx, "21"))
    casefile.add_note(ctx, actor=ANA, case_id=case_id, kind="fact", body="x")
    cases.close_case(ctx, actor=ANA, case_id=case_id)
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(timedelta(days=ctx.settings.retention_case_days_after_close + 1))
    counts = purge(ctx, actor=ADA)
    assert case_id in counts.case_ids
    with ctx.store.transaction() as tx:
        assert tx.get_evidence(gone.id) is None and tx.get_evidence(kept.id) is not None
        assert tx.case_notes(case_id) == [] and tx.custody_events([gone.id]) == []
        shared = {p.sha256 for p in kept.parts}
        for part in gone.parts:  # the raw payload is shared with the other case and stays
            assert (tx.evidence_blob(part.sha256) is not None) == (part.sha256 in shared)
    assert _count(ctx, evidence_items) == 1 and _count(ctx, evidence_parts) == 3
    assert _count(ctx, custody_events) == 1


@pytest.mark.slow
def test_the_evidence_commands_end_to_end(tmp_path: Path) -> None:
    """capture → note → link → report → review → approve → release → verify-export, as real processes."""
    from tests.casework.test_cli_casework import wf
    from watchfloor.query.parser import parse_query
    from watchfloor.store.engine import open_store

    db = tmp_path / "floor.db"
    posts = tmp_path / "posts.csv"
    posts.write_text('id,author,created_at,text\n"41","u41","2026-11-01T10:00:00Z","flood at the weir"\n')
    wf(db, "import", str(posts), "--format", "csv", "--platform", "twitter")
    store = open_store(str(db))
    with store.transaction() as tx:
        [post_id] = [p.id for p in tx.iter_search(parse_query(""))]
    store.close()
    wf(db, "cases", "open", "Weir")
    captured = wf(db, "cases", "capture", "1", str(post_id)).stdout
    assert "Evidence item 1 in case 1" in captured and "snapshot.html" in captured
    assert "needs a reason" in wf(db, "cases", "link", "1", "@weirwatch", "--reason", " ", code=2).stderr
    wf(db, "cases", "link", "1", "@WeirWatch", "--reason", "posted the first photo")
    wf(db, "cases", "note", "1", "Likely to breach", "--kind", "assessment")
    shown = wf(db, "--as", "bo", "cases", "evidence", "1", "1").stdout
    assert "captured" in shown and "viewed" in shown and "bo" in shown
    requested = wf(db, "cases", "report", "1", "--recipient", "River authority").stdout
    report_id = requested.split("Report ")[1].split(" ")[0]
    review = tmp_path / "review.pdf"
    hint = wf(db, "--as", "rita", "exports", "review", report_id, "-o", str(review)).stderr
    sha = hint.split("--sha256 ")[1].split()[0]
    assert review.read_bytes().startswith(b"%PDF")
    wf(db, "--as", "rita", "exports", "approve", report_id, "--sha256", sha)
    out = tmp_path / "report.pdf"
    wf(db, "exports", "release", report_id, "-o", str(out))
    assert wf(db, "verify-export", str(out)).stdout.rstrip().endswith("verified")
    assert "All 3 stored parts" in wf(db, "cases", "verify", "1").stdout
    chain = wf(db, "cases", "evidence", "1", "1").stdout
    assert chain.index("exported") < chain.index("released")
