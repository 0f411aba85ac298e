"""Dissemination review: nothing leaves the system until a reviewer who is not its author approves the
exact bytes, and the released file carries a manifest an outsider can check offline.

The flow: the author requests an export (or, later, a report); the exact bytes are rendered *now* and
stored with their SHA-256 and the position of every item. A reviewer reads those bytes
(:func:`review_content`), and approves them by hash: the approval names the hash the reviewer saw,
and is refused if the stored content no longer has it. The author then releases: the stored bytes are
hashed again, and a mismatch voids the approval; otherwise the file and ``<file>.manifest.json`` are
written, the review is marked released and the stored bytes are deleted, the hash staying
(:mod:`watchfloor.services.release`). ``watchfloor verify-export`` (:mod:`watchfloor.exportverify`)
checks file and manifest with no database. Each call records one audit event: ids, hashes, counts,
the recipient and title — never post text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast, get_args

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import Conflict, InputError
from watchfloor.domain.oversight import (
    Dissemination,
    DisseminationItem,
    DisseminationKind,
    DisseminationStatus,
    LegalBasis,
)
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.formats import csv_line, iter_csv, ndjson_line
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.services.release import (
    Release,
    access_dissemination_or_raise,
    manifest_path,
    release_export,
    sha256_hex,
)
from watchfloor.services.search import parse_search
from watchfloor.store.ports import SortOrder, StoredPost, StoreTx

__all__ = [
    "EXPORT_FORMATS",
    "Release",
    "access_dissemination_or_raise",
    "approve_export",
    "hold_for_review",
    "list_exports",
    "manifest_path",
    "reject_export",
    "release_export",
    "render_posts",
    "request_dissemination",
    "request_export",
    "review_content",
    "sha256_hex",
    "show_export",
]

EXPORT_FORMATS = ("ndjson", "csv")
MAX_ITEMS = 100_000  # the bytes under review are kept in the database until released
_STATUSES: tuple[str, ...] = get_args(DisseminationStatus)


def _ref(dissemination_id: int) -> str:
    return f"dissemination:{dissemination_id}"


def render_posts(posts: Iterable[StoredPost], fmt: str) -> tuple[bytes, list[DisseminationItem]]:
    """The exact export bytes (the formats of ``watchfloor search``) and where each post sits in them."""
    chunks: list[bytes] = []
    items: list[DisseminationItem] = []
    offset = 0
    if fmt == "csv":
        header = next(iter_csv([])).encode("utf-8")  # no BOM: these bytes are hashed
        chunks.append(header)
        offset = len(header)
    for item in posts:
        line = csv_line(item).encode("utf-8") if fmt == "csv" else ndjson_line(item)
        items.append(
            DisseminationItem(
                post_id=item.id,
                platform=item.post.platform,
                native_id=item.post.native_id,
                offset=offset,
                length=len(line),
            )
        )
        chunks.append(line)
        offset += len(line)
        if len(items) > MAX_ITEMS:
            raise InputError(
                f"more than {MAX_ITEMS:,} posts match: narrow the query (a date range, a platform) "
                "and request several smaller exports"
            )
    return b"".join(chunks), items


def _clean(text: str, what: str, limit: int = 300) -> str:
    clean = " ".join(text.split())
    if not clean or len(clean) > limit:
        raise InputError(f"{what} must be 1-{limit} characters")
    return clean


def _submit(
    tx: StoreTx,
    ctx: ServiceContext,
    actor: Actor,
    *,
    kind: DisseminationKind,
    title: str,
    recipient: str,
    basis: LegalBasis,
    spec: dict[str, str | int | None],
    content: bytes,
    items: list[DisseminationItem],
) -> Dissemination:
    """Store a pending review of ``content`` and record ``exports.request`` (last, in ``tx``)."""
    for item in items:
        if item.offset < 0 or item.length < 1 or item.offset + item.length > len(content):
            raise InputError(f"item at byte {item.offset} (length {item.length}) lies outside the content")
    now = ctx.clock.now()
    digest = sha256_hex(content)
    created = tx.create_dissemination(
        kind=kind,
        title=title,
        author=actor.name,
        basis_id=basis.id,
        recipient=recipient,
        spec=spec,
        content=content,
        content_sha256=digest,
        items=items,
        at=now,
    )
    post_ids = [i.post_id for i in items if i.post_id is not None]
    objects, ids_digest = object_refs("post", post_ids)
    record(
        tx,
        actor=actor,
        action="exports.request",
        at=now,
        object_ids=(_ref(created.id), *objects),
        basis_id=basis.id,
        details={
            **spec,
            "kind": kind,
            "title": title,
            "recipient": recipient,
            "content_sha256": digest,
            "bytes": len(content),
            "items": len(items),
            **ids_digest,
        },
    )
    return created


def request_export(
    ctx: ServiceContext,
    *,
    actor: Actor,
    query: str,
    basis_id: int | None,
    recipient: str,
    title: str,
    fmt: str = "ndjson",
    sort: SortOrder = "newest",
) -> Dissemination:
    """Render every post matching ``query`` now, and hold the exact bytes for a reviewer's approval."""
    details: dict[str, DetailValue] = {"query": query, "format": fmt, "recipient": recipient, "title": title}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.request", details=details, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "exports.request")
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"an export is {' or '.join(EXPORT_FORMATS)}, not {fmt!r}")
        recipient, title = _clean(recipient, "the recipient"), _clean(title, "the title")
        parsed = parse_search(query)
        basis = require_basis(tx, basis_id, now=ctx.clock.now(), doing="an export")
        content, items = render_posts(tx.iter_search(parsed, sort=sort), fmt)
        if not items:
            raise InputError("no stored post matches the query: there is nothing to export")
        spec: dict[str, str | int | None] = {"query": query, "format": fmt, "sort": sort}
        return _submit(
            tx,
            ctx,
            actor,
            kind="export",
            title=title,
            recipient=recipient,
            basis=basis,
            spec=spec,
            content=content,
            items=items,
        )


