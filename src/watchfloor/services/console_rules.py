"""The console's rules pages in one call each: the list with hit rates and precision, and the editor.

Hit rates are alerts raised in the last 24 hours and 7 days; precision counts analysts' decisions the
way the accuracy card does (:func:`watchfloor.services.accuracy.outcome_of` and its
:class:`~watchfloor.services.accuracy.Tally`), so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.oversight import LegalBasis
from watchfloor.domain.rules import Rule, RuleVersion
from watchfloor.services.access import access_rule_or_raise, authorize
from watchfloor.services.accuracy import Tally, outcome_of
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded

__all__ = ["RuleEditor", "RuleLine", "rule_editor", "rules_overview"]


@dataclass
class RuleLine:
    """One row of the rules page."""

    rule: Rule
    alerts_24h: int = 0
    alerts_7d: int = 0
    tally: Tally = field(default_factory=Tally)


def rules_overview(ctx: ServiceContext, *, actor: Actor) -> list[RuleLine]:
    """Every rule with its alerts in the last 24 h and 7 days and its precision (event ``rules.list``)."""
    with refusals_recorded(ctx, actor=actor, action="rules.list"), ctx.store.transaction() as tx:
        authorize(actor, "rules.read")
        now = ctx.clock.now()
        lines = {r.id: RuleLine(r) for r in tx.list_rules()}
        for rule_id, count in tx.rule_alert_counts(since=now - timedelta(days=1)).items():
            if rule_id in lines:
                lines[rule_id].alerts_24h = count
        for rule_id, count in tx.rule_alert_counts(since=now - timedelta(days=7)).items():
            if rule_id in lines:
                lines[rule_id].alerts_7d = count
        for row in tx.rule_outcomes():
            if row.rule_id in lines:
                lines[row.rule_id].tally.add(outcome_of(row.status, row.disposition), row.count)
        objects, digest = object_refs("rule", list(lines))
        details: dict[str, DetailValue] = {"status": None, "count": len(lines), **digest}
        record(tx, actor=actor, action="rules.list", at=now, object_ids=objects, details=details)
    return [lines[k] for k in sorted(lines)]


@dataclass(frozen=True)
class RuleEditor:
    """What the rule editor needs: the rule being edited (None for a new one) and the bases in force."""

    rule: Rule | None
    versions: list[RuleVersion]
    bases: list[LegalBasis]


def rule_editor(ctx: ServiceContext, *, actor: Actor, rule_id: int | None = None) -> RuleEditor:
    """The editor's data: for a new rule (op ``rules.create``, event ``basis.list``), or for editing
    rule ``rule_id`` (op ``rules.edit`` on it, event ``rules.show``)."""
    action = "basis.list" if rule_id is None else "rules.show"
    ref = [] if rule_id is None else [f"rule:{rule_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action=action, object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        now = ctx.clock.now()
        if rule_id is None:
            authorize(actor, "rules.create")
            rule, versions = None, []
        else:
            rule = access_rule_or_raise(tx, actor, rule_id, "rules.edit")
            versions = tx.rule_history(rule_id)
        bases = [b for b in tx.list_bases() if b.state(now) == "active"]
        details: dict[str, DetailValue] = {"count": len(bases)}
        if rule is not None:
            details = {"version": rule.current.version, "bases": len(bases)}
        record(tx, actor=actor, action=action, at=now, object_ids=ref, details=details)
    return RuleEditor(rule=rule, versions=versions, bases=bases)
