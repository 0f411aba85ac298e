"""Console routes: rules — the list, the editor (live validation, back-test preview), history with diffs,
pause/resume/approve, and the JSON API under ``/api/rules``.

Forms post with htmx when it is there: a refusal or a bad field comes back as an error fragment in the
form (which keeps what was typed), a success as ``HX-Redirect``; without htmx the same routes answer
with a redirect or an error page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from watchfloor.domain.errors import QuerySyntaxError
from watchfloor.domain.rules import Rule, RuleDraft, RuleVersion, Severity, VolumeSpec
from watchfloor.rules.linter import describe
from watchfloor.services.console_rules import rule_editor, rules_overview
from watchfloor.services.rule_review import approve_rule, lint_query
from watchfloor.services.rules import (
    add_rule,
    backtest_rule,
    edit_rule,
    parse_rule_query,
    rule_history,
    set_rule_active,
)
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.highlight import segments
from watchfloor.web.routes.rules_view import history_rows, series
from watchfloor.web.templating import render

router = APIRouter()


def _done(request: Request, target: str) -> Response:
    """After a successful form post: htmx follows HX-Redirect, a plain browser the 303."""
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _optional(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def _count(text: str) -> int:
    return int(text.strip()) if text.strip().isdigit() else 0


def _volume(threshold: str, window: str) -> VolumeSpec | None:
    """The volume fields; a half-filled or non-numeric pair becomes 0s, which the service rejects."""
    if not threshold.strip() and not window.strip():
        return None
    return VolumeSpec(threshold=_count(threshold), window_minutes=_count(window))


def validation(text: str) -> dict[str, Any]:
    """What the editor shows under the query: OK, or the error with a caret; and the sensitive terms."""
    if not text.strip():
        return {"empty": True}
    try:
        parse_rule_query(text)
        findings = lint_query(text)
    except QuerySyntaxError as exc:
        caret = " " * (exc.column - 1) + "^"
        return {
            "error": exc.message,
            "column": exc.column,
            "query": exc.query,
            "caret": caret,
            "hint": exc.hint,
        }
    return {"ok": True, "sensitive": describe(findings) if findings else None}


# -- pages ---------------------------------------------------------------------------------------------


@router.get("/rules", include_in_schema=False, openapi_extra=audit("rules.list"))
def rules_page(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    """Every rule with status, severity, owner, hit rates and precision."""
    lines = rules_overview(service(request), actor=who.actor)
    return render(request, "rules.html", who, lines=lines)


@router.get(
    "/rules/validate", include_in_schema=False, openapi_extra=audit(None, "parses the query text only")
)
def validate_fragment(
    request: Request, who: Annotated[Caller, Depends(caller)], query: str = "", q: str = ""
) -> Response:
    """The editor's live check of the query being typed (a fragment)."""
    return render(request, "fragments/rules_validate.html", who, check=validation(query or q))


@router.get("/rules/backtest", include_in_schema=False, openapi_extra=audit("rules.backtest"))
def backtest_fragment(
    request: Request, who: Annotated[Caller, Depends(caller)], query: str = "", q: str = ""
) -> Response:
    """What the query would have matched among stored posts (a fragment under the editor)."""
    result = backtest_rule(service(request), actor=who.actor, query=query or q)
    sample = [
        (item, segments(item.post.searchable_text(), spans, limit=400)) for item, spans in result.sample
    ]
    return render(
        request, "fragments/rules_backtest.html", who, result=result, sample=sample, series=series(result)
    )


