"""The search page: purpose picker, inline query errors, facets and volume, highlights, export, API."""

from __future__ import annotations

import csv
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.services_layer.conftest import ctx  # noqa: F401  (SQLite and PostgreSQL)
from tests.web.conftest import Client, Web
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.query.parser import parse_query
from watchfloor.services.console_search import search_page
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.store.ports import Store
from watchfloor.web.security import BASIS_COOKIE

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> flood'
# (id, author, time, text, lang, platform, hashtags, urls)
ROWS = [
    ("1", "ana_w", "2012-10-29T20:00:00Z", "Trapped on the roof, flood water rising", "en", "twitter",
     "sandy", "https://news.example.com/a"),
    ("2", "bo_x", "2012-10-29T21:00:00Z", "Flood in the subway #sandy", "en", "bluesky", "sandy", ""),
    ("3", "cy_z", "2012-10-30T09:00:00Z", "Inondation partout, flood", "fr", "twitter", "",
     "https://example.org/b"),
    ("4", "cy_z", "2012-10-31T09:00:00Z", HOSTILE, "en", "twitter", "", ""),
    ("5", "dd", "2012-10-31T10:00:00Z", "Lovely sunset over the river", "en", "twitter", "", ""),
]  # fmt: skip


def _seed(web: Web, tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "author", "created_at", "text", "lang", "platform", "hashtags", "urls"])
        writer.writerows(ROWS)
    import_file(web.ctx, actor=ANA, path=path, format_name="csv", options=MapOptions())


def _events(web: Web) -> list[tuple[str, str, str]]:
    with web.ctx.store.transaction() as tx:
        found = tx.audit_events(limit=1000)
    return [(e.actor, e.action, e.outcome) for e in reversed(found)]


def _page(response_text: str) -> HTMLParser:
    return HTMLParser(response_text)


def _facet(tree: HTMLParser, name: str) -> dict[str, int]:
    section = tree.css_first(f'section[data-facet="{name}"]')
    assert section is not None, name
    return {li.css_first("a").text(): int(li.css_first(".count").text()) for li in section.css("li")}


def _no_basis(web: Web) -> Client:
    browser = web.client("ana")
    browser.cookies.delete(BASIS_COOKIE)
    return browser


def test_without_a_basis_the_page_shows_the_picker_and_picking_one_returns_to_the_search(
    web: Web, tmp_path: Path
) -> None:
    _seed(web, tmp_path)
    browser = _no_basis(web)
    page = browser.get("/search?q=flood")
    assert page.status_code == 200
    tree = _page(page.text)
    form = tree.css_first('form[action="/basis"]')
    assert form is not None and tree.css_first("table.results") is None
    assert form.css_first('input[name="next"]').attributes["value"] == "/search?q=flood"
    options = [o.attributes["value"] for o in form.css("option")]
    assert options == [str(web.basis)]
    picked = browser.post_form("/basis", {"basis": web.basis, "next": "/search?q=flood"})
    assert picked.status_code == 303 and picked.headers["location"] == "/search?q=flood"
    results = browser.get("/search?q=flood")
    assert results.status_code == 200 and _page(results.text).css("tr[data-row]")
    assert f'data-basis-id="{web.basis}"' in results.text


def test_results_facets_and_volume_match_the_store(web: Web, tmp_path: Path) -> None:
    _seed(web, tmp_path)
    browser = web.client("ana")
    before = len(_events(web))
    page = browser.get("/search?q=flood")
    assert page.status_code == 200
    events = _events(web)[before:]
    assert events == [("ana", "posts.search", "ok")]  # one request, one event
    tree = _page(page.text)
    assert len(tree.css("tr[data-row]")) == 4
    assert "<strong>4</strong> matching posts" in page.text
    assert _facet(tree, "platform") == {"twitter": 3, "bluesky": 1}
    assert _facet(tree, "language") == {"en": 3, "fr": 1}
    assert _facet(tree, "hashtag") == {"sandy": 2}
    assert _facet(tree, "domain") == {"example.com": 1, "example.org": 1}
    assert _facet(tree, "account") == {"cy_z": 2, "ana_w": 1, "bo_x": 1}
    assert _facet(tree, "date") == {"2012-10-29": 2, "2012-10-30": 1, "2012-10-31": 1}
    chart = tree.css_first(".chart[data-series]")
    assert chart is not None
    series = json.loads(chart.attributes["data-series"] or "")
    assert series["y"] == [2, 1, 1] and series["x"][0] == 1351468800  # 2012-10-29 00:00 UTC
    # A facet link narrows the query; the numbers agree with the API.
    link = tree.css_first('section[data-facet="language"] a').attributes["href"]
    assert link == "/search?q=flood+lang%3Aen"
    api = browser.get("/api/search", params={"q": "flood"}).json()
    assert api["total"] == 4 and {f["value"]: f["count"] for f in api["facets"]["platform"]} == {
        "twitter": 3,
        "bluesky": 1,
    }
    assert [(d["day"], d["count"]) for d in api["volume"]] == [
        ("2012-10-29", 2),
        ("2012-10-30", 1),
        ("2012-10-31", 1),
    ]


