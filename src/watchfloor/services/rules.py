"""Standing rules: add, edit (a new version), pause, resume, list, history, back-test; account lists.

Every change is made by a named actor and, once the accountability layer lands, under a legal basis:
both are parameters from the start. A rule's query is validated with the same parser and matcher
compiler the live matcher uses, so a rule that saves is a rule that runs. Every call records one
audit event (``rules.*``, ``lists.*``): rule changes with the rule's name, query and severity, which
analysts wrote; account lists by member count and digest, not the handles of the people on them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

import msgspec

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailScalar, DetailValue
from watchfloor.domain.errors import Conflict, InputError, QuerySyntaxError
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
from watchfloor.rules import compile_query
from watchfloor.services.access import access_rule_or_raise, authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import OBJECTS_PER_EVENT, object_refs, record, refusals_recorded
from watchfloor.services.rule_review import check_sensitive
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
            if isinstance(node, Field) and node.name == "imagehash" and node.value not in lists:
                name = node.value[1:]
                raise QuerySyntaxError(
                    f"known-image list {name!r} does not exist",
                    query=text,
                    column=text.find(name) + 1 or 1,
                    hint=f"create it first: watchfloor images create {name} --description ...",
                )
    return query


def _lists(tx: StoreTx) -> dict[str, frozenset[str]]:
    """What rules resolve lists against: account lists by name, known-image lists as ``"~name"``."""
    lists = {a.name: frozenset(a.members) for a in tx.account_lists()}
    lists.update(tx.image_list_hashes())
    return lists


def _validate(tx: StoreTx, draft: RuleDraft) -> RuleDraft:
    """``draft`` checked, with the sensitive terms the linter found (which then need a justification)."""
    if not draft.name.strip():
        raise InputError("a rule needs a name")
    if draft.severity not in SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, not {draft.severity!r}")
    if draft.volume is not None and (draft.volume.threshold < 2 or draft.volume.window_minutes < 1):
        raise InputError("a volume rule needs at least 2 posts in a window of at least 1 minute")
    parsed = parse_rule_query(draft.query, _lists(tx))
    # The matcher compiles what the parser accepts; compiling here surfaces any remaining problem now.
    compile_query(parsed, rule_id=0, version=0, severity=draft.severity, volume=draft.volume)
    return check_sensitive(draft, parsed)


def _draft_details(draft: RuleDraft) -> dict[str, DetailValue]:
    """What an event says about a rule version: the analyst's name, query, severity and volume."""
    volume = f"{draft.volume.threshold}/{draft.volume.window_minutes}" if draft.volume else None
    sensitive: list[DetailScalar] = [*draft.sensitive_terms]
    return {"name": draft.name, "query": draft.query, "severity": draft.severity, "volume": volume,
            "justification": draft.justification, "sensitive_terms": sensitive}  # fmt: skip


def _record_rule(
    tx: StoreTx, ctx: ServiceContext, actor: Actor, action: str, rule: Rule, **extra: DetailValue
) -> None:
    details = {**_draft_details(_draft_of(rule.current)), "version": rule.current.version, **extra}
    record(
        tx,
        actor=actor,
        action=action,
        at=ctx.clock.now(),
        object_ids=(f"rule:{rule.id}",),
        basis_id=rule.current.basis_id,
        details=details,
    )


