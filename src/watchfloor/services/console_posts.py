"""The console's post and alert views: a post with its raw payload and context, "why this alert".

A view is a consultation of personal data: it needs a legal basis in force and records one event
naming every post it showed (the post, its thread, its near-duplicates), never their text.

- :func:`post_page` shows one post (``posts.view``) under the basis the analyst picked.
- :func:`alert_page` shows an alert, the rule version that fired and its post in context
  (``alerts.show``), under the analyst's basis or, when none is picked, the basis of the rule that
  fired (the monitoring was authorised under it).
- :func:`account_page` shows the account's other stored posts (``accounts.view``). That is a look at
  one person's posts, so the repeated-viewing rule applies: past the threshold of sessions it is
  refused (``denied``) until a watch authorisation is in force. The post and alert views never show
  them unasked, so opening an alert does not count as looking at its author.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from watchfloor.domain.actor import Actor
from watchfloor.domain.alerts import Alert, AlertEvent
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import NotFound
from watchfloor.domain.media import ImageMatch
from watchfloor.domain.oversight import Case
from watchfloor.domain.rules import RuleVersion
from watchfloor.query.fields import fold_handle
from watchfloor.services.access import access_alert_or_raise, allowed, authorize, require_basis
from watchfloor.services.console_media import ShownMedia, image_matches, shown_media
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.services.watch_checks import note_account_view
from watchfloor.store.ports import StoredPost, StoreTx

THREAD_DEPTH = 5  # parents followed up a reply chain
CONTEXT_LIMIT = 20  # replies, near-duplicates or account posts shown


@dataclass(frozen=True)
class PostContext:
    """A post, its raw payload, and the posts around it in the store."""

    post: StoredPost
    raw_format: str | None
    raw: bytes | None
    parents: list[StoredPost]  # the reply chain above it, root first
    replies: list[StoredPost]
    near_duplicates: list[StoredPost]
    basis_id: int
    media: list[ShownMedia] = field(default_factory=list)  # its photos/videos and what was fetched


@dataclass(frozen=True)
class AlertPage:
    """Everything the alert view shows."""

    alert: Alert
    rule: RuleVersion  # the version that fired
    events: list[AlertEvent]
    grouped_posts: list[StoredPost]  # other posts grouped into the alert
    context: PostContext | None  # None: the post was purged (or a burst has no sample)
    cluster: list[int]  # active alerts sharing the post's near-duplicate cluster
    cases: list[Case] = field(default_factory=list)  # open cases it can be added to
    image_matches: list[ImageMatch] = field(default_factory=list)  # imagehash:~list rules: nearest image


@dataclass(frozen=True)
class AccountPosts:
    """The account's other stored posts, beside the post they were asked from."""

    post: StoredPost
    subject: str  # the folded handle (or platform id) the repeated-viewing rule counted
    posts: list[StoredPost]


def _context(tx: StoreTx, item: StoredPost, raw: tuple[str, bytes] | None, basis_id: int) -> PostContext:
    post = item.post
    parents: list[StoredPost] = []
    wanted = post.reply_to
    while wanted and len(parents) < THREAD_DEPTH:
        found = tx.posts_by_keys([(post.platform, wanted)])
        if not found:
            break
        parents.insert(0, found[0])
        wanted = found[0].post.reply_to
    if post.reply_root and all(p.post.native_id != post.reply_root for p in parents):
        parents[:0] = tx.posts_by_keys([(post.platform, post.reply_root)])
    replies = tx.reply_posts(post.platform, post.native_id, limit=CONTEXT_LIMIT)
    near = (
        tx.cluster_posts(item.cluster_id, exclude=item.id, limit=CONTEXT_LIMIT)
        if item.cluster_id is not None
        else []
    )
    return PostContext(
        post=item,
        raw_format=raw[0] if raw else None,
        raw=raw[1] if raw else None,
        parents=parents,
        replies=replies,
        near_duplicates=near,
        basis_id=basis_id,
        media=shown_media(tx, item.id),
    )


def _shown(context: PostContext | None) -> tuple[tuple[str, ...], dict[str, DetailValue]]:
    if context is None:
        return (), {"posts": 0}
    ids = [context.post.id] + [p.id for p in context.parents + context.replies + context.near_duplicates]
    objects, digest = object_refs("post", list(dict.fromkeys(ids)))
    details: dict[str, DetailValue] = {
        "posts": len(set(ids)),
        "parents": len(context.parents),
        "replies": len(context.replies),
        "near_duplicates": len(context.near_duplicates),
        **digest,
    }
    if context.raw is not None:
        details["raw_sha256"] = hashlib.sha256(context.raw).hexdigest()
    return objects, details


