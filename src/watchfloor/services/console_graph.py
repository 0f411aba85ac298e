"""The cluster graph: which accounts posted a post's near-duplicate content, and when.

Coordinated posting is easier to see than to read: the same words from many accounts within minutes.
:func:`cluster_graph` gathers the posts of a post's near-duplicate cluster (newest :data:`GRAPH_LIMIT`)
and groups them by the account that posted them; the console draws each account around one
"content" node (sized by how many of the cluster's posts it wrote) and links two accounts when they
posted it within ``window_minutes`` of each other.

It is a post-level view of who shared one piece of content, nothing more: an account here is the
handle or platform id on the posts, not a person; accounts on different platforms are never merged;
no geotag, score or attribute of anyone is computed or shown. A view is a consultation of personal
data: it needs a legal basis in force and records one ``posts.graph`` event naming every post drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.query.fields import fold_handle
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import StoredPost

GRAPH_LIMIT = 500  # posts of one cluster drawn, newest first: a graph past this is a hairball
EDGE_LIMIT = 2_000  # account-to-account links kept, most co-posted pairs first
DEFAULT_WINDOW_MINUTES = 10
MAX_WINDOW_MINUTES = 1_440


@dataclass(frozen=True)
class GraphAccount:
    """One account that posted the cluster's content (as named on its posts, per platform)."""

    node: str  # the graph's node id ("a0", "a1", ...): handles are hostile, ids are not
    platform: str
    handle: str | None
    author_id: str | None
    name: str | None
    posts: list[StoredPost]  # oldest first

    @property
    def label(self) -> str:
        return f"@{self.handle}" if self.handle else f"id {self.author_id}"

    @property
    def first_at(self) -> datetime:
        return self.posts[0].post.created_at

    @property
    def last_at(self) -> datetime:
        return self.posts[-1].post.created_at


@dataclass(frozen=True)
class CoPosting:
    """Two accounts that posted the content within the window of each other."""

    source: GraphAccount
    target: GraphAccount
    pairs: int  # pairs of their posts within the window
    closest_seconds: int  # the smallest gap between one post of each


@dataclass(frozen=True)
class ClusterGraph:
    """Everything the graph page and its JSON show."""

    post: StoredPost  # the post it was asked from
    posts: list[StoredPost]  # every post drawn, oldest first
    accounts: list[GraphAccount]  # by their first post in the cluster
    co_postings: list[CoPosting]
    no_author: list[StoredPost]  # posts the platform gave no author for: counted, not drawn
    window_minutes: int
    truncated: bool  # the cluster has more posts than GRAPH_LIMIT (the newest are drawn)
    edges_truncated: bool  # more account pairs than EDGE_LIMIT (the most co-posted are kept)
    basis_id: int


def _accounts(posts: list[StoredPost]) -> tuple[list[GraphAccount], list[StoredPost]]:
    grouped: dict[tuple[str, str], list[StoredPost]] = {}
    no_author: list[StoredPost] = []
    for item in posts:
        post = item.post
        if post.author_handle:
            grouped.setdefault((post.platform, "@" + fold_handle(post.author_handle)), []).append(item)
        elif post.author_id:
            grouped.setdefault((post.platform, "id:" + post.author_id), []).append(item)
        else:
            no_author.append(item)
    accounts = []
    for index, items in enumerate(grouped.values()):  # insertion order: by first post
        first = items[0].post
        accounts.append(
            GraphAccount(
                node=f"a{index}",
                platform=first.platform,
                handle=first.author_handle.removeprefix("@") if first.author_handle else None,
                author_id=first.author_id,
                name=first.author_name,
                posts=items,
            )
        )
    return accounts, no_author


def _co_postings(accounts: list[GraphAccount], window_seconds: int) -> tuple[list[CoPosting], bool]:
    timeline = sorted(
        ((p.post.created_at.timestamp(), index) for index, a in enumerate(accounts) for p in a.posts),
    )
    pairs: dict[tuple[int, int], list[float]] = {}  # (account, account) -> [pairs, closest gap]
    start = 0
    for index, (at, who) in enumerate(timeline):  # a sliding window over the posts in time order
        while timeline[start][0] < at - window_seconds:
            start += 1
        for before, other in timeline[start:index]:
            if other != who:
                found = pairs.setdefault((min(who, other), max(who, other)), [0, float(window_seconds)])
                found[0] += 1
                found[1] = min(found[1], at - before)
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
    links = [
        CoPosting(source=accounts[a], target=accounts[b], pairs=int(n), closest_seconds=int(gap))
        for (a, b), (n, gap) in ranked[:EDGE_LIMIT]
    ]
    return links, len(ranked) > EDGE_LIMIT


def cluster_graph(
    ctx: ServiceContext,
    *,
    actor: Actor,
    post_id: int,
    basis_id: int | None,
    window_minutes: int = DEFAULT_WINDOW_MINUTES,
) -> ClusterGraph:
    """The accounts that posted post ``post_id``'s near-duplicate content, linked when they posted it
    within ``window_minutes`` of each other, under legal basis ``basis_id``."""
    ref = [f"post:{post_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="posts.graph", object_ids=ref, basis_id=basis_id),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "posts.view")
        if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
            raise InputError(
                f"the co-posting window must be 1 to {MAX_WINDOW_MINUTES} minutes, not {window_minutes}; "
                f"try {DEFAULT_WINDOW_MINUTES}"
            )
        basis = require_basis(tx, basis_id, now=ctx.clock.now(), doing="viewing a cluster graph")
        found = tx.get_posts([post_id])
        if not found:
            raise NotFound(f"post {post_id} is not in the store (it may have been purged under retention)")
        item = found[0]
        others = (
            tx.cluster_posts(item.cluster_id, exclude=item.id, limit=GRAPH_LIMIT)
            if item.cluster_id is not None
            else []
        )
        truncated = len(others) >= GRAPH_LIMIT
        shown = sorted([item, *others[: GRAPH_LIMIT - 1]], key=lambda p: (p.post.created_at, p.id))
        accounts, no_author = _accounts(shown)
        links, edges_truncated = _co_postings(accounts, window_minutes * 60)
        objects, digest = object_refs("post", [p.id for p in shown])
        record(
            tx,
            actor=actor,
            action="posts.graph",
            at=ctx.clock.now(),
            object_ids=objects,
            basis_id=basis.id,
            details={
                "post": post_id,
                "posts": len(shown),
                "accounts": len(accounts),
                "co_postings": len(links),
                "window_minutes": window_minutes,
                "truncated": truncated,
                **digest,
            },
        )
        return ClusterGraph(
            post=item,
            posts=shown,
            accounts=accounts,
            co_postings=links,
            no_author=no_author,
            window_minutes=window_minutes,
            truncated=truncated,
            edges_truncated=edges_truncated,
            basis_id=basis.id,
        )