def add_rule(ctx: ServiceContext, *, actor: Actor, draft: RuleDraft) -> Rule:
    """Create a rule (version 1); it starts matching arriving posts at once."""
    with (
        refusals_recorded(ctx, actor=actor, action="rules.add", details=_draft_details(draft)),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "rules.create")
        require_basis(tx, draft.basis_id, now=ctx.clock.now(), doing="a standing rule")
        draft = _validate(tx, draft)
        rule = tx.create_rule(draft, owner=actor.name, at=ctx.clock.now())
        _record_rule(tx, ctx, actor, "rules.add", rule)
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
    basis_id: int | None = None,
    justification: str | None = None,
) -> Rule:
    """Save a new version of a rule with the given changes; alerts keep the version that fired.

    ``basis_id`` moves the rule to another legal basis; otherwise it keeps its own, which must still
    be in force.
    """
    asked: dict[str, DetailValue] = {"query": query, "severity": severity, "note": change_note}
    rule_ref = [f"rule:{rule_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="rules.edit", object_ids=rule_ref, details=asked),
        ctx.store.transaction() as tx,
    ):
        current = access_rule_or_raise(tx, actor, rule_id, "rules.edit").current
        draft = RuleDraft(
            name=name if name is not None else current.name,
            query=query if query is not None else current.query,
            severity=as_severity(severity) if severity is not None else current.severity,
            description=description if description is not None else current.description,
            volume=None if clear_volume else (volume if volume is not None else current.volume),
            basis_id=basis_id if basis_id is not None else current.basis_id,
            change_note=change_note,
            justification=justification if justification is not None else current.justification,
            sensitive_terms=current.sensitive_terms,  # recomputed by _validate
        )
        require_basis(tx, draft.basis_id, now=ctx.clock.now(), doing="a standing rule")
        previous = _draft_of(current)
        if msgspec.structs.replace(draft, change_note=None) == previous:
            raise InputError("nothing to change: give at least one new value")
        draft = _validate(tx, draft)
        rule = tx.add_rule_version(rule_id, draft, author=actor.name, at=ctx.clock.now())
        changed: list[DetailScalar] = [f for f in _EDITABLE if getattr(draft, f) != getattr(previous, f)]
        _record_rule(tx, ctx, actor, "rules.edit", rule, changed=changed, note=change_note)
        return rule


_EDITABLE = ("name", "query", "severity", "description", "volume", "basis_id", "justification")


def _draft_of(version: RuleVersion) -> RuleDraft:
    return RuleDraft(
        name=version.name,
        query=version.query,
        severity=version.severity,
        description=version.description,
        volume=version.volume,
        basis_id=version.basis_id,
        justification=version.justification,
        sensitive_terms=version.sensitive_terms,
    )


def set_rule_active(ctx: ServiceContext, *, actor: Actor, rule_id: int, active: bool) -> Rule:
    """Pause or resume a rule; the live matcher picks the change up before its next batch."""
    action = "rules.resume" if active else "rules.pause"
    with (
        refusals_recorded(ctx, actor=actor, action=action, object_ids=[f"rule:{rule_id}"]),
        ctx.store.transaction() as tx,
    ):
        before = access_rule_or_raise(tx, actor, rule_id, "rules.resume" if active else "rules.pause")
        if active:
            require_basis(tx, before.current.basis_id, now=ctx.clock.now(), doing="resuming a rule")
        if active and before.current.awaits_approval:
            raise Conflict(
                f"rule {rule_id} waits for a supervisor's approval: watchfloor rules approve {rule_id}"
            )
        rule = tx.set_rule_status(rule_id, "active" if active else "paused", at=ctx.clock.now())
        assert rule is not None
        _record_rule(tx, ctx, actor, action, rule, from_status=before.status, to_status=rule.status)
        return rule


def list_rules(ctx: ServiceContext, *, actor: Actor, status: str | None = None) -> list[Rule]:
    """Every rule (or those with ``status``), with its current version."""
    with refusals_recorded(ctx, actor=actor, action="rules.list"), ctx.store.transaction() as tx:
        authorize(actor, "rules.read")
        rules = tx.list_rules(status=status)  # type: ignore[arg-type]
        objects, digest = object_refs("rule", [r.id for r in rules])
        details: dict[str, DetailValue] = {"status": status, "count": len(rules), **digest}
        record(tx, actor=actor, action="rules.list", at=ctx.clock.now(), object_ids=objects, details=details)
    return rules


