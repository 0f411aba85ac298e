"""The rule linter, and rules on sensitive terms: justification required, pending until a second
supervisor approves, no self-approval, no matching before approval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reports.conftest import ANA, BEA, SAM, SUE
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.errors import Conflict, InputError, PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.query.parser import parse_query
from watchfloor.rules.linter import lint_rule, term_list
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.services.rule_review import approve_rule, lint_query
from watchfloor.services.rules import add_rule, edit_rule, list_rules, set_rule_active


def _lint(query: str) -> set[tuple[str, str]]:
    return {(f.category, f.found) for f in lint_rule(parse_query(query, allow_regex=True, allow_lists=True))}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("#blacklivesmatter", {("protest", "#blacklivesmatter")}),
        ("#BlackLivesMatter flood", {("protest", "#blacklivesmatter")}),
        ("protest AND police", {("protest", "protest")}),
        ('"black lives matter"', {("protest", '"black lives matter"')}),
        ("black lives matter", {("protest", "black lives matter")}),
        ("protest*", {("protest", "protest*")}),
        ("/protest(er)?s/", {("protest", "/protest(er)?s/")}),
        ("الله", {("religion", "الله")}),
        ("اللَّه", {("religion", "اللَّه")}),  # with harakat (shadda, fatha) still found
        ('"إن شاء الله"', {("religion", '"إن شاء الله"')}),
        ('"ان شاء الله" NEAR/3 bomb', {("religion", '"ان شاء الله"')}),
        (
            "mosque OR church OR synagogue",
            {("religion", "mosque"), ("religion", "church"), ("religion", "synagogue")},
        ),
        ("#pride", {("identity", "#pride")}),
        ("pride parade", {("identity", "pride")}),
        ("mezquita", {("religion", "mezquita")}),
        ("Mosquée", {("religion", "mosquee")}),
        ("Moschee", {("religion", "moschee")}),
        ("mesquita OR manifestação", {("religion", "mesquita"), ("protest", "manifestacao")}),
        ("refugees NEAR/3 camp", {("ethnicity", "refugees")}),
        ("transgender", {("identity", "transgender")}),
    ],
)
def test_linter_finds_sensitive_terms(query: str, expected: set[tuple[str, str]]) -> None:
    assert _lint(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        'flood OR "water rising"',
        "flood NOT protest",  # excluding protest posts is not targeting protest
        "flood -#blacklivesmatter",
        "from:alice",
        "churchill*",
        "/transport(ation)?/",
        "pr*",  # too short to mean anything
        "lang:ar has:media",
    ],
)
def test_linter_leaves_ordinary_rules_alone(query: str) -> None:
    assert _lint(query) == set()


def test_term_list_covers_six_languages_and_four_categories() -> None:
    raw = json.loads(
        (Path(__file__).parents[2] / "src/watchfloor/rules/sensitive_terms.json").read_text("utf-8")
    )
    for category in ("protest", "religion", "ethnicity", "identity"):
        assert {"en", "es", "fr", "de", "ar", "pt"} <= set(raw["categories"][category])
    assert len(term_list()) > 300


# -- through the rules service ------------------------------------------------------------------------


def _posts(tmp_path: Path, rows: list[tuple[str, str]], name: str) -> Path:
    path = tmp_path / name
    lines = ["id,author,created_at,text"]
    lines += [",".join(json.dumps(c) for c in (i, "someone", "2026-11-30T10:00:00Z", t)) for i, t in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _alerts(ctx: ServiceContext, path: Path) -> int:
    report = import_file(ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    return report.alerts_raised


def _draft(query: str, basis: int, justification: str | None = None) -> RuleDraft:
    return RuleDraft(
        name="Threats near places of worship",
        query=query,
        severity="high",
        basis_id=basis,
        justification=justification,
    )


@pytest.mark.parametrize(
    "query", ["#blacklivesmatter AND shoot", "protest AND (bomb OR gun)", '"إن شاء الله" OR الله']
)
def test_sensitive_rule_without_justification_is_rejected(
    ctx: ServiceContext, basis: int, query: str
) -> None:
    with pytest.raises(InputError, match="--justification") as caught:
        add_rule(ctx, actor=ANA, draft=_draft(query, basis))
    found = {f.found for f in lint_query(query)}
    assert all(term in str(caught.value) for term in found)
    assert list_rules(ctx, actor=ANA) == []
    with ctx.store.transaction() as tx:
        event = tx.audit_events(action="rules.add", limit=1)[0]
    assert event.outcome == "error" and event.details["error"] == "input"


def test_sensitive_rule_waits_for_a_second_supervisor(
    ctx: ServiceContext, basis: int, tmp_path: Path
) -> None:
    why = "credible threats against the mosque on Elm St after the 2026-11-28 incident"
    rule = add_rule(ctx, actor=ANA, draft=_draft("mosque NEAR/5 (burn OR attack)", basis, why))
    assert rule.status == "pending"
    assert rule.current.sensitive_terms == ("mosque",) and rule.current.justification == why
    assert rule.current.approved_by is None

    assert _alerts(ctx, _posts(tmp_path, [("1", "they will attack the mosque tonight")], "a.csv")) == 0
    with pytest.raises(Conflict, match="approv"):
        set_rule_active(ctx, actor=SAM, rule_id=rule.id, active=True)  # no way round the approval
    with pytest.raises(PermissionDenied):
        approve_rule(ctx, actor=BEA, rule_id=rule.id)  # analysts do not approve

    approved = approve_rule(ctx, actor=SAM, rule_id=rule.id)
    assert approved.status == "active" and approved.current.approved_by == "sam"
    assert approved.current.approved_at == ctx.clock.now()
    assert _alerts(ctx, _posts(tmp_path, [("2", "plan to burn the mosque")], "b.csv")) == 1
    with pytest.raises(Conflict, match="needs no approval"):
        approve_rule(ctx, actor=SUE, rule_id=rule.id)

    with ctx.store.transaction() as tx:
        events = tx.audit_events(action="rules.approve", limit=10)
    assert [e.outcome for e in events] == ["denied", "ok", "denied"]  # newest first
    event = events[1]
    assert event.actor == "sam" and event.object_ids == (f"rule:{rule.id}",)
    assert event.details["sensitive_terms"] == ["mosque"] and event.details["author"] == "ana"
    with ctx.store.transaction() as tx:
        added = tx.audit_events(action="rules.add", limit=1)[0]
    assert added.details["justification"] == why and added.details["sensitive_terms"] == ["mosque"]


def test_self_approval_is_refused_and_recorded(ctx: ServiceContext, basis: int) -> None:
    rule = add_rule(
        ctx, actor=SAM, draft=_draft("protest AND gun", basis, "armed counter-protesters expected")
    )
    with pytest.raises(PermissionDenied, match="second person"):
        approve_rule(ctx, actor=SAM, rule_id=rule.id)
    with ctx.store.transaction() as tx:
        event = tx.audit_events(action="rules.approve", limit=1)[0]
        assert tx.get_rule(rule.id).status == "pending"  # type: ignore[union-attr]
    assert event.outcome == "denied" and event.details["error"] == "permission_denied"
    assert approve_rule(ctx, actor=SUE, rule_id=rule.id).status == "active"


def test_each_sensitive_version_needs_its_own_approval(
    ctx: ServiceContext, basis: int, tmp_path: Path
) -> None:
    rule = add_rule(ctx, actor=ANA, draft=_draft("church NEAR/3 fire", basis, "arson series at churches"))
    approve_rule(ctx, actor=SAM, rule_id=rule.id)
    # Editing (even only the severity) writes a new version: the approval was for the old one.
    edited = edit_rule(ctx, actor=ANA, rule_id=rule.id, severity="critical")
    assert edited.status == "pending" and edited.current.justification == "arson series at churches"
    assert _alerts(ctx, _posts(tmp_path, [("1", "the church is on fire")], "a.csv")) == 0
    with pytest.raises(PermissionDenied):
        approve_rule(ctx, actor=ANA, rule_id=rule.id)
    assert approve_rule(ctx, actor=SUE, rule_id=rule.id).current.approved_by == "sue"
    # Dropping the sensitive term makes the rule an ordinary one again: active without approval.
    plain = edit_rule(ctx, actor=ANA, rule_id=rule.id, query="warehouse NEAR/3 fire")
    assert plain.status == "active" and plain.current.sensitive_terms == ()
    assert _alerts(ctx, _posts(tmp_path, [("2", "the warehouse is on fire")], "b.csv")) == 1


def test_pausing_a_pending_rule_does_not_bypass_approval(ctx: ServiceContext, basis: int) -> None:
    rule = add_rule(ctx, actor=ANA, draft=_draft("#pride AND threat", basis, "threats against the march"))
    assert set_rule_active(ctx, actor=SAM, rule_id=rule.id, active=False).status == "paused"
    with pytest.raises(Conflict):
        set_rule_active(ctx, actor=SAM, rule_id=rule.id, active=True)
    approved = approve_rule(ctx, actor=SUE, rule_id=rule.id)
    assert approved.status == "paused"  # approval does not override a pause
    assert set_rule_active(ctx, actor=SAM, rule_id=rule.id, active=True).status == "active"


def test_ordinary_rules_are_active_at_once(ctx: ServiceContext, basis: int) -> None:
    rule = add_rule(ctx, actor=ANA, draft=_draft("flood NEAR/5 trapped", basis))
    assert rule.status == "active" and rule.current.sensitive_terms == ()
    with pytest.raises(Conflict, match="needs no approval"):
        approve_rule(ctx, actor=SAM, rule_id=rule.id)