def request_dissemination(
    ctx: ServiceContext,
    *,
    actor: Actor,
    kind: DisseminationKind,
    title: str,
    recipient: str,
    basis_id: int | None,
    content: bytes,
    items: Sequence[DisseminationItem],
    spec: dict[str, str | int | None] | None = None,
) -> Dissemination:
    """Hold already-rendered ``content`` (a report) with its ``items`` for a reviewer's approval."""
    details: dict[str, DetailValue] = {"kind": kind, "recipient": recipient, "title": title}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.request", details=details, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "exports.request")
        recipient, title = _clean(recipient, "the recipient"), _clean(title, "the title")
        basis = require_basis(tx, basis_id, now=ctx.clock.now(), doing=f"a {kind}")
        if not content:
            raise InputError(f"the {kind} is empty: there is nothing to review")
        return _submit(
            tx,
            ctx,
            actor,
            kind=kind,
            title=title,
            recipient=recipient,
            basis=basis,
            spec=dict(spec or {}),
            content=content,
            items=list(items),
        )


def hold_for_review(
    tx: StoreTx,
    ctx: ServiceContext,
    actor: Actor,
    *,
    kind: DisseminationKind,
    title: str,
    recipient: str,
    basis: LegalBasis,
    content: bytes,
    items: Sequence[DisseminationItem] = (),
    spec: dict[str, str | int | None] | None = None,
) -> Dissemination:
    """:func:`request_dissemination` inside a caller's transaction (which has checked ``exports.request``
    and the basis): a use case that renders a report from data it reads in the same transaction, and
    marks what went into it, holds the bytes and records ``exports.request`` as its last step."""
    authorize(actor, "exports.request")
    if not content:
        raise InputError(f"the {kind} is empty: there is nothing to review")
    return _submit(
        tx,
        ctx,
        actor,
        kind=kind,
        title=_clean(title, "the title"),
        recipient=_clean(recipient, "the recipient"),
        basis=basis,
        spec=dict(spec or {}),
        content=content,
        items=list(items),
    )


def _pending(found: Dissemination) -> None:
    if found.status != "pending":
        by = f" by {found.reviewer}" if found.reviewer else ""
        raise Conflict(f"export {found.id} was already {found.status}{by}: only a pending one can be decided")


