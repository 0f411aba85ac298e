"""Cases, legal holds, reviewed exports, retention (cases, holds, exports, verify-export, purge)."""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table
from rich.text import Text

from watchfloor import exportverify
from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.oversight import Case, CaseStatus, Dissemination
from watchfloor.services import case_report as report_svc
from watchfloor.services import casefile as casefile_svc
from watchfloor.services import cases as case_svc
from watchfloor.services import dissemination as export_svc
from watchfloor.services import evidence as evidence_svc
from watchfloor.services.release import release_export
from watchfloor.services.retention import purge

cases_app = typer.Typer(help="Cases: alerts gathered under one legal basis.", no_args_is_help=True)
holds_app = typer.Typer(
    help="Legal holds: keep a case, alert or post from the retention purge.", no_args_is_help=True
)
exports_app = typer.Typer(
    help="Reviewed exports: nothing leaves until a reviewer who is not the author approves its exact bytes.",
    no_args_is_help=True,
)
app.add_typer(cases_app, name="cases")
app.add_typer(holds_app, name="holds")
app.add_typer(exports_app, name="exports")

_BASIS = typer.Option(
    "--basis", help="Legal basis id (default: the global --basis / $WATCHFLOOR_BASIS).", show_default=False
)


class ExportFormat(StrEnum):
    ndjson = "ndjson"
    csv = "csv"


class Sort(StrEnum):
    newest = "newest"
    oldest = "oldest"


def _when(value: object) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _case_line(case: Case) -> Text:
    closed = f", closed {_when(case.closed_at)}" if case.closed_at else ""
    return Text(
        f"case {case.id}: {case.title} ({case.status}; owner {case.owner}; basis {case.basis_id}; "
        f"opened {_when(case.opened_at)}{closed})"
    )


# -- cases ----------------------------------------------------------------------------------------


@cases_app.command("open")
def cases_open(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What the case is about.")],
    basis: Annotated[int | None, _BASIS] = None,
) -> None:
    """Open a case under a legal basis; you own it.

    Example: watchfloor --as ana cases open "Flooding on Gas Street" --basis 1
    """
    state = state_of(ctx)
    basis_id = basis if basis is not None else state.basis_id()
    case = case_svc.open_case(state.context(), actor=state.actor(), title=title, basis_id=basis_id)
    out.print(_case_line(case))


@cases_app.command("list")
def cases_list(
    ctx: typer.Context, status: Annotated[str | None, typer.Option(help="open or closed.")] = None
) -> None:
    """List cases, oldest first.

    Example: watchfloor cases list --status open
    """
    state = state_of(ctx)
    if status not in (None, "open", "closed"):
        raise typer.BadParameter("open or closed", param_hint="--status")
    found = case_svc.list_cases(state.context(), actor=state.actor(), status=cast(CaseStatus | None, status))
    table = Table("id", "status", "owner", "basis", "opened (UTC)", "title", box=None)
    for case in found:
        table.add_row(
            str(case.id),
            case.status,
            Text(case.owner),
            str(case.basis_id),
            _when(case.opened_at),
            Text(case.title),
        )
    out.print(table)
    if not found:
        err.print("No cases.")


