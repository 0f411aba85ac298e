"""The alert and post views: safe rendering, "why this alert", context, and the repeated-viewing rule."""

from __future__ import annotations

from pathlib import Path

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.web.alerts_data import add_rescue_rule, audit_size, events, import_tweets, tweet
from tests.web.conftest import Web
from watchfloor.store.ports import AlertFilter

HOSTILE = 'Trapped! <script>alert("x")</script><img src=x onerror=alert(1)> help'
MEDIA = {
    "extended_entities": {
        "media": [
            {
                "type": "photo",
                "media_url_https": "https://pbs.example/evil.jpg",
                "ext_alt_text": '"><script>alert(2)</script>',
                "id_str": "9",
            }
        ]
    }
}


def _thread(web: Web, tmp_path: Path) -> dict[str, int]:
    """A root post, a hostile reply that raises an alert (with a photo), and a reply to that."""
    add_rescue_rule(web)
    import_tweets(
        web,
        tmp_path,
        [
            tweet("100", "root_acct", "Is the bridge open?"),
            tweet("101", "helper", HOSTILE, reply_to="100", minute=5, **MEDIA),
            tweet("102", "root_acct", "Sending a boat", reply_to="101", minute=9),
            tweet("103", "helper", "Another post from the same account", minute=20),
        ],
    )
    with web.ctx.store.transaction() as tx:
        found = tx.posts_by_keys([("twitter", n) for n in ("100", "101", "102", "103")])
        alert = tx.list_alerts(AlertFilter())[0]
    ids = {p.post.native_id: p.id for p in found}
    return {**ids, "alert": alert.id}


def _no_foreign_scripts(html: str) -> None:
    dom = HTMLParser(html)
    for script in dom.css("script"):
        assert str(script.attributes.get("src") or "").startswith("/static/"), script.html
    assert not [n for n in dom.css("*") if any(a.startswith("on") for a in n.attributes)]
    assert dom.css("img") == []  # media are links, never loaded from the platform


def test_the_alert_view_highlights_why_and_renders_hostile_text_inert(web: Web, tmp_path: Path) -> None:
    ids = _thread(web, tmp_path)
    browser = web.client("ana")
    before = audit_size(web)
    page = browser.get(f"/alerts/{ids['alert']}")
    assert page.status_code == 200 and audit_size(web) == before + 1
    event = events(web)[-1]
    assert event.action == "alerts.show" and event.basis_id == web.basis
    assert f"post:{ids['101']}" in event.object_ids and f"post:{ids['100']}" in event.object_ids
    _no_foreign_scripts(page.text)
    dom = HTMLParser(page.text)
    text = dom.css_first(".post .post-text")
    assert text is not None and "<script>" in text.text()  # shown as text, exactly as written
    assert "&lt;script&gt;" in page.text
    assert [m.text() for m in text.css("mark")] == ["Trapped"]
    why = dom.css_first(".why")
    assert (
        why is not None and "Rescue" in why.text() and "version 1" in why.text() and "stranded" in why.text()
    )
    link = dom.css_first("a.platform-link")
    assert link is not None and link.attributes["rel"] == "noopener noreferrer"
    assert link.attributes["target"] == "_blank" and "twitter.com/helper/status/101" in str(
        link.attributes["href"]
    )
    media = dom.css_first("ul.media a")
    assert media is not None and media.attributes["rel"] == "noopener noreferrer"
    assert '"><script>alert(2)</script>' in media.text()
    raw = dom.css_first("details pre.raw")
    assert raw is not None and '"in_reply_to_status_id_str": "100"' in raw.text()


def test_the_post_view_shows_the_thread_and_needs_a_legal_basis(web: Web, tmp_path: Path) -> None:
    ids = _thread(web, tmp_path)
    browser = web.client("ana")
    browser.cookies.delete("wf_basis")
    picker = browser.get(f"/posts/{ids['101']}")
    assert picker.status_code == 200 and 'action="/basis"' in picker.text
    assert events(web)[-1].action != "posts.view"
    browser.cookies.set("wf_basis", str(web.basis))
    page = browser.get(f"/posts/{ids['101']}")
    assert page.status_code == 200
    _no_foreign_scripts(page.text)
    dom = HTMLParser(page.text)
    lists = [[a.text() for a in ul.css("a")] for ul in dom.css("ul.post-list")]
    assert [f"#{ids['100']}"] in lists  # the post it replies to
    assert [f"#{ids['102']}"] in lists  # the reply to it
    event = events(web)[-1]
    assert event.action == "posts.view" and event.basis_id == web.basis and event.details["replies"] == 1
    api = browser.get(f"/api/posts/{ids['101']}").json()
    assert api["post"]["text"] == HOSTILE and [p["native_id"] for p in api["parents"]] == ["100"]
    assert browser.get(f"/api/alerts/{ids['alert']}").json()["matched"] == ["Trapped"]


def test_a_reviewer_cannot_open_alerts_or_posts(web: Web, tmp_path: Path) -> None:
    ids = _thread(web, tmp_path)
    rita = web.client("rita")
    assert rita.get(f"/alerts/{ids['alert']}").status_code == 403
    assert rita.get(f"/posts/{ids['101']}").status_code == 403
    assert events(web)[-1].outcome == "denied"


def test_the_accounts_other_posts_count_as_a_look_and_are_refused_past_the_threshold(
    web: Web, tmp_path: Path
) -> None:
    ids = _thread(web, tmp_path)
    limit = web.ctx.settings.view_threshold_sessions
    for _ in range(limit):  # each sign-in is a new session
        shown = web.client("ana").hx("GET", f"/posts/{ids['101']}/account")
        assert shown.status_code == 200
        assert [a.text() for a in HTMLParser(shown.text).css("ul.post-list a")] == [f"#{ids['103']}"]
        assert events(web)[-1].action == "accounts.view"
    refused = web.client("ana").get(f"/posts/{ids['101']}/account")
    assert refused.status_code == 403 and "watch" in refused.text
    assert (events(web)[-1].action, events(web)[-1].outcome) == ("accounts.view", "denied")
    again = web.client("bo").get(f"/posts/{ids['101']}/account")  # another analyst counts separately
    assert again.status_code == 200