def review_content(
    ctx: ServiceContext, *, actor: Actor, dissemination_id: int
) -> tuple[Dissemination, bytes]:
    """The exact bytes under review, for a reviewer who is not the author: their hash is what they approve."""
    ref = [_ref(dissemination_id)]
    with (
        refusals_recorded(ctx, actor=actor, action="exports.review", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        found = access_dissemination_or_raise(tx, actor, dissemination_id, "exports.review")
        _pending(found)
        content = tx.dissemination_content(dissemination_id)
        if content is None:
            raise Conflict(f"export {dissemination_id} has no stored content left to review")
        record(
            tx,
            actor=actor,
            action="exports.review",
            at=ctx.clock.now(),
            object_ids=ref,
            basis_id=found.basis_id,
            details={"content_sha256": sha256_hex(content), "bytes": len(content)},
        )
        return found, content


def approve_export(
    ctx: ServiceContext, *, actor: Actor, dissemination_id: int, content_sha256: str, note: str | None = None
) -> Dissemination:
    """Approve exactly the content whose SHA-256 the reviewer saw (a reviewer, never the author)."""
    ref = [_ref(dissemination_id)]
    seen = content_sha256.strip().lower()
    details: dict[str, DetailValue] = {"decision": "approved", "content_sha256": seen}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.decide", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        found = access_dissemination_or_raise(tx, actor, dissemination_id, "exports.decide")
        _pending(found)
        content = tx.dissemination_content(dissemination_id)
        if seen != found.content_sha256 or content is None or sha256_hex(content) != seen:
            raise Conflict(
                f"the content changed since you reviewed it: export {dissemination_id} is now "
                f"{found.content_sha256}, not {seen or '(no hash given)'}; review it again "
                f"(`watchfloor exports review {dissemination_id}`) and approve the hash you saw"
            )
        now = ctx.clock.now()
        decided = tx.decide_dissemination(
            dissemination_id, status="approved", reviewer=actor.name, note=note, content_sha256=seen, at=now
        )
        if decided is None:
            raise Conflict(f"export {dissemination_id} was decided by someone else meanwhile")
        record(
            tx,
            actor=actor,
            action="exports.decide",
            at=now,
            object_ids=ref,
            basis_id=found.basis_id,
            details={**details, "note": note},
        )
        return decided


def reject_export(ctx: ServiceContext, *, actor: Actor, dissemination_id: int, note: str) -> Dissemination:
    """Refuse an export (a reviewer, never the author), saying why; its stored bytes are deleted."""
    ref = [_ref(dissemination_id)]
    details: dict[str, DetailValue] = {"decision": "rejected", "note": note}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.decide", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        found = access_dissemination_or_raise(tx, actor, dissemination_id, "exports.decide")
        _pending(found)
        reason = _clean(note, "the reason for refusing", 2000)
        now = ctx.clock.now()
        decided = tx.decide_dissemination(
            dissemination_id, status="rejected", reviewer=actor.name, note=reason, content_sha256=None, at=now
        )
        if decided is None:
            raise Conflict(f"export {dissemination_id} was decided by someone else meanwhile")
        tx.drop_dissemination_content(dissemination_id)
        record(
            tx,
            actor=actor,
            action="exports.decide",
            at=now,
            object_ids=ref,
            basis_id=found.basis_id,
            details={**details, "note": reason, "content_sha256": found.content_sha256},
        )
        return decided


def list_exports(
    ctx: ServiceContext, *, actor: Actor, status: str | None = None, limit: int = 100
) -> list[Dissemination]:
    """Exports and reports under review, approved, refused or released, newest first."""
    details: dict[str, DetailValue] = {"status": status, "limit": limit}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.read", details=details),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "exports.read")
        if status is not None and status not in _STATUSES:
            raise InputError(f"status is one of {', '.join(_STATUSES)}, not {status!r}")
        found = tx.list_disseminations(status=cast(DisseminationStatus | None, status), limit=limit)
        objects, digest = object_refs("dissemination", [d.id for d in found])
        record(
            tx,
            actor=actor,
            action="exports.read",
            at=ctx.clock.now(),
            object_ids=objects,
            details={**details, "count": len(found), **digest},
        )
        return found


def show_export(ctx: ServiceContext, *, actor: Actor, dissemination_id: int) -> Dissemination:
    """One export or report and its review."""
    ref = [_ref(dissemination_id)]
    with (
        refusals_recorded(ctx, actor=actor, action="exports.read", object_ids=ref),
        ctx.store.transaction() as tx,
    ):
        found = access_dissemination_or_raise(tx, actor, dissemination_id, "exports.read")
        record(
            tx,
            actor=actor,
            action="exports.read",
            at=ctx.clock.now(),
            object_ids=ref,
            basis_id=found.basis_id,
        )
        return found
