"""The cluster graph: the accounts that posted a near-duplicate cluster, as JSON, a table and a picture."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.web.alerts_data import audit_size, events, import_rows
from tests.web.browser import Live, chromium_fixture, live_fixture, screenshot, watch  # noqa: F401
from tests.web.conftest import Web
from tests.web.test_xss_browser import payloads, served_html_problems
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.services.ingest import import_file

CAMPAIGN = "The bridge on route 9 is closed, share this now before they delete it! #floodwatch"
ANA = Actor(name="ana", roles=frozenset({"analyst"}))
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _seed(web: Web, tmp_path: Path) -> dict[str, int]:
    """Four accounts post the same text (one of them twice, one with a hostile handle), and one other post."""
    rows = [
        {"id": "1", "author": "first_acct", "created_at": "2026-11-29T10:00:00Z", "text": CAMPAIGN},
        {"id": "2", "author": "second_acct", "created_at": "2026-11-29T10:03:00Z", "text": CAMPAIGN},
        {"id": "3", "author": HOSTILE, "created_at": "2026-11-29T10:30:00Z", "text": CAMPAIGN},
        {"id": "4", "author": "first_acct", "created_at": "2026-11-29T10:31:00Z", "text": CAMPAIGN},
        {"id": "5", "author": "bystander", "created_at": "2026-11-29T10:02:00Z", "text": "Lovely weather."},
    ]
    import_rows(web, tmp_path, rows)
    with web.ctx.store.transaction() as tx:
        found = tx.posts_by_keys([("twitter", str(n)) for n in range(1, 6)])
    return {p.post.native_id: p.id for p in found}


def _by_label(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = body["nodes"]
    assert isinstance(nodes, list)
    return {str(n["label"]): n for n in nodes}


def test_the_graph_json_has_one_node_per_account_and_links_accounts_that_posted_close_together(
    web: Web, tmp_path: Path
) -> None:
    ids = _seed(web, tmp_path)
    browser = web.client("ana")
    before = audit_size(web)
    response = browser.get(f"/api/posts/{ids['2']}/graph")
    assert response.status_code == 200 and audit_size(web) == before + 1
    body = response.json()
    nodes = _by_label(body)
    content = next(n for n in nodes.values() if n["kind"] == "content")
    assert content["posts"] == 4 and sorted(content["post_ids"]) == sorted(ids[n] for n in "1234")
    accounts = {label: n for label, n in nodes.items() if n["kind"] == "account"}
    assert set(accounts) == {"@first_acct", "@second_acct", "@" + HOSTILE}  # not the bystander
    assert accounts["@first_acct"]["posts"] == 2 and accounts["@first_acct"]["post_ids"] == [
        ids["1"],
        ids["4"],
    ]
    assert all(n["platform"] == "twitter" for n in accounts.values())
    node = {label: str(n["id"]) for label, n in accounts.items()}
    posted = {(e["source"], e["weight"]) for e in body["edges"] if e["kind"] == "posted"}
    assert posted == {(node["@first_acct"], 2), (node["@second_acct"], 1), (node["@" + HOSTILE], 1)}
    linked = {
        (frozenset((e["source"], e["target"])), e["weight"], e["closest_seconds"])
        for e in body["edges"]
        if e["kind"] == "co_posted"
    }
    assert linked == {  # within 10 minutes: 10:00 & 10:03, and 10:30 & 10:31; not 10:03 & 10:30
        (frozenset((node["@first_acct"], node["@second_acct"])), 1, 180),
        (frozenset((node["@first_acct"], node["@" + HOSTILE])), 1, 60),
    }
    assert body["window_minutes"] == 10 and not body["truncated"] and body["posts_without_author"] == 0
    event = events(web)[-1]
    assert (event.action, event.outcome, event.basis_id) == ("posts.graph", "ok", web.basis)
    assert set(event.object_ids) == {f"post:{ids[n]}" for n in "1234"}
    assert CAMPAIGN not in str(event.details) and HOSTILE not in str(event.details)

    wider = browser.get(f"/api/posts/{ids['2']}/graph?minutes=30").json()
    assert sum(e["kind"] == "co_posted" for e in wider["edges"]) == 3  # every pair of accounts now
    refused = browser.get(f"/api/posts/{ids['2']}/graph?minutes=0")
    assert refused.status_code == 422 and "1 to 1440 minutes" in refused.json()["error"]
    assert browser.get("/api/posts/999999/graph").status_code == 404
    alone = browser.get(f"/api/posts/{ids['5']}/graph").json()
    assert [n["label"] for n in alone["nodes"]][1:] == ["@bystander"] and len(alone["edges"]) == 1


def test_the_graph_page_shows_the_same_data_as_a_table_with_hostile_handles_escaped(
    web: Web, tmp_path: Path
) -> None:
    ids = _seed(web, tmp_path)
    browser = web.client("ana")
    before = audit_size(web)
    page = browser.get(f"/posts/{ids['1']}/graph")
    assert page.status_code == 200 and audit_size(web) == before + 1
    assert events(web)[-1].action == "posts.graph"
    assert (
        HOSTILE not in page.text
        and "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
    )
    dom = HTMLParser(page.text)
    scripts = [str(s.attributes.get("src") or "") for s in dom.css("script")]
    assert all(src.startswith("/static/") for src in scripts)
    assert {"/static/vendor/sigma-3.0.3.min.js", "/static/graph.js"} <= set(scripts)
    assert not [n for n in dom.css("*") if any(a.startswith("on") or a == "style" for a in n.attributes)]
    rows = [
        [td.text(deep=True).strip() for td in tr.css("td")[:2]] + [tr.css("td")[2].text(deep=False).strip()]
        for tr in dom.css("table.graph-accounts tbody tr")
    ]
    assert rows == [  # oldest first; the hostile handle is text, exactly as written
        ["@first_acct", "twitter", "2"],
        ["@second_acct", "twitter", "1"],
        ["@" + HOSTILE, "twitter", "1"],
    ]
    pairs = [tr.css("td")[2].text() for tr in dom.css("table.graph-copostings tbody tr")]
    assert pairs == ["1", "1"]
    container = dom.css_first("#cluster-graph")
    assert (
        container is not None
        and container.attributes["data-src"] == f"/api/posts/{ids['1']}/graph?minutes=10"
    )
    for static in (
        "/static/graph.js",
        "/static/vendor/sigma-3.0.3.min.js",
        "/static/vendor/graphology-0.26.0.umd.min.js",
    ):
        assert browser.get(static).status_code == 200

    post_page = HTMLParser(browser.get(f"/posts/{ids['1']}").text)  # the post view links to the graph
    assert f"/posts/{ids['1']}/graph" in [a.attributes.get("href") for a in post_page.css("a")]


def test_the_graph_needs_a_legal_basis_and_an_analyst(web: Web, tmp_path: Path) -> None:
    ids = _seed(web, tmp_path)
    browser = web.client("ana")
    browser.cookies.delete("wf_basis")
    picker = browser.get(f"/posts/{ids['1']}/graph")
    assert picker.status_code == 200 and 'action="/basis"' in picker.text
    assert browser.get(f"/api/posts/{ids['1']}/graph").status_code == 422  # the API says to pick one
    assert (events(web)[-1].action, events(web)[-1].outcome) == ("posts.graph", "error")
    rita = web.client("rita")
    for url in (f"/posts/{ids['1']}/graph", f"/api/posts/{ids['1']}/graph"):
        before = audit_size(web)
        assert rita.get(url).status_code == 403 and audit_size(web) == before + 1
        assert (events(web)[-1].action, events(web)[-1].outcome) == ("posts.graph", "denied")


def test_the_graph_page_draws_a_canvas_in_chromium_without_csp_violations(live: Live, tmp_path: Path) -> None:
    ids = _seed(live.web, tmp_path)
    page = live.sign_in("ana")
    hooks = watch(page, live.url)
    page.goto(f"/posts/{ids['1']}/graph")
    # expect() polls from Playwright's own isolated script, not by eval in the page: the page's CSP
    # (no 'unsafe-eval') refuses wait_for_function's string predicates once polling starts.
    expect(page.locator("#cluster-graph-status")).not_to_contain_text("Loading", timeout=15_000)
    status = page.text_content("#cluster-graph-status") or ""
    if "cannot draw" in status:
        pytest.skip(f"this Chromium has no WebGL: {status}")
    assert page.get_attribute("#cluster-graph", "data-drawn") == "true", status
    assert page.locator("#cluster-graph canvas").count() > 0
    assert page.locator("#cluster-graph-legend li").all_text_contents() == ["twitter"]
    screenshot(page, "cluster-graph")
    assert hooks.problems(page) == [] and hooks.console_errors == []


def test_no_handle_from_the_xss_corpus_runs_on_the_graph_page(live: Live, tmp_path: Path) -> None:
    corpus = payloads()[:60]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "author", "author_name", "created_at", "text"])
    for i, payload in enumerate(corpus):
        writer.writerow(
            [str(i + 1), payload[:200], payload[:200], f"2026-11-29T10:{i % 60:02d}:00Z", CAMPAIGN]
        )
    path = tmp_path / "hostile.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    import_file(live.web.ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    with live.web.ctx.store.transaction() as tx:
        first = tx.posts_by_keys([("twitter", "1")])[0]
    page = live.sign_in("ana")
    hooks = watch(page, live.url)
    response = page.goto(f"/posts/{first.id}/graph")
    assert response is not None and response.status == 200
    # expect() polls from Playwright's own isolated script, not by eval in the page: the page's CSP
    # (no 'unsafe-eval') refuses wait_for_function's string predicates once polling starts.
    expect(page.locator("#cluster-graph-status")).not_to_contain_text("Loading", timeout=15_000)
    page.wait_for_timeout(300)  # let a payload that got loose have its chance
    assert served_html_problems(response.text()) == []
    accounts = page.locator("table.graph-accounts tbody tr").count()
    assert accounts > 20, f"only {accounts} hostile accounts were drawn"
    screenshot(page, "cluster-graph-xss")
    assert hooks.problems(page) == [] and hooks.console_errors == []
