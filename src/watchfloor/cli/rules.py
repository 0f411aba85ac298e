"""`watchfloor rules ...` and `watchfloor lists ...`: standing rules and account lists."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.errors import InputError
from watchfloor.domain.rules import Rule, RuleDraft, VolumeSpec, as_severity
from watchfloor.rules.linter import CATEGORY_HELP, Category, SensitiveTerm
from watchfloor.services.rule_review import approve_rule, lint_query
from watchfloor.services.rules import (
    account_lists,
    add_rule,
    backtest_rule,
    edit_rule,
    list_rules,
    rule_history,
    set_account_list,
    set_rule_active,
)

_JUSTIFICATION = typer.Option(
    help="Why a rule on protest, religious, ethnic or identity terms is necessary and proportionate."
)
rules_app = typer.Typer(help="Standing rules matched against every arriving post.", no_args_is_help=True)
lists_app = typer.Typer(help="Named account lists that rules target with from:@name.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(lists_app, name="lists")


def _volume(spec: str | None) -> VolumeSpec | None:
    """``N/M`` -> at least N matching posts within M minutes."""
    if spec is None:
        return None
    count, sep, minutes = spec.partition("/")
    if not sep or not count.strip().isdigit() or not minutes.strip().isdigit():
        raise InputError(f"--volume {spec!r}: expected POSTS/MINUTES, e.g. --volume 20/10")
    return VolumeSpec(threshold=int(count), window_minutes=int(minutes))


def _print_rule(rule: Rule) -> None:
    v = rule.current
    out.print(Text(f"rule {rule.id} v{v.version}: {v.name}", style="bold"))
    out.print(Text(f"  status {rule.status}, severity {v.severity}, owner {rule.owner}"))
    out.print(Text(f"  query  {v.query}"))
    if v.volume:
        out.print(
            Text(f"  volume ≥ {v.volume.threshold} posts in {v.volume.window_minutes} min → one burst alert")
        )
    if v.description:
        out.print(Text(f"  {v.description}"))
    if v.sensitive_terms:
        approval = f"approved by {v.approved_by}" if v.approved_by else "awaits a supervisor's approval"
        out.print(Text(f"  sensitive terms: {', '.join(v.sensitive_terms)} ({approval})"))
        out.print(Text(f"  justification: {v.justification or ''}"))
    if rule.status == "pending":
        err.print(
            f"Rule {rule.id} matches nothing until a second supervisor approves it: "
            f"watchfloor rules approve {rule.id}"
        )


@rules_app.command("add")
def rules_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name analysts will see on alerts.")],
    query: Annotated[
        str, typer.Option("--query", "-q", help="The rule, in the query language (+ /regex/, from:@list).")
    ],
    severity: Annotated[
        str, typer.Option(help="critical, high, medium or low (sets the alert deadline).")
    ] = "medium",
    description: Annotated[str | None, typer.Option(help="What the rule is for.")] = None,
    volume: Annotated[str | None, typer.Option(help="POSTS/MINUTES: one burst alert at that volume.")] = None,
    justification: Annotated[str | None, _JUSTIFICATION] = None,
) -> None:
    """Add a standing rule; it matches every post stored from now on.

    A rule on protest, religious, ethnic or identity terms needs --justification and then waits for a
    second supervisor's approval (watchfloor rules lint QUERY shows what counts).

    Example:

      watchfloor rules add "Flood rescue requests" --query '("trapped" OR "need rescue" OR "stranded") NEAR/5
      (flood* OR water)' --severity high --description "people asking for rescue during floods"
    """
    state = state_of(ctx)
    draft = RuleDraft(
        name=name,
        query=query,
        severity=as_severity(severity),
        description=description,
        volume=_volume(volume),
        justification=justification,
        basis_id=state.basis_id(),
    )
    rule = add_rule(state.context(), actor=state.actor(), draft=draft)
    _print_rule(rule)


@rules_app.command("edit")
def rules_edit(
    ctx: typer.Context,
    rule_id: Annotated[int, typer.Argument(help="Rule id.")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="New query.")] = None,
    severity: Annotated[str | None, typer.Option(help="New severity.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    volume: Annotated[str | None, typer.Option(help="New POSTS/MINUTES volume threshold.")] = None,
    note: Annotated[str | None, typer.Option(help="Why it changed (kept in the history).")] = None,
    justification: Annotated[str | None, _JUSTIFICATION] = None,
) -> None:
    """Save a new version of a rule (alerts keep the version that fired).

    Example: watchfloor rules edit 3 --query 'flood* NEAR/3 trapped' --note "too noisy"
    """
    state = state_of(ctx)
    rule = edit_rule(
        state.context(),
        actor=state.actor(),
        rule_id=rule_id,
        name=name,
        query=query,
        severity=severity,
        description=description,
        volume=_volume(volume),
        change_note=note,
        justification=justification,
    )
    _print_rule(rule)


@rules_app.command("list")
def rules_list(
    ctx: typer.Context, status: Annotated[str | None, typer.Option(help="active, paused or pending.")] = None
) -> None:
    """List rules.

    Example: watchfloor rules list --status active
    """
    state = state_of(ctx)
    table = Table("id", "v", "status", "severity", "name", "query", box=None)
    for rule in list_rules(state.context(), actor=state.actor(), status=status):
        v = rule.current
        table.add_row(str(rule.id), str(v.version), rule.status, v.severity, Text(v.name), Text(v.query))
    out.print(table)


@rules_app.command("show")
def rules_show(ctx: typer.Context, rule_id: Annotated[int, typer.Argument(help="Rule id.")]) -> None:
    """Show a rule's current version.

    Example: watchfloor rules show 3
    """
    state = state_of(ctx)
    rule, _ = rule_history(state.context(), actor=state.actor(), rule_id=rule_id)
    _print_rule(rule)


@rules_app.command("history")
def rules_history(ctx: typer.Context, rule_id: Annotated[int, typer.Argument(help="Rule id.")]) -> None:
    """Every version of a rule, oldest first, with who changed it and why.

    Example: watchfloor rules history 3
    """
    state = state_of(ctx)
    _, versions = rule_history(state.context(), actor=state.actor(), rule_id=rule_id)
    table = Table("v", "when (UTC)", "by", "severity", "query", "note", box=None)
    for v in versions:
        table.add_row(
            str(v.version),
            f"{v.created_at:%Y-%m-%d %H:%M}",
            Text(v.author),
            v.severity,
            Text(v.query),
            Text(v.change_note or ""),
        )
    out.print(table)


@rules_app.command("pause")
def rules_pause(ctx: typer.Context, rule_id: Annotated[int, typer.Argument(help="Rule id.")]) -> None:
    """Stop a rule matching (immediately; nothing is deleted).

    Example: watchfloor rules pause 3
    """
    state = state_of(ctx)
    _print_rule(set_rule_active(state.context(), actor=state.actor(), rule_id=rule_id, active=False))


@rules_app.command("resume")
def rules_resume(ctx: typer.Context, rule_id: Annotated[int, typer.Argument(help="Rule id.")]) -> None:
    """Start a paused rule matching again.

    Example: watchfloor rules resume 3
    """
    state = state_of(ctx)
    _print_rule(set_rule_active(state.context(), actor=state.actor(), rule_id=rule_id, active=True))


@rules_app.command("approve")
def rules_approve(ctx: typer.Context, rule_id: Annotated[int, typer.Argument(help="Rule id.")]) -> None:
    """Approve a rule's current version that keys on sensitive terms (a supervisor who did not write it).

    Read its justification first with `watchfloor rules show ID`.

    Example: watchfloor rules approve 7
    """
    state = state_of(ctx)
    _print_rule(approve_rule(state.context(), actor=state.actor(), rule_id=rule_id))


@rules_app.command("lint")
def rules_lint(
    query: Annotated[str, typer.Argument(help="A rule query to check before adding it.")],
) -> None:
    """Show the protest, religious, ethnic or identity terms a rule query looks for (nothing is saved).

    Example: watchfloor rules lint '#BlackLivesMatter OR protest* OR "إن شاء الله"'
    """
    findings = lint_query(query)
    if not findings:
        out.print("No sensitive terms: the rule needs no justification or second approval.")
        return
    grouped: dict[tuple[str, Category], list[SensitiveTerm]] = {}
    for f in findings:
        grouped.setdefault((f.found, f.category), []).append(f)
    table = Table("in the query", "category", "listed terms", "languages", box=None)
    for (found, category), items in grouped.items():
        langs = sorted({lang for f in items for lang in f.langs})
        terms = ", ".join(f.term for f in items[:6]) + (f" (+{len(items) - 6})" if len(items) > 6 else "")
        table.add_row(Text(found), CATEGORY_HELP[category], Text(terms), ", ".join(langs))
    out.print(table)
    err.print(
        "This rule needs --justification and a second supervisor's approval (watchfloor rules approve ID)."
    )


@rules_app.command("test")
def rules_test(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="The rule query to try on stored posts.")],
    sample: Annotated[int, typer.Option(min=0, max=100, help="How many matching posts to show.")] = 5,
) -> None:
    """Back-test a rule on stored posts before enabling it: volume per day, accounts, languages, sample.

    Example: watchfloor rules test '("trapped" OR "stranded") NEAR/5 flood*'
    """
    state = state_of(ctx)
    result = backtest_rule(state.context(), actor=state.actor(), query=query, sample_size=sample)
    more = "" if result.complete else " (scan stopped; at least)"
    days = len(result.per_day)
    out.print(
        Text(
            f"{result.matched:,} stored posts match{more}, from {result.accounts:,} accounts over {days} days"
        )
    )
    if result.per_day:
        peak_day, peak = max(result.per_day.items(), key=lambda kv: kv[1])
        out.print(Text(f"  busiest day {peak_day}: {peak:,} posts"))
    for title, counter in (("languages", result.per_language), ("platforms", result.per_platform)):
        cells = ", ".join(f"{k} {v:,}" for k, v in counter.most_common(8))
        out.print(Text(f"  {title}: {cells or '—'}"))
    table = Table("id", "created", "text", box=None)
    for item, spans in result.sample:
        text = Text(item.post.searchable_text().replace("\n", " ")[:200])
        for start, end in spans:
            if start < 200:
                text.stylize("bold yellow", start, min(end, 200))
        table.add_row(str(item.id), f"{item.post.created_at:%Y-%m-%d}", text)
    if result.sample:
        out.print(table)
    err.print("Nothing was saved; add it with `watchfloor rules add NAME --query ...`.")


@lists_app.command("set")
def lists_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="List name (used as from:@name).")],
    members: Annotated[list[str], typer.Argument(help="Handles or platform ids.")],
    description: Annotated[str | None, typer.Option(help="What the list is.")] = None,
) -> None:
    """Create or replace an account list.

    Example: watchfloor lists set city-agencies nycoem fdny nypd
    """
    state = state_of(ctx)
    saved = set_account_list(
        state.context(), actor=state.actor(), name=name, members=members, description=description
    )
    out.print(Text(f"list {saved.name}: {len(saved.members)} accounts"))


@lists_app.command("list")
def lists_list(ctx: typer.Context) -> None:
    """Show account lists.

    Example: watchfloor lists list
    """
    state = state_of(ctx)
    table = Table("name", "accounts", "members", box=None)
    for item in account_lists(state.context(), actor=state.actor()):
        table.add_row(Text(item.name), str(len(item.members)), Text(" ".join(item.members[:10])))
    out.print(table)
