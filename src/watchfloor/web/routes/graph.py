"""The cluster graph: the accounts that posted a post's near-duplicate content, as a picture and a table.

``/posts/ID/graph`` renders the table (the accessible fallback, and what the tests read) and a
container that static/graph.js fills by fetching ``/api/posts/ID/graph`` and drawing it with the
vendored sigma.js. Node labels are drawn on a canvas as text, and the table is autoescaped: handles
and names are hostile like everything else a post carries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from watchfloor.services.console_graph import (
    DEFAULT_WINDOW_MINUTES,
    ClusterGraph,
    cluster_graph,
)
from watchfloor.services.legal import list_bases
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]
Minutes = Annotated[int, Query(description="link two accounts that posted within this many minutes")]


class GraphNodeOut(BaseModel):
    """A node: the shared content (one) or an account that posted it."""

    id: str
    kind: Literal["content", "account"]
    label: str
    platform: str | None
    posts: int
    post_ids: list[int]
    first_at: datetime | None
    last_at: datetime | None


class GraphEdgeOut(BaseModel):
    """``posted``: account to content (weight = its posts); ``co_posted``: two accounts that posted
    within the window (weight = pairs of posts, with the closest gap)."""

    id: str
    kind: Literal["posted", "co_posted"]
    source: str
    target: str
    weight: int
    closest_seconds: int | None


class ClusterGraphOut(BaseModel):
    """The near-duplicate cluster of a post as a graph of the accounts that posted it."""

    post_id: int
    cluster_id: int | None
    basis_id: int
    window_minutes: int
    truncated: bool
    edges_truncated: bool
    posts_without_author: int
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]

    @classmethod
    def of(cls, graph: ClusterGraph) -> ClusterGraphOut:
        cluster = graph.post.cluster_id
        content = GraphNodeOut(
            id="content",
            kind="content",
            label=f"near-duplicate cluster #{cluster}" if cluster is not None else f"post #{graph.post.id}",
            platform=None,
            posts=len(graph.posts),
            post_ids=[p.id for p in graph.posts],
            first_at=graph.posts[0].post.created_at,
            last_at=graph.posts[-1].post.created_at,
        )
        nodes = [content] + [
            GraphNodeOut(
                id=a.node,
                kind="account",
                label=a.label,
                platform=a.platform,
                posts=len(a.posts),
                post_ids=[p.id for p in a.posts],
                first_at=a.first_at,
                last_at=a.last_at,
            )
            for a in graph.accounts
        ]
        edges = [
            GraphEdgeOut(
                id=f"p-{a.node}",
                kind="posted",
                source=a.node,
                target="content",
                weight=len(a.posts),
                closest_seconds=None,
            )
            for a in graph.accounts
        ] + [
            GraphEdgeOut(
                id=f"c-{c.source.node}-{c.target.node}",
                kind="co_posted",
                source=c.source.node,
                target=c.target.node,
                weight=c.pairs,
                closest_seconds=c.closest_seconds,
            )
            for c in graph.co_postings
        ]
        return cls(
            post_id=graph.post.id,
            cluster_id=cluster,
            basis_id=graph.basis_id,
            window_minutes=graph.window_minutes,
            truncated=graph.truncated,
            edges_truncated=graph.edges_truncated,
            posts_without_author=len(graph.no_author),
            nodes=nodes,
            edges=edges,
        )


@router.get("/posts/{post_id}/graph", include_in_schema=False, openapi_extra=audit("posts.graph"))
def graph_view(
    request: Request, who: Who, post_id: int, minutes: Minutes = DEFAULT_WINDOW_MINUTES
) -> Response:
    """The accounts that posted the post's near-duplicate content: a graph and the same as a table."""
    if who.basis_id is None:
        bases = list_bases(service(request), actor=who.actor, include_inactive=False)
        return render(request, "post_basis.html", who, bases=bases, next=request.url.path)
    graph = cluster_graph(
        service(request), actor=who.actor, post_id=post_id, basis_id=who.basis_id, window_minutes=minutes
    )
    return render(request, "graph.html", who, graph=graph)


@router.get("/api/posts/{post_id}/graph", response_model=ClusterGraphOut, openapi_extra=audit("posts.graph"))
def api_graph(
    request: Request, who: Who, post_id: int, minutes: Minutes = DEFAULT_WINDOW_MINUTES
) -> ClusterGraphOut:
    """The accounts that posted the post's near-duplicate content (nodes, edges); needs ``?basis=ID``."""
    return ClusterGraphOut.of(
        cluster_graph(
            service(request), actor=who.actor, post_id=post_id, basis_id=who.basis_id, window_minutes=minutes
        )
    )
