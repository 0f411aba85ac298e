"""The alert view ("why this alert") and the post view, with context, and their JSON API under /api/.

Post text, names, URLs and media metadata are hostile: templates autoescape everything, and matched
spans are highlighted by splitting the text into (text, matched) segments here, rendered with <mark>
in a template loop, never by building HTML. Media are shown from the copies the fetcher stored (served
with their sniffed type, ``nosniff`` and a sandboxing CSP), never loaded from the platform.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from watchfloor.domain.alerts import DISPOSITIONS
from watchfloor.services.console_media import post_media_file
from watchfloor.services.console_posts import account_page, alert_page, post_page
from watchfloor.services.legal import list_bases
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.routes.alert_models import AccountPostsOut, AlertDetailOut, PostContextOut
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]


def segments(text: str, spans: tuple[tuple[int, int], ...]) -> list[tuple[str, bool]]:
    """``text`` cut into ``(piece, matched)`` runs by character ``spans`` (overlaps merged, bad ones
    ignored), for a template to wrap matched pieces in <mark>."""
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in merged:
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def _pick_basis(request: Request, who: Caller) -> Response:
    """The legal-basis picker: a view needs a purpose, and the analyst has not picked one yet."""
    bases = list_bases(service(request), actor=who.actor, include_inactive=False)
    return render(request, "post_basis.html", who, bases=bases, next=request.url.path)


@router.get("/alerts/{alert_id}", include_in_schema=False, openapi_extra=audit("alerts.show"))
def alert_view(request: Request, who: Who, alert_id: int) -> Response:
    """One alert: why it fired (spans, rule version, query, fields), its post in context, actions."""
    page = alert_page(service(request), actor=who.actor, alert_id=alert_id, basis_id=who.basis_id)
    own = page.context.post.post.own_text() if page.context else ""
    image = (page.context.post.post.image_text or "") if page.context else ""
    offset = len(own) + 1 if own else 0  # searchable_text(): own text, a newline, the image text
    return render(
        request,
        "alert.html",
        who,
        page=page,
        alert=page.alert,
        context=page.context,
        highlighted=segments(own, page.alert.spans),
        image_highlighted=segments(image, tuple((s - offset, e - offset) for s, e in page.alert.spans)),
        cases=page.cases,
        dispositions=DISPOSITIONS,
    )


@router.get(
    "/posts/{post_id}",
    include_in_schema=False,
    openapi_extra=audit("posts.view"),
)
def post_view(request: Request, who: Who, post_id: int) -> Response:
    """One stored post with its raw payload and context (a legal basis must be picked first)."""
    if who.basis_id is None:
        return _pick_basis(request, who)
    context = post_page(service(request), actor=who.actor, post_id=post_id, basis_id=who.basis_id)
    return render(request, "post.html", who, context=context)


@router.get(
    "/posts/{post_id}/media/{sha256}",
    include_in_schema=False,
    openapi_extra=audit("media.view"),
)
def post_media(request: Request, who: Who, post_id: int, sha256: str) -> Response:
    """One of the post's stored photos, videos or keyframes (the fetched copy, never the platform's)."""
    found = post_media_file(
        service(request), actor=who.actor, post_id=post_id, sha256=sha256, basis_id=who.basis_id
    )
    inline = found.media_type.startswith("image/")
    return Response(
        found.data,
        media_type=found.media_type,  # sniffed from the bytes when fetched; SVG and HTML are never stored
        headers={
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline" if inline else f'attachment; filename="{sha256[:16]}"',
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get(
    "/posts/{post_id}/account",
    include_in_schema=False,
    openapi_extra=audit("accounts.view"),
)
def account_view(request: Request, who: Who, post_id: int) -> Response:
    """The account's other stored posts: counts as a look at the account (repeated-viewing rule)."""
    if who.basis_id is None:
        return _pick_basis(request, who)
    found = account_page(
        service(request), actor=who.actor, post_id=post_id, basis_id=who.basis_id, session_key=who.session_key
    )
    template = "fragments/post_account.html" if request.headers.get("HX-Request") else "post_account.html"
    return render(request, template, who, found=found)


# -- JSON API ------------------------------------------------------------------------------------


@router.get("/api/alerts/{alert_id}", response_model=AlertDetailOut, openapi_extra=audit("alerts.show"))
def api_alert(request: Request, who: Who, alert_id: int) -> AlertDetailOut:
    """One alert with the rule version that fired, its history and its post in context.

    Works under ``?basis=ID`` (or, without it, the legal basis of the rule that fired).
    """
    page = alert_page(service(request), actor=who.actor, alert_id=alert_id, basis_id=who.basis_id)
    return AlertDetailOut.of(page)


@router.get("/api/posts/{post_id}", response_model=PostContextOut, openapi_extra=audit("posts.view"))
def api_post(request: Request, who: Who, post_id: int) -> PostContextOut:
    """One stored post with its raw payload, thread and near-duplicates; needs ``?basis=ID``."""
    return PostContextOut.of(
        post_page(service(request), actor=who.actor, post_id=post_id, basis_id=who.basis_id)
    )


@router.get(
    "/api/posts/{post_id}/account", response_model=AccountPostsOut, openapi_extra=audit("accounts.view")
)
def api_account(request: Request, who: Who, post_id: int) -> AccountPostsOut:
    """The other stored posts of the post's account (repeated-viewing rule applies); needs ``?basis=ID``."""
    found = account_page(
        service(request), actor=who.actor, post_id=post_id, basis_id=who.basis_id, session_key=who.session_key
    )
    return AccountPostsOut.of(found)
