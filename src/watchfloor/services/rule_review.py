"""Sensitive rules: the linter's findings on a draft, the justification they require, the second approval.

A rule that keys on protest, religious, ethnic or identity terms (``rules/linter.py``) is saved only
with a justification, and stays ``pending`` — matching nothing — until a supervisor who did not write
that version approves it (op ``rules.approve``, ``not_own``: no self-approval). Every later version
with such terms needs its own approval; the justification carries over from the version before unless
a new one is given. ``services/rules.py`` calls :func:`check_sensitive` while validating a draft.
"""

from __future__ import annotations

import msgspec

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, InputError, NotFound
from watchfloor.domain.rules import Rule, RuleDraft
from watchfloor.query.ast import Query
from watchfloor.query.parser import parse_query
from watchfloor.rules.linter import SensitiveTerm, describe, found_terms, lint_rule
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded

__all__ = ["approve_rule", "check_sensitive", "lint_query"]


def check_sensitive(draft: RuleDraft, parsed: Query) -> RuleDraft:
    """``draft`` with the sensitive terms its query looks for; InputError if it has some but no
    justification (the message lists them and says what to add)."""
    findings = lint_rule(parsed)
    if findings and not (draft.justification or "").strip():
        raise InputError(
            f"this rule looks for sensitive terms ({describe(findings)}). Rules on protest, religion, "
            "ethnicity or identity need a recorded justification: add --justification 'why monitoring "
            "this is necessary and proportionate'; the rule then waits for a supervisor's approval "
            "(watchfloor rules approve ID) before it matches anything"
        )
    return msgspec.structs.replace(draft, sensitive_terms=found_terms(findings))


def lint_query(text: str) -> list[SensitiveTerm]:
    """What the linter finds in a rule query (parsed as a rule: regexes and account lists allowed).

    Pure text analysis of the caller's own words, no stored data: it is not audited.
    """
    return lint_rule(parse_query(text, allow_regex=True, allow_lists=True))


def approve_rule(ctx: ServiceContext, *, actor: Actor, rule_id: int) -> Rule:
    """Approve the current version of a rule that awaits approval; a pending rule starts matching.

    The owner for the permission check is the version's *author*: no one approves their own words.
    """
    ref = [f"rule:{rule_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="rules.approve", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        rule = tx.get_rule(rule_id)
        if rule is None:
            raise NotFound(f"rule {rule_id} does not exist (see `watchfloor rules list`)")
        authorize(actor, "rules.approve", owner=rule.current.author)
        version = rule.current
        if not version.awaits_approval:
            state = f"approved by {version.approved_by}" if version.approved_by else "has no sensitive terms"
            raise Conflict(f"rule {rule_id} v{version.version} needs no approval: it {state}")
        approved = tx.approve_rule_version(rule_id, version.version, by=actor.name, at=ctx.clock.now())
        if approved is None:  # a concurrent edit or approval got there first
            raise Conflict(f"rule {rule_id} changed while you were approving it; look at it again")
        record(
            tx,
            actor=actor,
            action="rules.approve",
            at=ctx.clock.now(),
            object_ids=(f"rule:{rule_id}",),
            basis_id=version.basis_id,
            details={
                "version": version.version,
                "author": version.author,
                "sensitive_terms": [*version.sensitive_terms],
                "from_status": rule.status,
                "to_status": approved.status,
            },
        )
        return approved
