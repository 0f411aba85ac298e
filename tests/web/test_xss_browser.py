"""No hostile post runs in the console: the XSS corpus as posts, opened in a real headless Chromium.

Every payload in tests/fixtures/xss/payloads.txt becomes a post (text, title, author handle and
name, links) matching a rule, so it shows up in the queue, the post view, search results and a case;
the admin pages get payloads through names, titles, reasons and audit details. Each page is opened in
Chromium, hooked (tests/web/browser.py) for dialogs, title changes, beacon or off-site requests and CSP
violations, and its served HTML is checked for inline scripts, ``on*`` attributes and ``javascript:``
links. A page whose route does not exist yet is skipped with the reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from tests.web.browser import (  # noqa: F401  (pytest fixtures)
    TITLE_MARK,
    Live,
    chromium_fixture,
    live_fixture,
    screenshot,
    watch,
)
from tests.web.conftest import Web
from tests.web.test_route_inventory import walk
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import WatchfloorError
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.casefile import add_note
from watchfloor.services.cases import open_case
from watchfloor.services.dissemination import request_export
from watchfloor.services.evidence import capture_evidence
from watchfloor.services.ingest import import_file
from watchfloor.services.legal import add_basis
from watchfloor.services.rules import add_rule
from watchfloor.services.users import add_user
from watchfloor.services.watches import request_watch
from watchfloor.store.ports import AlertFilter

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "xss" / "payloads.txt"
MARKER = "xssprobe"
ANA = Actor(name="ana", roles=frozenset({"analyst"}))
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
ROOT = Actor(name="root", roles=frozenset({"admin"}))
LONG = "A" * 100_000 + "<script>alert('long')</script>"


def payloads() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("##")] + [LONG]


@dataclass
class Seeded:
    post_ids: list[int]
    alert_ids: list[int]
    case_id: int
    evidence_ids: list[int]
    raw_part: str
    account_post: int  # a post whose account has other hostile posts
    imported: int
    quarantined: int


def _csv(tmp_path: Path, items: list[str]) -> Path:
    header = ["id", "author", "author_name", "created_at", "title", "text", "url", "urls", "hashtags"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for i, payload in enumerate(items):
        short = payload[:300]
        cells = [
            str(1000 + i),
            "hostile_account" if i % 3 == 0 else short.replace(" ", "_")[:60],
            short,
            f"2026-11-29T{(i % 24):02d}:00:00Z",
            short,
            f"{MARKER} {i} {payload}",
            f'https://example.org/{i}?q="><script>alert({i})</script>',
            short if i % 2 else "javascript:alert(1)",
            short.replace(" ", ""),
        ]
        writer.writerow(cells)
    path = tmp_path / "hostile.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def seed(web: Web, tmp_path: Path) -> Seeded:
    """The corpus as posts with alerts, plus payloads in the admin pages' fields and the audit log."""
    ctx, items = web.ctx, payloads()
    add_rule(
        ctx,
        actor=ANA,
        draft=RuleDraft(basis_id=web.basis, name="<b>probe</b>", query=MARKER, severity="high"),
    )
    report = import_file(
        ctx, actor=ANA, path=_csv(tmp_path, items), format_name="csv", options=MapOptions(platform="twitter")
    )
    for i, payload in enumerate(items[:12]):
        add_user(ctx, actor=ROOT, name=f"hostile{i}", roles="analyst", display_name=payload[:200])
        with suppress(WatchfloorError):  # refused (invalid name): the audit log keeps the attempt
            add_user(ctx, actor=ROOT, name=payload[:60], roles="analyst")
    add_basis(ctx, actor=SAM, title=items[0], authority=items[1], purpose=items[2], necessity=items[3])
    request_watch(ctx, actor=ANA, subject="@probe_account", basis_id=web.basis, reason=items[4])
    with ctx.store.transaction() as tx:
        alerts = tx.list_alerts(AlertFilter(), limit=1000)
        post_ids = sorted({a.post_id for a in alerts if a.post_id is not None})
        shared = [p.id for p in tx.get_posts(post_ids) if p.post.author_handle == "hostile_account"]
    case = open_case(ctx, actor=ANA, title=items[0], basis_id=web.basis)
    captured = [capture_evidence(ctx, actor=ANA, case_id=case.id, post_id=p) for p in post_ids[:8]]
    raw_part = next(p.name for p in captured[0].parts if p.name.startswith("raw."))
    for payload in items[:6]:
        add_note(ctx, actor=ANA, case_id=case.id, kind="assessment", body=payload)
    request_export(ctx, actor=ANA, query=MARKER, basis_id=web.basis, recipient=items[5], title=items[6][:200])
    return Seeded(
        post_ids=post_ids,
        alert_ids=[a.id for a in alerts],
        case_id=case.id,
        evidence_ids=[c.id for c in captured],
        raw_part=raw_part,
        account_post=shared[0],
        imported=report.run.inserted,
        quarantined=report.run.quarantined,
    )