@router.get("/rules/new", include_in_schema=False, openapi_extra=audit("basis.list"))
def new_rule_page(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    """The editor for a new rule."""
    editor = rule_editor(service(request), actor=who.actor)
    return render(request, "rule_edit.html", who, editor=editor, rule=None, check={"empty": True})


@router.post("/rules/new", include_in_schema=False, openapi_extra=audit("rules.add"))
def create_rule(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    name: Annotated[str, Form()],
    query: Annotated[str, Form()],
    severity: Annotated[str, Form()],
    basis: Annotated[int | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
    volume_threshold: Annotated[str, Form()] = "",
    volume_window: Annotated[str, Form()] = "",
) -> Response:
    """Save a new rule (version 1) under the basis picked in the form (else the one picked for work)."""
    draft = RuleDraft(
        name=name.strip(),
        query=query,
        severity=cast(Severity, severity),  # the service checks it (and records a bad one)
        description=_optional(description),
        volume=_volume(volume_threshold, volume_window),
        basis_id=basis if basis is not None else who.basis_id,
        justification=_optional(justification),
    )
    rule = add_rule(service(request), actor=who.actor, draft=draft)
    return _done(request, f"/rules?saved={rule.id}#rule-{rule.id}")


@router.get("/rules/{rule_id}/edit", include_in_schema=False, openapi_extra=audit("rules.show"))
def edit_rule_page(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> Response:
    """The editor for a new version of rule ``rule_id``."""
    editor = rule_editor(service(request), actor=who.actor, rule_id=rule_id)
    assert editor.rule is not None
    check = validation(editor.rule.current.query)
    return render(request, "rule_edit.html", who, editor=editor, rule=editor.rule, check=check)


@router.post("/rules/{rule_id}/edit", include_in_schema=False, openapi_extra=audit("rules.edit"))
def save_rule(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    rule_id: int,
    name: Annotated[str, Form()],
    query: Annotated[str, Form()],
    severity: Annotated[str, Form()],
    basis: Annotated[int | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
    volume_threshold: Annotated[str, Form()] = "",
    volume_window: Annotated[str, Form()] = "",
    change_note: Annotated[str, Form()] = "",
) -> Response:
    """Save the form as the rule's next version (nothing changed is an error that says so)."""
    volume = _volume(volume_threshold, volume_window)
    edit_rule(
        service(request),
        actor=who.actor,
        rule_id=rule_id,
        name=name.strip(),
        query=query,
        severity=severity,
        description=_optional(description),  # empty keeps the current description
        volume=volume,
        clear_volume=volume is None,
        change_note=_optional(change_note),
        basis_id=basis,
        justification=_optional(justification),
    )
    return _done(request, f"/rules/{rule_id}/history")


@router.get("/rules/{rule_id}/history", include_in_schema=False, openapi_extra=audit("rules.history"))
def history_page(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> Response:
    """Every version of a rule, newest first, each with what changed from the one before."""
    rule, versions = rule_history(service(request), actor=who.actor, rule_id=rule_id)
    return render(request, "rule_history.html", who, rule=rule, rows=history_rows(versions))


def _set_active(request: Request, who: Caller, rule_id: int, *, active: bool) -> Response:
    set_rule_active(service(request), actor=who.actor, rule_id=rule_id, active=active)
    return _done(request, f"/rules#rule-{rule_id}")


@router.post("/rules/{rule_id}/pause", include_in_schema=False, openapi_extra=audit("rules.pause"))
def pause(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> Response:
    return _set_active(request, who, rule_id, active=False)


@router.post("/rules/{rule_id}/resume", include_in_schema=False, openapi_extra=audit("rules.resume"))
def resume(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> Response:
    return _set_active(request, who, rule_id, active=True)


@router.post("/rules/{rule_id}/approve", include_in_schema=False, openapi_extra=audit("rules.approve"))
def approve(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> Response:
    """A supervisor other than the version's author approves a rule keyed on sensitive terms."""
    approve_rule(service(request), actor=who.actor, rule_id=rule_id)
    return _done(request, f"/rules#rule-{rule_id}")


# -- JSON API ------------------------------------------------------------------------------------------


class VolumeIn(BaseModel):
    threshold: int = Field(ge=2)
    window_minutes: int = Field(ge=1)


class VersionOut(BaseModel):
    version: int
    name: str
    query: str
    severity: str
    author: str
    created_at: datetime
    description: str | None
    volume: VolumeIn | None
    basis_id: int | None
    change_note: str | None
    justification: str | None
    sensitive_terms: list[str]
    approved_by: str | None
    approved_at: datetime | None


class RuleOut(BaseModel):
    id: int
    owner: str
    status: str
    awaits_approval: bool
    created_at: datetime
    updated_at: datetime
    current: VersionOut


class RuleLineOut(RuleOut):
    alerts_24h: int
    alerts_7d: int
    true_positive: int
    false_positive: int
    not_judged: int
    precision: float | None


class HistoryOut(BaseModel):
    rule: RuleOut
    versions: list[VersionOut]


class RuleIn(BaseModel):
    name: str
    query: str
    severity: str
    description: str | None = None
    volume: VolumeIn | None = None
    basis_id: int | None = Field(None, description="legal basis (else the caller's picked basis)")
    justification: str | None = Field(None, description="required when the query has sensitive terms")


class RuleEditIn(BaseModel):
    """Fields to change; omitted ones keep their value."""

    name: str | None = None
    query: str | None = None
    severity: str | None = None
    description: str | None = None
    volume: VolumeIn | None = None
    clear_volume: bool = False
    basis_id: int | None = None
    justification: str | None = None
    change_note: str | None = None


class ValidationOut(BaseModel):
    ok: bool
    error: str | None = None
    column: int | None = None
    hint: str | None = None
    sensitive_terms: str | None = None  # what the linter found: the rule then needs a justification


def _version_out(v: RuleVersion) -> VersionOut:
    volume = (
        VolumeIn(threshold=v.volume.threshold, window_minutes=v.volume.window_minutes) if v.volume else None
    )
    return VersionOut(
        version=v.version,
        name=v.name,
        query=v.query,
        severity=v.severity,
        author=v.author,
        created_at=v.created_at,
        description=v.description,
        volume=volume,
        basis_id=v.basis_id,
        change_note=v.change_note,
        justification=v.justification,
        sensitive_terms=list(v.sensitive_terms),
        approved_by=v.approved_by,
        approved_at=v.approved_at,
    )


def _rule_out(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "owner": rule.owner,
        "status": rule.status,
        "awaits_approval": rule.current.awaits_approval,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "current": _version_out(rule.current),
    }


def _spec(volume: VolumeIn | None) -> VolumeSpec | None:
    return VolumeSpec(threshold=volume.threshold, window_minutes=volume.window_minutes) if volume else None


@router.get("/api/rules", response_model=list[RuleLineOut], openapi_extra=audit("rules.list"))
def api_rules(request: Request, who: Annotated[Caller, Depends(caller)]) -> list[RuleLineOut]:
    """Every rule with its alerts in the last 24 h and 7 days and its precision from dispositions."""
    return [
        RuleLineOut(
            **_rule_out(line.rule),
            alerts_24h=line.alerts_24h,
            alerts_7d=line.alerts_7d,
            true_positive=line.tally.true_positive,
            false_positive=line.tally.false_positive,
            not_judged=line.tally.not_judged,
            precision=line.tally.precision,
        )
        for line in rules_overview(service(request), actor=who.actor)
    ]


@router.get(
    "/api/rules/validate", response_model=ValidationOut, openapi_extra=audit(None, "parses text only")
)
def api_validate(who: Annotated[Caller, Depends(caller)], q: str) -> ValidationOut:
    """Check a rule query without saving it: the parse error (with its column), or the sensitive terms."""
    check = validation(q)
    if check.get("empty"):
        return ValidationOut(ok=False, error="the query is empty", column=1)
    if "error" in check:
        return ValidationOut(ok=False, error=check["error"], column=check["column"], hint=check["hint"])
    return ValidationOut(ok=True, sensitive_terms=check["sensitive"])


@router.post("/api/rules", response_model=RuleOut, status_code=201, openapi_extra=audit("rules.add"))
def api_create(request: Request, who: Annotated[Caller, Depends(caller)], body: RuleIn) -> RuleOut:
    """Create a rule (pending a supervisor's approval when it keys on sensitive terms)."""
    draft = RuleDraft(
        name=body.name,
        query=body.query,
        severity=cast(Severity, body.severity),
        description=body.description,
        volume=_spec(body.volume),
        basis_id=body.basis_id if body.basis_id is not None else who.basis_id,
        justification=body.justification,
    )
    return RuleOut(**_rule_out(add_rule(service(request), actor=who.actor, draft=draft)))


@router.get("/api/rules/{rule_id}", response_model=RuleOut, openapi_extra=audit("rules.history"))
def api_rule(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> RuleOut:
    """One rule with its current version."""
    rule, _ = rule_history(service(request), actor=who.actor, rule_id=rule_id)
    return RuleOut(**_rule_out(rule))


@router.put("/api/rules/{rule_id}", response_model=RuleOut, openapi_extra=audit("rules.edit"))
def api_edit(
    request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int, body: RuleEditIn
) -> RuleOut:
    """Save a new version of a rule with the given changes."""
    rule = edit_rule(
        service(request),
        actor=who.actor,
        rule_id=rule_id,
        name=body.name,
        query=body.query,
        severity=body.severity,
        description=body.description,
        volume=_spec(body.volume),
        clear_volume=body.clear_volume,
        change_note=body.change_note,
        basis_id=body.basis_id,
        justification=body.justification,
    )
    return RuleOut(**_rule_out(rule))


@router.get("/api/rules/{rule_id}/history", response_model=HistoryOut, openapi_extra=audit("rules.history"))
def api_history(request: Request, who: Annotated[Caller, Depends(caller)], rule_id: int) -> HistoryOut:
    """Every version of a rule, oldest first."""
    rule, versions = rule_history(service(request), actor=who.actor, rule_id=rule_id)
    return HistoryOut(rule=RuleOut(**_rule_out(rule)), versions=[_version_out(v) for v in versions])
