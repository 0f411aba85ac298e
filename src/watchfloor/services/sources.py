"""Live sources: add, list, show, pause, resume and remove the feeds and streams the runner collects.

A source is a connector kind plus its configuration (a feed URL, a poll interval): adding one builds
its connector once, so a source that saves is a source the runner can start. Supervisors and admins
manage sources; analysts and auditors read their status. Every call records one ``sources.*`` audit
event naming the source by id, kind and name (never its posts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchfloor.connectors.live.registry import KINDS, build
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.domain.sources import Source, SourceStatus
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = ["add_source", "list_sources", "remove_source", "set_source_active", "show_source"]

_NAME_MAX = 80


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
) -> Source:
    """Register a new active source of ``kind`` under legal basis ``basis_id`` (collection is processing
    of personal data: it needs one in force, and stops when it lapses); the runner picks it up on its
    next start."""
    details: dict[str, DetailValue] = {"name": name, "kind": kind}
    with refusals_recorded(ctx, actor=actor, action="sources.add", details=details, basis_id=basis_id):
        authorize(actor, "sources.manage")
        name = name.strip()
        if not name or len(name) > _NAME_MAX:
            raise InputError(f"a source needs a name of 1 to {_NAME_MAX} characters")
        if kind not in KINDS:
            raise InputError(f"unknown source kind {kind!r}: known kinds are {', '.join(sorted(KINDS))}")
        followed = next((key for key in ("dids", "usernames") if config.get(key)), None)
        if followed is not None:  # Jetstream dids, TikTok usernames
            raise InputError(
                f"a source that follows named accounts ({followed}) is monitoring those people: it needs a "
                "watch authorisation per account, which live sources cannot check yet; collect by "
                "collection or hashtag, and follow accounts with `from:` rules (which need approved watches)"
            )
        # the connector validates its own configuration (ConfigError); a YouTube key must be set here too
        build(kind, config, credentials=ctx.settings.credentials).close()
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            basis = require_basis(tx, basis_id, now=now, doing="collecting from a source")
            source = tx.create_source(
                name=name, kind=kind, config=dict(config), basis_id=basis.id, created_by=actor.name, at=now
            )
            record(
                tx,
                actor=actor,
                action="sources.add",
                at=now,
                object_ids=(f"source:{source.id}",),
                basis_id=basis.id,
                details={"name": name, "kind": kind, "url": str(config.get("url", ""))},
            )
        return source


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