@cases_app.command("show")
def cases_show(ctx: typer.Context, case_id: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Show a case, its alerts and its legal holds.

    Example: watchfloor cases show 4
    """
    state = state_of(ctx)
    view = case_svc.show_case(state.context(), actor=state.actor(), case_id=case_id)
    out.print(_case_line(view.case))
    out.print(f"  alerts: {', '.join(map(str, view.alert_ids)) or 'none'}")
    for hold in view.holds:
        out.print(
            Text(
                f"  on legal hold {hold.id} since {_when(hold.placed_at)} by {hold.placed_by}: {hold.reason}"
            )
        )
    if view.case.summary:
        out.print(Text(f"  summary: {view.case.summary}"))


@cases_app.command("add-alert")
def cases_add_alert(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
) -> None:
    """Add an alert to an open case (its owner, or a supervisor).

    Example: watchfloor cases add-alert 4 118
    """
    state = state_of(ctx)
    case_svc.add_alert_to_case(state.context(), actor=state.actor(), case_id=case_id, alert_id=alert_id)
    out.print(f"Alert {alert_id} is in case {case_id}.")


@cases_app.command("close")
def cases_close(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    summary: Annotated[str | None, typer.Option(help="How the case ended.")] = None,
) -> None:
    """Close a case; its retention period starts now.

    Example: watchfloor cases close 4 --summary "handed to the council"
    """
    state = state_of(ctx)
    case = case_svc.close_case(state.context(), actor=state.actor(), case_id=case_id, summary=summary)
    out.print(_case_line(case))


# -- a case's file: evidence, notes, links, report -------------------------------------------------


class NoteKindChoice(StrEnum):
    fact = "fact"
    assessment = "assessment"


@cases_app.command("capture")
def cases_capture(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    post_id: Annotated[int, typer.Argument(help="Stored post id (see `watchfloor search`).")],
) -> None:
    """Capture a stored post as evidence: raw payload, HTML snapshot and metadata, each with its SHA-256.

    Example: watchfloor --as ana cases capture 4 1793527200000000002
    """
    state = state_of(ctx)
    item = evidence_svc.capture_evidence(
        state.context(), actor=state.actor(), case_id=case_id, post_id=post_id
    )
    out.print(f"Evidence item {item.id} in case {case_id}, captured {_when(item.captured_at)} UTC:")
    for part in item.parts:
        out.print(f"  {part.name:<14} {part.size:>8} bytes  sha256 {part.sha256}")


@cases_app.command("evidence")
def cases_evidence(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    evidence_id: Annotated[int, typer.Argument(help="Evidence item id.")],
    part: Annotated[
        str | None, typer.Option(help="Write this part's bytes to stdout (e.g. raw.json).")
    ] = None,
) -> None:
    """Show an evidence item, its parts and its chain of custody (the view is added to the chain).

    Example: watchfloor cases evidence 4 7 --part snapshot.html > snapshot.html
    """
    state = state_of(ctx)
    view = evidence_svc.view_evidence(
        state.context(), actor=state.actor(), case_id=case_id, evidence_id=evidence_id, part=part
    )
    if view.content is not None:
        sys.stdout.buffer.write(view.content)
        return
    item = view.item
    out.print(Text(f"evidence {item.id}: {item.platform} post {item.native_id} (store id {item.post_id})"))
    out.print(
        Text(f"  captured {_when(item.captured_at)} UTC by {item.captured_by} with {item.tool_version}")
    )
    for p in item.parts:
        out.print(f"  {p.name:<14} {p.media_type:<22} {p.size:>8} bytes  sha256 {p.sha256}")
    out.print("custody:")
    for c in view.custody:
        out.print(Text(f"  {_when(c.at)} {c.action:<9} {c.actor}{'  ' + c.note if c.note else ''}"))


@cases_app.command("verify")
def cases_verify(ctx: typer.Context, case_id: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Re-hash every stored evidence part of a case; exit 1 if any changed since capture.

    Example: watchfloor cases verify 4
    """
    state = state_of(ctx)
    checks = evidence_svc.verify_evidence(state.context(), actor=state.actor(), case_id=case_id)
    bad = [c for c in checks if not c.ok]
    for c in bad:
        err.print(f"evidence {c.evidence_id} {c.name}: recorded {c.expected}, now {c.actual or 'missing'}")
    if bad:
        err.print(f"{len(bad)} of {len(checks)} stored parts changed since capture.")
        raise typer.Exit(1)
    out.print(f"All {len(checks)} stored parts of case {case_id} have the SHA-256 recorded at capture.")


@cases_app.command("note")
def cases_note(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    body: Annotated[str, typer.Argument(help="The note.")],
    kind: Annotated[NoteKindChoice, typer.Option(help="A fact, or your assessment.")] = NoteKindChoice.fact,
) -> None:
    """Add a fact (default) or an assessment to a case's notes; assessments are labelled in reports.

    Example: watchfloor cases note 4 "Likely to breach tonight" --kind assessment
    """
    state = state_of(ctx)
    note = casefile_svc.add_note(
        state.context(), actor=state.actor(), case_id=case_id, kind=kind.value, body=body
    )
    out.print(f"Note {note.id} ({note.kind}) added to case {case_id}.")


@cases_app.command("link")
def cases_link(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    handle: Annotated[str, typer.Argument(help="The account's handle or id.")],
    reason: Annotated[str, typer.Option(help="Why this account belongs in the case (required, audited).")],
    platform: Annotated[str | None, typer.Option(help="The account's platform.")] = None,
) -> None:
    """Link an account to a case by hand, with a reason (nothing links accounts automatically).

    Example: watchfloor cases link 4 @WeirWatch --platform twitter --reason "posted the first photo"
    """
    state = state_of(ctx)
    link = casefile_svc.link_account(
        state.context(), actor=state.actor(), case_id=case_id, handle=handle, reason=reason, platform=platform
    )
    out.print(Text(f"@{link.handle} linked to case {case_id}."))


@cases_app.command("report")
def cases_report(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    recipient: Annotated[str, typer.Option(help="Who will receive the report.")],
    title: Annotated[str | None, typer.Option(help="Report title (default: the case's).")] = None,
) -> None:
    """Render the case report as PDF and hold it for a reviewer (then `exports release` it).

    Example: watchfloor --as ana cases report 4 --recipient "River authority"
    """
    state = state_of(ctx)
    pending = report_svc.request_case_report(
        state.context(), actor=state.actor(), case_id=case_id, recipient=recipient, title=title
    )
    out.print(f"Report {pending.id} is waiting for review; its PDF has SHA-256 {pending.content_sha256}.")
    out.print(f"A reviewer runs: watchfloor exports review {pending.id}")


# -- legal holds ----------------------------------------------------------------------------------


@holds_app.command("place")
def holds_place(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="case, alert or post.")],
    object_id: Annotated[int, typer.Argument(help="The case, alert or post id.")],
    reason: Annotated[str, typer.Option(help="The matter, order or request the hold is for.")],
) -> None:
    """Keep a case (with its alerts and posts), an alert (with its posts) or a post from retention.

    Example: watchfloor --as sam holds place case 4 --reason "Coroner's request 2026/118"
    """
    state = state_of(ctx)
    hold = case_svc.place_hold(
        state.context(), actor=state.actor(), kind=kind, object_id=object_id, reason=reason
    )
    out.print(f"Legal hold {hold.id} placed on {hold.kind} {hold.object_id}.")


