"""Live sources: add, list, show, pause, resume and remove the feeds and streams the runner collects.

A source is a connector kind plus its configuration (a feed URL, a poll interval): adding one builds
its connector once, so a source that saves is a source the runner can start. Supervisors and admins
manage sources; analysts and auditors read their status. Every call records one ``sources.*`` audit
event naming the source by id, kind and name (never its posts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from watchfloor.connectors.live.registry import KINDS, Account, build, named_accounts
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.domain.sources import Source, SourceStatus
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.services.watch_checks import subject_digest, unwatched_accounts
from watchfloor.store.ports import StoreTx

__all__ = ["AddedSource", "add_source", "list_sources", "remove_source", "set_source_active", "show_source"]

_NAME_MAX = 80


class AddedSource(Source, frozen=True, kw_only=True):
    """A source just added, with the named accounts it collects from (``(platform, account)``) and
    those of them that have no watch in force yet: it collects nothing until every one has one."""

    accounts: tuple[Account, ...] = ()
    unwatched: tuple[Account, ...] = ()


def _source_or_raise(tx: StoreTx, name: str) -> Source:
    source = tx.source_named(name)
    if source is None:
        raise NotFound(f"There is no source named {name!r}; `watchfloor sources list` shows them.")
    return source


def add_source(
    ctx: ServiceContext,
    *,
    actor: Actor,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    basis_id: int | None,
) -> AddedSource:
    """Register a new active source of ``kind`` under legal basis ``basis_id`` (collection is processing
    of personal data: it needs one in force, and stops when it lapses); the runner picks it up on its
    next start.

    A source whose settings name accounts (a Telegram channel, Jetstream ``dids``) may be added before
    their watches are approved, so a supervisor can set it up meanwhile; it collects only while a watch
    is in force for every one (``collect.collection_allowed``): until then the runner fails it with the
    reason. ``unwatched`` in the result says which still need one, for the caller to warn.
    """
    details: dict[str, DetailValue] = {"name": name, "kind": kind}
    with refusals_recorded(ctx, actor=actor, action="sources.add", details=details, basis_id=basis_id):
        authorize(actor, "sources.manage")
        name = name.strip()
        if not name or len(name) > _NAME_MAX:
            raise InputError(f"a source needs a name of 1 to {_NAME_MAX} characters")
        if kind not in KINDS:
            raise InputError(f"unknown source kind {kind!r}: known kinds are {', '.join(sorted(KINDS))}")
        # the connector validates its own configuration (ConfigError); a YouTube key must be set here too
        build(kind, config, credentials=ctx.settings.credentials).close()
        accounts = named_accounts(kind, config)  # ConfigError for accounts it cannot name (a list)
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            basis = require_basis(tx, basis_id, now=now, doing="collecting from a source")
            source = tx.create_source(
                name=name, kind=kind, config=dict(config), basis_id=basis.id, created_by=actor.name, at=now
            )
            unwatched = unwatched_accounts(tx, accounts, now)
            record(
                tx,
                actor=actor,
                action="sources.add",
                at=now,
                object_ids=(f"source:{source.id}",),
                basis_id=basis.id,
                details={"name": name, "kind": kind, **_targets(config, accounts, unwatched)},
            )
        return AddedSource(**msgspec.structs.asdict(source), accounts=accounts, unwatched=unwatched)


def _targets(
    config: Mapping[str, Any], accounts: Sequence[Account], unwatched: Sequence[Account]
) -> dict[str, DetailValue]:
    """The sources.add event's account of what the source targets: its URL, or (when it names accounts,
    which a URL may spell out) the accounts by digest, as watch events name them, and how many of them
    have no watch in force yet."""
    url = str(config.get("url", ""))
    if not accounts:
        return {"url": url}
    return {
        "url_sha256": hashlib.sha256(url.encode("utf-8")).hexdigest() if url else None,
        "accounts": len(accounts),
        "accounts_sha256": [f"{platform}:{subject_digest(account)}" for platform, account in accounts],
        "unwatched": len(unwatched),
    }


def list_sources(ctx: ServiceContext, *, actor: Actor) -> list[Source]:
    """Every source with its status, cursor and counters (for `sources list` and `sources status`)."""
    with refusals_recorded(ctx, actor=actor, action="sources.list"):
        authorize(actor, "sources.read")
        with ctx.store.transaction() as tx:
            found = tx.list_sources()
            record(tx, actor=actor, action="sources.list", at=ctx.clock.now(), details={"count": len(found)})
        return found


def show_source(ctx: ServiceContext, *, actor: Actor, name: str) -> Source:
    """One source by name."""
    with refusals_recorded(ctx, actor=actor, action="sources.show", details={"name": name}):
        authorize(actor, "sources.read")
        with ctx.store.transaction() as tx:
            source = _source_or_raise(tx, name)
            record(
                tx,
                actor=actor,
                action="sources.show",
                at=ctx.clock.now(),
                object_ids=(f"source:{source.id}",),
            )
        return source


def set_source_active(ctx: ServiceContext, *, actor: Actor, name: str, active: bool) -> Source:
    """Pause a source, or resume a paused or failed one (its error count is kept, the cursor too)."""
    action = "sources.resume" if active else "sources.pause"
    with refusals_recorded(ctx, actor=actor, action=action, details={"name": name}):
        authorize(actor, "sources.manage")
        with ctx.store.transaction() as tx:
            source = _source_or_raise(tx, name)
            status: SourceStatus = "active" if active else "paused"
            now = ctx.clock.now()
            tx.set_source_status(source.id, status, at=now)
            record(
                tx,
                actor=actor,
                action=action,
                at=now,
                object_ids=(f"source:{source.id}",),
                details={"name": name, "was": source.status},
            )
            changed = tx.get_source(source.id)
        assert changed is not None
        return changed


def remove_source(ctx: ServiceContext, *, actor: Actor, name: str) -> Source:
    """Remove a source; the posts it collected stay (retention removes them on its schedule)."""
    with refusals_recorded(ctx, actor=actor, action="sources.remove", details={"name": name}):
        authorize(actor, "sources.manage")
        with ctx.store.transaction() as tx:
            source = _source_or_raise(tx, name)
            tx.delete_source(source.id)
            record(
                tx,
                actor=actor,
                action="sources.remove",
                at=ctx.clock.now(),
                object_ids=(f"source:{source.id}",),
                details={"name": name, "kind": source.kind, "posts_total": source.posts_total},
            )
        return source
