"""Viewing one stored post: the mapped record and, on request, the platform's raw payload, verbatim.

A view is a consultation of personal data, so it needs a legal basis and is recorded (LED Art. 25:
who consulted what, when, and why); the event names the post and the SHA-256 of the raw payload shown,
never its text.
"""

from __future__ import annotations

import hashlib

import msgspec

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import NotFound
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoredPost


class PostView(msgspec.Struct, frozen=True, kw_only=True):
    """A stored post and (when asked for) its raw payload with the format it came in."""

    post: StoredPost
    raw_format: str | None = None
    raw: bytes | None = None


def show_post(
    ctx: ServiceContext, *, actor: Actor, post_id: int, basis_id: int | None, raw: bool = False
) -> PostView:
    """Stored post ``post_id`` (and its raw payload if ``raw``), under legal basis ``basis_id``."""
    ref = [f"post:{post_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="posts.view", object_ids=ref, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.view")
        require_basis(tx, basis_id, now=ctx.clock.now(), doing="viewing a post")
        found = tx.get_posts([post_id])
        if not found:
            raise NotFound(f"post {post_id} is not in the store (it may have been purged under retention)")
        view = PostView(post=found[0])
        details: dict[str, DetailValue] = {"raw": raw}
        if raw:
            payload = tx.get_raw(post_id)
            if payload is not None:
                view = PostView(post=found[0], raw_format=payload[0], raw=payload[1])
                details["raw_sha256"] = hashlib.sha256(payload[1]).hexdigest()
        record(
            tx,
            actor=actor,
            action="posts.view",
            at=ctx.clock.now(),
            object_ids=ref,
            basis_id=basis_id,
            details=details,
        )
        return view