@holds_app.command("release")
def holds_release(ctx: typer.Context, hold_id: Annotated[int, typer.Argument(help="Hold id.")]) -> None:
    """Release a legal hold; what it kept follows the retention periods again.

    Example: watchfloor --as sam holds release 2
    """
    state = state_of(ctx)
    hold = case_svc.release_hold(state.context(), actor=state.actor(), hold_id=hold_id)
    out.print(f"Legal hold {hold.id} on {hold.kind} {hold.object_id} released.")


@holds_app.command("list")
def holds_list(
    ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False
) -> None:
    """List legal holds.

    Example: watchfloor holds list --all
    """
    state = state_of(ctx)
    holds = case_svc.list_holds(state.context(), actor=state.actor(), include_released=all_)
    table = Table("id", "on", "placed (UTC)", "by", "released", "reason", box=None)
    for hold in holds:
        released = f"{_when(hold.released_at)} by {hold.released_by}" if hold.released_at else ""
        table.add_row(
            str(hold.id),
            f"{hold.kind} {hold.object_id}",
            _when(hold.placed_at),
            Text(hold.placed_by),
            Text(released),
            Text(hold.reason),
        )
    out.print(table)
    if not holds:
        err.print("No legal holds.")


# -- reviewed exports -----------------------------------------------------------------------------


def _export_lines(found: Dissemination) -> list[Text]:
    lines = [
        Text(f"export {found.id}: {found.title} ({found.status})"),
        Text(f"  for {found.recipient}, by {found.author}, under legal basis {found.basis_id}"),
        Text(f"  {found.item_count:,} items, SHA-256 {found.content_sha256}"),
        Text(f"  requested {_when(found.created_at)}" + (f"; spec {found.spec}" if found.spec else "")),
    ]
    if found.reviewer:
        note = f": {found.decision_note}" if found.decision_note else ""
        lines.append(
            Text(
                f"  {found.status if found.status != 'released' else 'approved'} by "
                f"{found.reviewer} at {_when(found.decided_at)}{note}"
            )
        )
    if found.released_at:
        lines.append(Text(f"  released {_when(found.released_at)}"))
    return lines


