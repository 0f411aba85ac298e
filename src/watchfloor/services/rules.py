"""Standing rules: add, edit (a new version), pause, resume, list, history, back-test; account lists.

Every change is made by a named actor and, once the accountability layer lands, under a legal basis:
both are parameters from the start. A rule's query is validated with the same parser and matcher
compiler the live matcher uses, so a rule that saves is a rule that runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import msgspec

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import InputError, NotFound, QuerySyntaxError
from watchfloor.domain.rules import (
    SEVERITIES,
    AccountList,
    Rule,
    RuleDraft,
    RuleVersion,
    VolumeSpec,
    as_severity,
)
from watchfloor.query.ast import Field, Query, walk
from watchfloor.query.evaluate import Document, match_spans
from watchfloor.query.fields import fold_handle
from watchfloor.query.parser import parse_query
from watchfloor.rules import compile_rule
from watchfloor.services.context import ServiceContext
from watchfloor.store.ports import StoredPost, StoreTx

BACKTEST_SCAN_LIMIT = 200_000  # matches read before a back-test reports "at least"


def parse_rule_query(text: str, lists: Mapping[str, frozenset[str]] | None = None) -> Query:
    """Parse a rule query (regex and account lists allowed); unknown lists are an error at their column."""
    query = parse_query(text, allow_regex=True, allow_lists=True)
    if lists is not None:
        for node in walk(query.root):
            if isinstance(node, Field) and node.name == "from" and node.value.startswith("@"):
                name = node.value[1:]
                if name not in lists:
                    column = text.find(name) + 1 or 1
                    raise QuerySyntaxError(
                        f"account list {name!r} does not exist",
                        query=text,
                        column=column,
                        hint=f"create it first: watchfloor lists set {name} HANDLE [HANDLE ...]",
                    )
    return query


def _lists(tx: StoreTx) -> dict[str, frozenset[str]]:
    return {a.name: frozenset(a.members) for a in tx.account_lists()}


def _validate(tx: StoreTx, draft: RuleDraft) -> None:
    if not draft.name.strip():
        raise InputError("a rule needs a name")
    if draft.severity not in SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, not {draft.severity!r}")
    if draft.volume is not None and (draft.volume.threshold < 2 or draft.volume.window_minutes < 1):
        raise InputError("a volume rule needs at least 2 posts in a window of at least 1 minute")
    parse_rule_query(draft.query, _lists(tx))
    # The matcher compiles what the parser accepts; compiling here surfaces any remaining problem now.
    compile_rule(_probe_version(draft))


def _probe_version(draft: RuleDraft) -> RuleVersion:
    from datetime import UTC, datetime

    return RuleVersion(
        rule_id=0,
        version=0,
        name=draft.name,
        query=draft.query,
        severity=draft.severity,
        author="validation",
        created_at=datetime(2000, 1, 1, tzinfo=UTC),
        volume=draft.volume,
    )


def add_rule(ctx: ServiceContext, *, actor: Actor, draft: RuleDraft) -> Rule:
    """Create a rule (version 1); it starts matching arriving posts at once."""
    with ctx.store.transaction() as tx:
        _validate(tx, draft)
        return tx.create_rule(draft, owner=actor.name, at=ctx.clock.now())


def _require(tx: StoreTx, rule_id: int) -> Rule:
    rule = tx.get_rule(rule_id)
    if rule is None:
        raise NotFound(f"rule {rule_id} does not exist (see `watchfloor rules list`)")
    return rule


def edit_rule(
    ctx: ServiceContext,
    *,
    actor: Actor,
    rule_id: int,
    name: str | None = None,
    query: str | None = None,
    severity: str | None = None,
    description: str | None = None,
    volume: VolumeSpec | None = None,
    clear_volume: bool = False,
    change_note: str | None = None,
) -> Rule:
    """Save a new version of a rule with the given changes; alerts keep the version that fired."""
    with ctx.store.transaction() as tx:
        current = _require(tx, rule_id).current
        draft = RuleDraft(
            name=name if name is not None else current.name,
            query=query if query is not None else current.query,
            severity=as_severity(severity) if severity is not None else current.severity,
            description=description if description is not None else current.description,
            volume=None if clear_volume else (volume if volume is not None else current.volume),
            basis_id=current.basis_id,
            change_note=change_note,
        )
        if msgspec.structs.replace(draft, change_note=None) == _draft_of(current):
            raise InputError("nothing to change: give at least one new value")
        _validate(tx, draft)
        return tx.add_rule_version(rule_id, draft, author=actor.name, at=ctx.clock.now())


def _draft_of(version: RuleVersion) -> RuleDraft:
    return RuleDraft(
        name=version.name,
        query=version.query,
        severity=version.severity,
        description=version.description,
        volume=version.volume,
        basis_id=version.basis_id,
    )


def set_rule_active(ctx: ServiceContext, *, actor: Actor, rule_id: int, active: bool) -> Rule:
    """Pause or resume a rule; the live matcher picks the change up before its next batch."""
    with ctx.store.transaction() as tx:
        _require(tx, rule_id)
        rule = tx.set_rule_status(rule_id, "active" if active else "paused", at=ctx.clock.now())
        assert rule is not None
        return rule


def list_rules(ctx: ServiceContext, *, actor: Actor, status: str | None = None) -> list[Rule]:
    with ctx.store.transaction() as tx:
        return tx.list_rules(status=status)  # type: ignore[arg-type]


def rule_history(ctx: ServiceContext, *, actor: Actor, rule_id: int) -> tuple[Rule, list[RuleVersion]]:
    """The rule and every version of it, oldest first."""
    with ctx.store.transaction() as tx:
        return _require(tx, rule_id), tx.rule_history(rule_id)


def set_account_list(
    ctx: ServiceContext, *, actor: Actor, name: str, members: list[str], description: str | None = None
) -> AccountList:
    """Create or replace a named account list that rules can target with ``from:@name``."""
    clean = name.strip()
    if not clean or not all(c.isalnum() or c in "-_." for c in clean):
        raise InputError("a list name uses letters, digits, '-', '_' and '.' only")
    folded = tuple(sorted({fold_handle(m) for m in members if m.strip()}))
    if not folded:
        raise InputError("an account list needs at least one account")
    account_list = AccountList(
        name=clean, members=folded, owner=actor.name, updated_at=ctx.clock.now(), description=description
    )
    with ctx.store.transaction() as tx:
        tx.put_account_list(account_list)
    return account_list


def account_lists(ctx: ServiceContext, *, actor: Actor) -> list[AccountList]:
    with ctx.store.transaction() as tx:
        return tx.account_lists()


@dataclass
class Backtest:
    """What a rule would have matched among stored posts: volume, spread and a sample."""

    query: str
    matched: int
    complete: bool  # False when the scan stopped at BACKTEST_SCAN_LIMIT matches
    per_day: dict[date, int] = field(default_factory=dict)
    accounts: int = 0
    per_language: Counter[str] = field(default_factory=Counter)
    per_platform: Counter[str] = field(default_factory=Counter)
    sample: list[tuple[StoredPost, list[tuple[int, int]]]] = field(default_factory=list)


def backtest_rule(ctx: ServiceContext, *, actor: Actor, query: str, sample_size: int = 10) -> Backtest:
    """Run a rule query over the stored posts before it is enabled, to see how noisy it would be."""
    with ctx.store.transaction() as tx:
        lists = _lists(tx)
        parsed = parse_rule_query(query, lists)
        result = Backtest(query=query, matched=0, complete=True)
        accounts: set[str] = set()
        per_day: Counter[date] = Counter()
        for item in tx.iter_search(parsed, sort="newest", lists=lists):
            post = item.post
            result.matched += 1
            per_day[post.created_at.date()] += 1
            accounts.add(f"{post.platform}:{post.author_id or post.author_handle}")
            result.per_language[post.langs[0] if post.langs else "unknown"] += 1
            result.per_platform[post.platform] += 1
            if len(result.sample) < sample_size:
                spans = match_spans(parsed.root, Document.from_post(post), lists=lists)
                result.sample.append((item, spans))
            if result.matched >= BACKTEST_SCAN_LIMIT:
                result.complete = False
                break
    result.per_day = dict(sorted(per_day.items()))
    result.accounts = len(accounts)
    return result