def rule_history(ctx: ServiceContext, *, actor: Actor, rule_id: int) -> tuple[Rule, list[RuleVersion]]:
    """The rule and every version of it, oldest first."""
    with (
        refusals_recorded(ctx, actor=actor, action="rules.history", object_ids=[f"rule:{rule_id}"]),
        ctx.store.transaction() as tx,
    ):
        rule = access_rule_or_raise(tx, actor, rule_id, "rules.read")
        versions = tx.rule_history(rule_id)
        record(
            tx,
            actor=actor,
            action="rules.history",
            at=ctx.clock.now(),
            object_ids=(f"rule:{rule_id}",),
            details={"versions": len(versions)},
        )
        return rule, versions


def set_account_list(
    ctx: ServiceContext, *, actor: Actor, name: str, members: list[str], description: str | None = None
) -> AccountList:
    """Create or replace a named account list that rules can target with ``from:@name``.

    The event records the member count and digest and how many were added and removed, not the
    handles: they identify people who are not users of watchfloor, and a leaf is never deleted.
    """
    with refusals_recorded(ctx, actor=actor, action="lists.set", details={"name": name}):
        authorize(actor, "lists.write")
        clean = name.strip()
        if not clean or not all(c.isalnum() or c in "-_." for c in clean):
            raise InputError("a list name uses letters, digits, '-', '_' and '.' only")
        if len(_list_ref(clean)) > _MAX_REF:
            raise InputError(f"list name {clean!r} is too long; choose a shorter one")
        folded = tuple(sorted({fold_handle(m) for m in members if m.strip()}))
        if not folded:
            raise InputError("an account list needs at least one account")
        account_list = AccountList(
            name=clean, members=folded, owner=actor.name, updated_at=ctx.clock.now(), description=description
        )
        with ctx.store.transaction() as tx:
            before = {a.name: set(a.members) for a in tx.account_lists()}.get(clean, set())
            tx.put_account_list(account_list)
            record(
                tx,
                actor=actor,
                action="lists.set",
                at=ctx.clock.now(),
                object_ids=(_list_ref(clean),),
                details={
                    "name": clean,
                    "members": len(folded),
                    "members_sha256": _members_digest(folded),
                    "added": len(set(folded) - before),
                    "removed": len(before - set(folded)),
                },
            )
        return account_list


_MAX_REF = 200  # characters after the kind in an audit object id


def _list_ref(name: str) -> str:
    """``list:<name>``, percent-encoded: an object id is printable ASCII, list names need not be."""
    return f"list:{quote(name, safe='')}"


def _members_digest(members: tuple[str, ...]) -> str:
    """SHA-256 (hex) of the folded handles, sorted, one per line: shows which list an event meant."""
    return hashlib.sha256("\n".join(members).encode("utf-8")).hexdigest()


def account_lists(ctx: ServiceContext, *, actor: Actor) -> list[AccountList]:
    """Every account list with its members."""
    with refusals_recorded(ctx, actor=actor, action="lists.list"), ctx.store.transaction() as tx:
        authorize(actor, "lists.read")
        found = tx.account_lists()
        names = [_list_ref(a.name) for a in found]
        objects = tuple(names) if len(names) <= OBJECTS_PER_EVENT else ()
        details: dict[str, DetailValue] = {"count": len(found)}
        record(tx, actor=actor, action="lists.list", at=ctx.clock.now(), object_ids=objects, details=details)
    return found


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
    with (
        refusals_recorded(ctx, actor=actor, action="rules.backtest", details={"query": query}),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "rules.test")
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
        objects, digest = object_refs("post", [item.id for item, _ in result.sample])
        record(
            tx,
            actor=actor,
            action="rules.backtest",
            at=ctx.clock.now(),
            object_ids=objects,
            details={
                "query": query,
                "matched": result.matched,
                "complete": result.complete,
                "accounts": len(accounts),
                "sample": len(result.sample),
                **digest,
            },
        )
    result.per_day = dict(sorted(per_day.items()))
    result.accounts = len(accounts)
    return result