@exports_app.command("request")
def exports_request(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Query selecting the posts ('' for all).")],
    recipient: Annotated[str, typer.Option(help="Who will receive it.")],
    title: Annotated[str, typer.Option(help="What it is, for the reviewer and the manifest.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="ndjson or csv.")] = ExportFormat.ndjson,
    sort: Annotated[Sort, typer.Option(help="newest or oldest first.")] = Sort.newest,
    basis: Annotated[int | None, _BASIS] = None,
) -> None:
    """Prepare an export for review: the exact bytes are rendered now and held until approved.

    Example: watchfloor exports request '#flood since:2026-11-01' --recipient "County emergency cell"
    --title "Flooded streets, 1-30 Nov" --format csv --basis 1
    """
    state = state_of(ctx)
    found = export_svc.request_export(
        state.context(),
        actor=state.actor(),
        query=query,
        basis_id=basis if basis is not None else state.basis_id(),
        recipient=recipient,
        title=title,
        fmt=fmt.value,
        sort=sort.value,
    )
    out.print(f"Export {found.id} requested: {found.item_count:,} posts, SHA-256 {found.content_sha256}")
    out.print("A reviewer (not you) now reads and approves exactly these bytes:")
    out.print(f"  watchfloor exports review {found.id} -o review.{fmt.value}")
    out.print(f"  watchfloor exports approve {found.id} --sha256 {found.content_sha256}")
    out.print(f"Then you release it: watchfloor exports release {found.id} -o FILE")


@exports_app.command("list")
def exports_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected or released.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 100,
) -> None:
    """List exports and their reviews, newest first.

    Example: watchfloor exports list --status pending
    """
    state = state_of(ctx)
    found = export_svc.list_exports(state.context(), actor=state.actor(), status=status, limit=limit)
    table = Table("id", "status", "author", "reviewer", "items", "recipient", "title", box=None)
    for d in found:
        table.add_row(
            str(d.id),
            d.status,
            Text(d.author),
            Text(d.reviewer or ""),
            f"{d.item_count:,}",
            Text(d.recipient),
            Text(d.title),
        )
    out.print(table)
    if not found:
        err.print("No exports.")


@exports_app.command("show")
def exports_show(ctx: typer.Context, export_id: Annotated[int, typer.Argument(help="Export id.")]) -> None:
    """Show an export and its review.

    Example: watchfloor exports show 7
    """
    state = state_of(ctx)
    for line in _export_lines(
        export_svc.show_export(state.context(), actor=state.actor(), dissemination_id=export_id)
    ):
        out.print(line)


@exports_app.command("review")
def exports_review(
    ctx: typer.Context,
    export_id: Annotated[int, typer.Argument(help="Export id.")],
    target: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Read the exact bytes of a pending export (reviewers; never its author), and the hash to approve.

    Example: watchfloor --as rita exports review 7 -o review.csv
    """
    state = state_of(ctx)
    found, content = export_svc.review_content(
        state.context(), actor=state.actor(), dissemination_id=export_id
    )
    if target is None:
        sys.stdout.buffer.write(content)
    else:
        target.write_bytes(content)
    for line in _export_lines(found):
        err.print(line)
    err.print(
        f"To approve exactly these bytes: watchfloor exports approve {found.id} --sha256 "
        f"{export_svc.sha256_hex(content)}"
    )


@exports_app.command("approve")
def exports_approve(
    ctx: typer.Context,
    export_id: Annotated[int, typer.Argument(help="Export id.")],
    sha256: Annotated[str, typer.Option("--sha256", help="The SHA-256 of the content you reviewed.")],
    note: Annotated[str | None, typer.Option(help="Anything the author or an auditor should know.")] = None,
) -> None:
    """Approve an export you reviewed (reviewers; never its author), bound to its SHA-256.

    Example: watchfloor --as rita exports approve 7 --sha256 9f86d081884c7d659a2feaa0c55ad015...
    """
    state = state_of(ctx)
    found = export_svc.approve_export(
        state.context(), actor=state.actor(), dissemination_id=export_id, content_sha256=sha256, note=note
    )
    out.print(f"Export {found.id} approved by {found.reviewer}; {found.author} can now release it.")


@exports_app.command("reject")
def exports_reject(
    ctx: typer.Context,
    export_id: Annotated[int, typer.Argument(help="Export id.")],
    note: Annotated[str, typer.Option(help="Why it may not leave.")],
) -> None:
    """Refuse an export (reviewers; never its author); its held bytes are deleted.

    Example: watchfloor --as rita exports reject 7 --note "includes a minor's name"
    """
    state = state_of(ctx)
    found = export_svc.reject_export(
        state.context(), actor=state.actor(), dissemination_id=export_id, note=note
    )
    out.print(f"Export {found.id} rejected by {found.reviewer}.")


@exports_app.command("release")
def exports_release(
    ctx: typer.Context,
    export_id: Annotated[int, typer.Argument(help="Export id.")],
    target: Annotated[Path, typer.Option("-o", "--output", help="File to write (must not exist).")],
) -> None:
    """Write an approved export and its manifest (FILE.manifest.json); its author only.

    Example: watchfloor exports release 7 -o flood.csv
    """
    state = state_of(ctx)
    done = release_export(state.context(), actor=state.actor(), dissemination_id=export_id, output=target)
    signed = "signed" if "signature" in done.manifest else "unsigned (no audit signing key configured)"
    out.print(Text(f"Released export {export_id}: {done.file} ({done.dissemination.item_count:,} items)"))
    out.print(Text(f"Manifest ({signed}): {done.manifest_file}"))
    out.print(Text(f"The recipient checks it with: watchfloor verify-export {shlex.quote(done.file.name)}"))


# -- offline verification and retention -----------------------------------------------------------


@app.command("verify-export")
def verify_export_command(
    file: Annotated[Path, typer.Argument(help="The released export file.")],
    manifest: Annotated[Path | None, typer.Option(help="Its manifest (default: FILE.manifest.json).")] = None,
    public_key: Annotated[
        str | None, typer.Option(help="The floor's verifier key (`watchfloor audit public-key`).")
    ] = None,
) -> None:
    """Check an export file against its manifest, offline (no database needed); exit 1 if anything differs.

    Example: watchfloor verify-export flood.csv --public-key 'floor.example.org/audit+1a2b3c4d+AU...'
    """
    try:
        content, parsed = exportverify.load(file, manifest)
    except (OSError, ValueError) as exc:
        err.print(Text(f"Error: cannot read the export or its manifest: {exc}"))
        raise typer.Exit(2) from None
    report = exportverify.verify_export(content, parsed, public_key=public_key)
    for line in report.passed:
        out.print(Text(f"ok: {line}"))
    for line in report.problems:
        out.print(Text(f"FAILED: {line}"))
    if report.more_problems:
        out.print(f"FAILED: ... and {report.more_problems:,} more problems")
    if isinstance(parsed, dict):
        out.print(Text(exportverify.summary(parsed)))
    out.print("verified" if report.ok else "NOT VERIFIED")
    if not report.ok:
        raise typer.Exit(1)


@app.command("purge")
def purge_command(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
) -> None:
    """Delete what the retention periods say has expired, unless a legal hold keeps it (admins).

    Example: watchfloor --as root purge --dry-run
    """
    state = state_of(ctx)
    counts = purge(state.context(), actor=state.actor(), dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    out.print(
        f"{verb} {counts.cases:,} closed cases, {counts.alerts:,} alerts and {counts.posts:,} posts "
        f"({counts.posts_unmatched:,} unmatched, {counts.posts_of_expired_alerts:,} of expired alerts, "
        f"{counts.posts_deleted_by_platform:,} deleted by their platform)."
    )
    if counts.deleted_but_held:
        out.print(f"{counts.deleted_but_held:,} posts deleted by their platform are kept under legal hold.")
    if counts.partitions_dropped:
        out.print(f"Dropped empty expired post partitions: {', '.join(counts.partitions_dropped)}.")
