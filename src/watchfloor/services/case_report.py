"""Case reports: the case, its notes (assessments labelled apart from facts), linked accounts and
evidence with a manifest of every part's SHA-256, as HTML and as PDF, sent out only through review.

:func:`preview_case_report` gives the author the report's content to read in the console (nothing
leaves). :func:`request_case_report` renders the PDF (WeasyPrint, with every URL refused: the CSS is
inline and nothing is fetched) and holds its exact bytes for a reviewer through the dissemination flow
(:func:`watchfloor.services.dissemination.hold_for_review`): a reviewer who is not the author approves
the hash, the author releases the file with a manifest, and ``watchfloor verify-export`` checks it.
Each evidence item put in the report gets an ``exported`` custody event naming the report's SHA-256,
in the same transaction as the one ``exports.request`` audit event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import msgspec
from jinja2 import Environment, PackageLoader, select_autoescape

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.casework import CaseLink, CaseNote, CaseTask, EvidenceItem
from watchfloor.domain.errors import InputError
from watchfloor.domain.oversight import Case, Dissemination, LegalBasis
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.cases import access_case_or_raise
from watchfloor.services.context import ServiceContext
from watchfloor.services.dissemination import hold_for_review
from watchfloor.services.evidence import TOOL
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = [
    "CaseReport",
    "ManifestRow",
    "preview_case_report",
    "render_pdf",
    "render_report_html",
    "request_case_report",
]

_templates = Environment(
    loader=PackageLoader("watchfloor.services", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class ManifestRow(msgspec.Struct, frozen=True, kw_only=True):
    evidence_id: int
    post_id: int
    name: str
    media_type: str
    size: int
    sha256: str


class EvidenceEntry(msgspec.Struct, frozen=True, kw_only=True):
    item: EvidenceItem
    text: str | None  # the post's text if it is still stored


class CaseReport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a case report shows; the HTML and PDF are renderings of this."""

    case: Case
    basis: LegalBasis
    author: str
    generated_at: datetime
    tool: str
    alert_ids: list[int]
    notes: list[CaseNote]
    tasks: list[CaseTask]
    links: list[CaseLink]
    evidence: list[EvidenceEntry]
    manifest: list[ManifestRow]
    manifest_sha256: str

    @property
    def assessments(self) -> int:
        return sum(1 for n in self.notes if n.kind == "assessment")


def _manifest_sha256(rows: list[ManifestRow]) -> str:
    body = json.dumps([msgspec.to_builtins(r) for r in rows], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _gather(tx: StoreTx, case: Case, basis: LegalBasis, author: str, now: datetime) -> CaseReport:
    evidence = tx.case_evidence(case.id)
    texts = {p.id: p.post.text for p in tx.get_posts(sorted({e.post_id for e in evidence}))}
    rows = [
        ManifestRow(
            evidence_id=e.id,
            post_id=e.post_id,
            name=p.name,
            media_type=p.media_type,
            size=p.size,
            sha256=p.sha256,
        )
        for e in evidence
        for p in e.parts
    ]
    return CaseReport(
        case=case,
        basis=basis,
        author=author,
        generated_at=now,
        tool=TOOL,
        alert_ids=tx.case_alert_ids(case.id),
        notes=tx.case_notes(case.id),
        tasks=tx.case_tasks(case.id),
        links=tx.case_links(case.id),
        evidence=[EvidenceEntry(item=e, text=texts.get(e.post_id)) for e in evidence],
        manifest=rows,
        manifest_sha256=_manifest_sha256(rows),
    )


def render_report_html(report: CaseReport) -> str:
    """The report as one self-contained HTML page (inline CSS, no scripts, no external resources)."""
    return _templates.get_template("case_report.html.j2").render(doc=report)


def render_pdf(html: str) -> bytes:
    """``html`` as PDF; WeasyPrint is given a fetcher that refuses every URL, so nothing is fetched."""
    from weasyprint import HTML  # a heavy import (fonts, pango), needed only here
    from weasyprint.urls import URLFetcher

    class _Refuse(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"watchfloor reports fetch nothing (refused {url[:80]})")

    pdf = HTML(string=html, url_fetcher=_Refuse(), base_url=None).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def preview_case_report(ctx: ServiceContext, *, actor: Actor, case_id: int) -> CaseReport:
    """The report's content for its author to read in the console (nothing leaves the system)."""
    ref = [f"case:{case_id}"]
    with (
        refusals_recorded(
            ctx, actor=actor, action="cases.read", object_ids=ref, details={"report": "preview"}
        ),
        ctx.store.transaction() as tx,
    ):
        case = access_case_or_raise(tx, actor, case_id, "cases.read")
        now = ctx.clock.now()
        basis = tx.get_basis(case.basis_id)
        assert basis is not None  # a foreign key keeps it
        report = _gather(tx, case, basis, actor.name, now)
        record(
            tx,
            actor=actor,
            action="cases.read",
            at=now,
            object_ids=ref,
            basis_id=case.basis_id,
            details={"report": "preview", "evidence": len(report.evidence), "notes": len(report.notes)},
        )
        return report


def request_case_report(
    ctx: ServiceContext, *, actor: Actor, case_id: int, recipient: str, title: str | None = None
) -> Dissemination:
    """Render case ``case_id``'s report as PDF and hold it for a reviewer (its owner, or a supervisor)."""
    ref = [f"case:{case_id}"]
    details: dict[str, DetailValue] = {"kind": "report", "case_id": case_id, "recipient": recipient}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.request", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        case = access_case_or_raise(tx, actor, case_id, "cases.work")
        authorize(actor, "exports.request")
        now = ctx.clock.now()
        basis = require_basis(tx, case.basis_id, now=now, doing="a case report")
        report = _gather(tx, case, basis, actor.name, now)
        if not report.evidence and not report.notes:
            raise InputError(f"case {case_id} has no evidence and no notes yet: there is nothing to report")
        pdf = render_pdf(render_report_html(report))
        digest = hashlib.sha256(pdf).hexdigest()
        evidence_ids = [e.item.id for e in report.evidence]
        tx.add_custody_events(
            evidence_ids, action="exported", actor=actor.name, at=now, note=f"in case report sha256:{digest}"
        )
        return hold_for_review(
            tx,
            ctx,
            actor,
            kind="report",
            title=(title or f"Case {case.id} report: {case.title}")[:300],
            recipient=recipient,
            basis=basis,
            content=pdf,
            spec={
                "case_id": case.id,
                "format": "pdf",
                "evidence_ids": ",".join(map(str, evidence_ids)),
                "evidence_manifest_sha256": report.manifest_sha256,
                "assessments": report.assessments,
            },
        )