def _get_post(tx: StoreTx, post_id: int) -> StoredPost:
    found = tx.get_posts([post_id])
    if not found:
        raise NotFound(f"post {post_id} is not in the store (it may have been purged under retention)")
    return found[0]


def post_page(ctx: ServiceContext, *, actor: Actor, post_id: int, basis_id: int | None) -> PostContext:
    """Post ``post_id`` with its raw payload, thread and near-duplicates, under legal basis ``basis_id``."""
    ref = [f"post:{post_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="posts.view", object_ids=ref, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.view")
        basis = require_basis(tx, basis_id, now=ctx.clock.now(), doing="viewing a post")
        context = _context(tx, _get_post(tx, post_id), tx.get_raw(post_id), basis.id)
        objects, details = _shown(context)
        record(
            tx,
            actor=actor,
            action="posts.view",
            at=ctx.clock.now(),
            object_ids=objects,
            basis_id=basis.id,
            details={"raw": context.raw is not None, **details},
        )
        return context


def _fired(tx: StoreTx, alert: Alert) -> RuleVersion:
    for version in tx.rule_history(alert.rule_id):
        if version.version == alert.rule_version:
            return version
    raise NotFound(f"rule {alert.rule_id} version {alert.rule_version} is missing")


def alert_page(ctx: ServiceContext, *, actor: Actor, alert_id: int, basis_id: int | None) -> AlertPage:
    """Alert ``alert_id``: the rule version that fired, its history, and its post in context."""
    ref = f"alert:{alert_id}"
    with (
        refusals_recorded(ctx, actor=actor, action="alerts.show", object_ids=[ref], basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        alert = access_alert_or_raise(tx, actor, alert_id, "alerts.read")
        authorize(actor, "posts.view")
        rule = _fired(tx, alert)
        basis = require_basis(
            tx,
            basis_id if basis_id is not None else rule.basis_id,
            now=ctx.clock.now(),
            doing="viewing an alert",
        )
        posts = tx.get_posts(tx.alert_posts(alert_id))
        first = next((p for p in posts if p.id == alert.post_id), None)
        context = _context(tx, first, tx.get_raw(first.id), basis.id) if first else None
        cluster = (
            tx.cluster_alerts([alert.cluster_id], statuses=("open", "claimed")).get(alert.cluster_id, [])
            if alert.cluster_id is not None
            else []
        )
        page = AlertPage(
            alert=alert,
            rule=rule,
            events=tx.alert_events(alert_id),
            grouped_posts=[p for p in posts if p.id != alert.post_id],
            context=context,
            cluster=cluster,
            cases=tx.list_cases(status="open") if allowed(actor, "cases.read") else [],
            image_matches=image_matches(tx, first.post, rule.query) if first else [],
        )
        objects, details = _shown(context)
        grouped, grouped_digest = object_refs("post", [p.id for p in page.grouped_posts])
        record(
            tx,
            actor=actor,
            action="alerts.show",
            at=ctx.clock.now(),
            object_ids=(ref, f"rule:{alert.rule_id}", *objects, *grouped),
            basis_id=basis.id,
            details={
                "rule_version": alert.rule_version,
                "status": alert.status,
                "grouped": len(page.grouped_posts),
                "history": len(page.events),
                **details,
                **grouped_digest,
            },
        )
        return page


def account_page(
    ctx: ServiceContext, *, actor: Actor, post_id: int, basis_id: int | None, session_key: str
) -> AccountPosts:
    """The other stored posts of the account that wrote post ``post_id`` (a look at that account)."""
    ref = [f"post:{post_id}"]
    with (
        refusals_recorded(
            ctx, actor=actor, action="accounts.view", object_ids=ref, basis_id=basis_id
        ) as attempt,
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.view")
        now = ctx.clock.now()
        basis = require_basis(tx, basis_id, now=now, doing="looking at an account's posts")
        item = _get_post(tx, post_id)
        post = item.post
        subject = fold_handle(post.author_handle) if post.author_handle else post.author_id
        if not subject:
            raise NotFound(f"post {post_id} names no account (the platform gave no author)")
        digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()
        attempt.details["subject_sha256"] = digest
        note_account_view(tx, actor, subject, session_key, now, ctx.settings)
        found = tx.account_posts(
            post.platform,
            author_key=fold_handle(post.author_handle) if post.author_handle else None,
            author_id=post.author_id,
            exclude=item.id,
            limit=CONTEXT_LIMIT,
        )
        objects, ids_digest = object_refs("post", [p.id for p in found])
        record(
            tx,
            actor=actor,
            action="accounts.view",
            at=now,
            object_ids=(*ref, *objects),
            basis_id=basis.id,
            details={"subject_sha256": digest, "count": len(found), **ids_digest},
        )
        return AccountPosts(post=item, subject=subject, posts=found)