def test_highlights_use_mark_and_hostile_text_stays_text(web: Web, tmp_path: Path) -> None:
    _seed(web, tmp_path)
    page = web.client("ana").get("/search?q=flood")
    tree = _page(page.text)
    marks = [m.text().casefold() for m in tree.css("td.post-text mark")]
    assert marks and set(marks) == {"flood"}
    assert "<script>alert" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;alert(" in page.text and not tree.css("[onerror]")
    assert not [s for s in tree.css("script") if not s.attributes.get("src")]  # no inline script
    assert tree.css_first('a[href^="/posts/"]') is not None


def test_a_query_error_is_shown_in_the_form_with_a_caret(web: Web, tmp_path: Path) -> None:
    browser = web.client("ana")
    page = browser.get("/search", params={"q": "flood AND (water"})
    assert page.status_code == 422
    tree = _page(page.text)
    assert tree.css_first('input[name="q"]').attributes["value"] == "flood AND (water"
    caret = tree.css_first(".query-error pre.caret").text()
    query_line, caret_line = caret.split("\n")
    assert query_line == "flood AND (water" and caret_line.strip() == "^"
    assert ("ana", "posts.search", "error") in _events(web)


def test_pagination(web: Web, tmp_path: Path) -> None:
    _seed(web, tmp_path)
    browser = web.client("ana")
    from watchfloor.web.routes import search as search_routes

    old = search_routes.PAGE_SIZE
    search_routes.PAGE_SIZE = 3
    try:
        first = _page(browser.get("/search?q=flood").text)
        assert len(first.css("tr[data-row]")) == 3
        older = first.css_first('a[rel="next"]').attributes["href"]
        second = _page(browser.get(older).text)
        assert len(second.css("tr[data-row]")) == 1 and second.css_first('a[rel="prev"]') is not None
    finally:
        search_routes.PAGE_SIZE = old


def test_export_through_the_form_awaits_a_reviewer(web: Web, tmp_path: Path) -> None:
    _seed(web, tmp_path)
    browser = web.client("ana")
    done = browser.post_form(
        "/search/export", {"q": "flood", "recipient": "Rescue cell", "title": "Flood posts", "format": "csv"}
    )
    assert done.status_code == 200 and "awaiting a reviewer" in done.text
    export_id = int(_page(done.text).css_first("[data-export-id]").attributes["data-export-id"] or 0)
    with web.ctx.store.transaction() as tx:
        found = tx.get_dissemination(export_id)
    assert found is not None and found.status == "pending" and found.item_count == 4
    assert found.author == "ana" and found.recipient == "Rescue cell"
    fragment = browser.hx(
        "POST", "/search/export", data={"q": "sunset", "recipient": "Desk", "title": "Sunsets"}
    )
    assert (
        fragment.status_code == 200
        and "<html" not in fragment.text
        and "awaiting a reviewer" in fragment.text
    )


@pytest.mark.parametrize("name", ["rita", "audrey"])
def test_roles_without_search_get_403(web: Web, tmp_path: Path, name: str) -> None:
    _seed(web, tmp_path)
    browser = web.client(name)
    assert browser.get("/search?q=flood").status_code == 403
    assert browser.get("/api/search?q=flood").status_code == 403
    assert (name, "posts.search", "denied") in _events(web)


# -- the composite service on both stores ------------------------------------------------------------


@pytest.mark.parametrize("query", ["flood", "flood NEAR/5 water", "flood -lang:fr", "-sunset"])
def test_facets_equal_direct_counts_on_both_stores(ctx: ServiceContext, tmp_path: Path, query: str) -> None:  # noqa: F811
    path = tmp_path / "posts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "author", "created_at", "text", "lang", "platform", "hashtags", "urls"])
        writer.writerows(ROWS)
    import_file(ctx, actor=ANA, path=path, format_name="csv", options=MapOptions())
    page = search_page(ctx, actor=ANA, query=query, basis_id=1, session_key="s1")
    facets = page.facets

    def count(extra: str) -> int:
        with ctx.store.transaction() as tx:
            return tx.count(parse_query(f"({query}) {extra}"))

    assert page.total == facets.scanned == sum(n for _, n in facets.per_day) == len(page.hits)
    assert page.total > 0
    for facet in facets.platforms:
        assert facet.count == count(f"platform:{facet.value}")
    for facet in facets.languages:
        assert facet.count == count(f"lang:{facet.value}")
    for facet in facets.hashtags:
        assert facet.count == count(f"#{facet.value}")
    for facet in facets.domains:
        assert facet.count == count(f"domain:{facet.value}")
    for facet in facets.accounts:
        assert facet.count == count(f"from:{facet.value}")
    for day, n in facets.per_day:
        assert n == count(f"since:{day:%Y-%m-%d} until:{day + timedelta(days=1):%Y-%m-%d}")


def test_a_search_reads_without_holding_the_writer_so_other_pages_do_not_wait(
    web: Web, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broad search's count and facets take a while; on SQLite every other page's audit event would
    wait for the single writer if the search read inside its write transaction."""
    from watchfloor.store.sqlstore import SqlTx

    _seed(web, tmp_path)
    store = web.ctx.store
    other_writes: list[bool] = []
    facets = SqlTx.search_facets

    def facets_while_another_page_writes(self: SqlTx, *args: object, **kwargs: object) -> object:
        writer = threading.Thread(target=lambda: other_writes.append(_write_once(store)))
        writer.start()
        writer.join(timeout=10)  # a writer held by this search would block it until the search ends
        other_writes.append(not writer.is_alive())
        return facets(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlTx, "search_facets", facets_while_another_page_writes)
    page = search_page(web.ctx, actor=ANA, query="flood", basis_id=1, session_key="s1")
    assert page.total == 4
    assert other_writes == [True, True]


def _write_once(store: Store) -> bool:
    with store.transaction() as tx:
        tx.add_handover_note(author="bo", text="written during a search", at=NOW)
    return True