@dataclass(frozen=True)
class Target:
    name: str
    route: str  # the route's path pattern, to skip pages not built yet
    user: str
    url: Callable[[Seeded], str]


TARGETS = (
    Target("queue", "/", "ana", lambda s: "/"),
    Target("alert", "/alerts/{alert_id}", "ana", lambda s: f"/alerts/{s.alert_ids[0]}"),
    Target("post", "/posts/{post_id}", "ana", lambda s: f"/posts/{s.post_ids[0]}"),
    Target("post-script", "/posts/{post_id}", "ana", lambda s: f"/posts/{s.post_ids[1]}"),
    Target("post-long", "/posts/{post_id}", "ana", lambda s: f"/posts/{s.post_ids[-1]}"),
    Target("account", "/posts/{post_id}/account", "ana", lambda s: f"/posts/{s.account_post}/account"),
    Target("search", "/search", "ana", lambda s: f"/search?q={MARKER}"),
    Target("search-error", "/search", "ana", lambda s: "/search?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E(("),
    Target("case", "/cases/{case_id}", "ana", lambda s: f"/cases/{s.case_id}"),
    Target(
        "evidence",
        "/cases/{case_id}/evidence/{evidence_id}",
        "ana",
        lambda s: f"/cases/{s.case_id}/evidence/{s.evidence_ids[0]}?show={s.raw_part}",
    ),
    Target("exports", "/exports", "ana", lambda s: "/exports"),
    Target("admin-users", "/admin/users", "root", lambda s: "/admin/users"),
    Target("admin-audit", "/admin/audit", "audrey", lambda s: "/admin/audit?limit=300"),
    Target("admin-bases", "/admin/bases", "sam", lambda s: "/admin/bases"),
    Target("admin-watches", "/admin/watches", "sam", lambda s: "/admin/watches"),
)

_HANDLER = re.compile(r"^on[a-z]+$", re.IGNORECASE)


def served_html_problems(html: str) -> list[str]:
    """Inline scripts, event-handler attributes and javascript:/data: links in a page's HTML."""
    found = []
    for node in LexborHTMLParser(html).css("*"):
        attributes = node.attributes
        if node.tag == "script" and not attributes.get("src"):
            found.append(f"inline <script>: {(node.text() or '')[:80]!r}")
        for name, value in attributes.items():
            if _HANDLER.match(name):
                found.append(f"<{node.tag} {name}=...>")
            if name in ("href", "src", "action", "formaction", "srcdoc") and value:
                scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if scheme.startswith(("javascript:", "data:text", "vbscript:")) or name == "srcdoc":
                    found.append(f"<{node.tag} {name}={value[:60]!r}>")
            if name.startswith("hx-") and "xss" in (value or ""):
                found.append(f"<{node.tag} {name}={value[:60]!r}> (injected htmx)")
    return found


def _route_exists(web: Web, pattern: str) -> bool:
    return any(r.path == pattern and "GET" in r.methods for r in walk(web.app.routes))


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_no_payload_runs_on_the_page(live: Live, tmp_path: Path, target: Target) -> None:
    if not _route_exists(live.web, target.route):
        pytest.skip(f"the {target.name} page ({target.route}) is not built yet")
    seeded = seed(live.web, tmp_path)
    page = live.sign_in(target.user)
    hooks = watch(page, live.url)
    response = page.goto(target.url(seeded))
    assert response is not None
    page.wait_for_load_state("load")
    page.wait_for_timeout(400)  # let htmx and deferred scripts act, so that a payload has its chance
    title = page.title()
    assert TITLE_MARK not in title
    html = response.text()
    assert response.status in (200, 422), f"{target.name}: {response.status} {html[:300]}"
    problems = hooks.problems(page) + served_html_problems(html)
    screenshot(page, f"xss-{target.name}")
    assert not problems, f"{target.name}: {problems}"
    if target.name != "search-error":  # the payloads are shown, as text (not dropped, not rendered)
        shown = page.inner_text("main")
        assert any(p[:30] in shown for p in payloads()), f"{target.name} shows no payload at all"


def test_the_hooks_catch_a_payload_that_runs(live: Live) -> None:
    """The detector itself: a page that does run a payload is caught (so the test above can fail)."""
    page = live.sign_in("ana")
    hooks = watch(page, live.url)
    page.goto("/login")
    page.evaluate("() => { alert('probe'); document.title = 'XSS-EXECUTED'; }")
    page.evaluate("() => { const i = new Image(); i.src = '/xss-beacon/probe'; }")
    page.wait_for_timeout(200)
    found = hooks.problems(page)
    assert any("dialog" in p for p in found) and any("xss-beacon" in p for p in found)
    assert any("title" in p for p in found)
    assert served_html_problems('<p onclick="x()">a</p><script>1</script><a href=" javascript:x">')


def test_the_corpus_is_imported_whole(tmp_path: Path, live: Live) -> None:
    seeded = seed(live.web, tmp_path)
    assert (seeded.imported, seeded.quarantined) == (len(payloads()), 0)
    assert len(seeded.alert_ids) >= len(payloads()) // 2  # near-duplicates share an alert
