"""Console routes: search (the page, its export form, and ``/api/search``).

``GET /search`` without a legal basis (or with ``pick=1``) or without a query lists the bases in force
(event ``basis.list``) so the analyst can pick one; with both it runs the search page
(:func:`~watchfloor.services.console_search.search_page`, event ``posts.search``). A query that does
not parse is shown in the form with a caret under the column (status 422); the service has recorded it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from watchfloor.domain.errors import InputError, QuerySyntaxError
from watchfloor.services.console_search import SearchPage, search_page
from watchfloor.services.dissemination import request_export
from watchfloor.services.legal import list_bases
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.highlight import segments
from watchfloor.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
TEXT_LIMIT = 600  # characters of a post shown in a result row (the post page shows all of it)


def _search_url(query: str, **extra: str | int) -> str:
    return "/search?" + urlencode({"q": query, **{k: str(v) for k, v in extra.items()}})


def _refine(query: str, term: str) -> str:
    return _search_url(f"{query} {term}".strip())


def _facet_links(page: SearchPage) -> list[tuple[str, list[tuple[str, int, str]]]]:
    """(facet title, [(value, count, link adding it to the query)])."""
    facets = page.facets
    kinds = (
        ("Platform", facets.platforms, "platform:{}"),
        ("Language", facets.languages, "lang:{}"),
        ("Hashtag", facets.hashtags, "#{}"),
        ("Domain", facets.domains, "domain:{}"),
        ("Account", facets.accounts, "from:{}"),
    )
    out = [
        (title, [(f.value, f.count, _refine(page.query, pattern.format(f.value))) for f in values])
        for title, values, pattern in kinds
    ]
    days = sorted(facets.per_day, key=lambda d: (-d[1], d[0]))[:10]
    out.append(
        (
            "Date",
            [
                (
                    f"{day:%Y-%m-%d}",
                    count,
                    _refine(page.query, f"since:{day:%Y-%m-%d} until:{day + timedelta(days=1):%Y-%m-%d}"),
                )
                for day, count in days
            ],
        )
    )
    return out


def _series(page: SearchPage) -> str:
    """The uPlot series for the volume chart (JSON for a data attribute; the template escapes it)."""
    points = page.facets.per_day
    return orjson.dumps(
        {"x": [int(d.timestamp()) for d, _ in points], "y": [n for _, n in points], "label": "posts"}
    ).decode()


def _results(page: SearchPage) -> list[dict[str, Any]]:
    return [
        {
            "item": hit.item,
            "post": hit.item.post,
            "segments": segments(hit.item.post.searchable_text(), hit.spans, limit=TEXT_LIMIT),
        }
        for hit in page.hits
    ]


def _pages(page: SearchPage) -> tuple[str | None, str | None]:
    """Links to the newer and older pages of results (None at either end)."""
    newer = _search_url(page.query, offset=max(0, page.offset - page.limit)) if page.offset > 0 else None
    more = page.offset + page.limit < page.total
    older = _search_url(page.query, offset=page.offset + page.limit) if more else None
    return newer, older


def _picker(request: Request, who: Caller, q: str, *, pick: bool) -> Response:
    bases = list_bases(service(request), actor=who.actor, include_inactive=False)
    chosen = next((b for b in bases if b.id == who.basis_id), None)
    return render(
        request,
        "search.html",
        who,
        q=q,
        bases=bases,
        chosen=chosen,
        picker=chosen is None or pick,
        next_url=_search_url(q) if q else "/search",
    )


@router.get("/search", include_in_schema=False, openapi_extra=audit("posts.search"))
def search(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    q: str = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    pick: bool = False,
) -> Response:
    """The search page (see the module docstring for which event a request records)."""
    if who.basis_id is None or not q.strip() or pick:
        return _picker(request, who, q, pick=pick)
    try:
        page = search_page(
            service(request),
            actor=who.actor,
            query=q,
            basis_id=who.basis_id,
            session_key=who.session_key,
            limit=PAGE_SIZE,
            offset=offset,
        )
    except QuerySyntaxError as exc:
        caret = " " * (exc.column - 1) + "^"
        error = {
            "message": exc.message,
            "query": exc.query,
            "column": exc.column,
            "caret": caret,
            "hint": exc.hint,
        }
        return render(request, "search.html", who, status_code=422, q=q, syntax=error)
    except InputError as exc:  # the basis is not in force any more: say so, offer the picker
        return render(request, "search.html", who, status_code=422, q=q, problem=str(exc))
    return render(
        request,
        "search.html",
        who,
        q=q,
        page=page,
        results=_results(page),
        facets=_facet_links(page),
        series=_series(page),
        pages=_pages(page),
    )


@router.post("/search/export", include_in_schema=False, openapi_extra=audit("exports.request"))
def export(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    q: Annotated[str, Form()],
    recipient: Annotated[str, Form()],
    title: Annotated[str, Form()],
    format: Annotated[str, Form()] = "ndjson",
) -> Response:
    """Request an export of every match, held for a reviewer's approval (dissemination review)."""
    requested = request_export(
        service(request),
        actor=who.actor,
        query=q,
        basis_id=who.basis_id,
        recipient=recipient,
        title=title,
        fmt=format,
    )
    if request.headers.get("HX-Request"):
        return render(request, "fragments/search_export.html", who, export=requested)
    return render(request, "search.html", who, q=q, export=requested)


# -- JSON API ------------------------------------------------------------------------------------------


class FacetOut(BaseModel):
    value: str
    count: int


class DayOut(BaseModel):
    day: date
    count: int


class HitOut(BaseModel):
    id: int
    platform: str
    native_id: str
    created_at: datetime
    author: str | None
    url: str | None
    text: str
    spans: list[tuple[int, int]]  # character spans of ``text`` that matched


class SearchOut(BaseModel):
    query: str
    basis_id: int
    total: int
    limit: int
    offset: int
    hits: list[HitOut]
    facets_scanned: int  # the facets and volume count the newest this-many matches
    facets: dict[str, list[FacetOut]]
    volume: list[DayOut]


@router.get("/api/search", response_model=SearchOut, openapi_extra=audit("posts.search"))
def api_search(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    q: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
    basis: Annotated[int | None, Query(description="legal basis id (else the last one picked)")] = None,
) -> SearchOut:
    """Search stored posts under a legal basis: a page of results, the total, facets and volume per day."""
    page = search_page(
        service(request),
        actor=who.actor,
        query=q,
        basis_id=who.basis_id,
        session_key=who.session_key,
        limit=limit,
        offset=offset,
    )
    f = page.facets
    return SearchOut(
        query=page.query,
        basis_id=page.basis.id,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        hits=[
            HitOut(
                id=h.item.id,
                platform=h.item.post.platform,
                native_id=h.item.post.native_id,
                created_at=h.item.post.created_at,
                author=h.item.post.author_handle or h.item.post.author_id,
                url=h.item.post.url,
                text=h.item.post.searchable_text(),
                spans=h.spans,
            )
            for h in page.hits
        ],
        facets_scanned=f.scanned,
        facets={
            name: [FacetOut(value=x.value, count=x.count) for x in values]
            for name, values in (
                ("platform", f.platforms),
                ("language", f.languages),
                ("hashtag", f.hashtags),
                ("domain", f.domains),
                ("account", f.accounts),
            )
        },
        volume=[DayOut(day=d.astimezone(UTC).date(), count=n) for d, n in f.per_day],
    )
