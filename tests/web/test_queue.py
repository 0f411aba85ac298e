"""The alert queue: the page, filters, triage actions through htmx, bulk dismissal, the live stream."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.web.alerts_data import add_rescue_rule, audit_size, events, import_rows
from tests.web.conftest import Web

ROWS = [
    {
        "id": "1",
        "author": "ana_w",
        "created_at": "2012-10-29T20:00:00Z",
        "text": "We are trapped on the roof",
        "lang": "en",
    },
    {
        "id": "2",
        "author": "bo_x",
        "created_at": "2012-10-29T20:05:00Z",
        "text": "Sunset over the river",
        "lang": "en",
    },
    {
        "id": "3",
        "author": "cy_z",
        "created_at": "2012-10-29T20:10:00Z",
        "text": "Stranded at the station, la gare",
        "lang": "fr",
    },
]


def _queue_ids(html: str) -> list[int]:
    return [
        int(str(row.attributes["id"]).removeprefix("alert-")) for row in HTMLParser(html).css("tr[data-row]")
    ]


def _cell(fragment: str) -> str:
    """The text of a returned table cell (a bare <td> only parses inside a table row)."""
    cell = HTMLParser(f"<table><tbody><tr>{fragment}</tr></tbody></table>").css_first("td.state")
    assert cell is not None, fragment
    return cell.text()


def _alerts(web: Web, tmp_path: Path) -> tuple[int, int]:
    rescue = add_rescue_rule(web)
    sunset = add_rescue_rule(web, name="Sunset", query="sunset", severity="low")
    assert import_rows(web, tmp_path, ROWS) == 3
    return rescue, sunset


def test_the_queue_lists_alerts_by_time_left_with_countdowns_and_one_event(web: Web, tmp_path: Path) -> None:
    _alerts(web, tmp_path)
    browser = web.client("ana")
    before = audit_size(web)
    page = browser.get("/")
    assert page.status_code == 200
    assert audit_size(web) == before + 1 and events(web)[-1].action == "alerts.list"
    dom = HTMLParser(page.text)
    ids = _queue_ids(page.text)
    assert len(ids) == 3
    first = dom.css_first("tr[data-row]")
    assert first is not None and "Rescue" in first.text()  # high severity: the soonest deadline first
    assert len(dom.css("span.countdown[data-deadline]")) == 3
    assert dom.css_first("tbody[sse-connect]") is not None
    for key in ("c", "d", "e"):
        assert len(dom.css(f'tr[data-row] [data-key="{key}"]')) == 3


def test_a_long_queue_shows_its_most_urgent_alerts_first_and_more_on_request(
    web: Web, tmp_path: Path
) -> None:
    _alerts(web, tmp_path)
    browser = web.client("ana")
    assert "Show more" not in browser.get("/").text  # 3 alerts: all on the first page
    first = browser.get("/?severity=&limit=2")
    assert len(_queue_ids(first.text)) == 2
    link = HTMLParser(first.text).css_first("p.queue-more a")
    assert link is not None
    more = str(link.attributes["href"])
    assert "limit=102" in more and "severity=" in more  # the filters are kept
    wider = browser.get(more)
    assert len(_queue_ids(wider.text)) == 3 and "Show more" not in wider.text
    assert events(web, "alerts.list")[-1].details["limit"] == 102
    stream = HTMLParser(first.text).css_first("tbody[sse-connect]")
    assert stream is not None and "limit" not in str(stream.attributes["sse-connect"])
    assert browser.get("/?limit=0").status_code == 422


def test_the_queue_is_refused_to_a_reviewer(web: Web, tmp_path: Path) -> None:
    _alerts(web, tmp_path)
    refused = web.client("rita").get("/")
    assert refused.status_code == 403 and "analyst" in refused.text
    assert events(web, "alerts.list")[-1].outcome == "denied"
    assert web.client("rita").get("/api/alerts").status_code == 403


def test_filters_narrow_the_queue(web: Web, tmp_path: Path) -> None:
    rescue, sunset = _alerts(web, tmp_path)
    browser = web.client("ana")
    assert len(_queue_ids(browser.get("/?severity=low").text)) == 1
    assert len(_queue_ids(browser.get(f"/?rule={rescue}").text)) == 2
    assert len(_queue_ids(browser.get("/?lang=fr").text)) == 1
    assert len(_queue_ids(browser.get("/?platform=reddit").text)) == 0
    assert browser.get("/?status=nonsense").status_code == 422
    api = browser.get("/api/alerts", params={"rule": sunset}).json()
    assert [row["rule_name"] for row in api] == ["Sunset"]
    assert api[0]["post"]["text"] == "Sunset over the river"


def test_claim_dismiss_and_escalate_through_htmx(web: Web, tmp_path: Path) -> None:
    _alerts(web, tmp_path)
    ana, bo = web.client("ana"), web.client("bo")
    first, second, third = _queue_ids(ana.get("/").text)
    assert ana.post(f"/alerts/{first}/claim", headers={"HX-Request": "true"}).status_code == 403  # no CSRF
    before = audit_size(web)
    claimed = ana.hx("POST", f"/alerts/{first}/claim")
    assert claimed.status_code == 200 and audit_size(web) == before + 1
    assert "claimed" in _cell(claimed.text) and "ana" in _cell(claimed.text)
    taken = bo.hx("POST", f"/alerts/{first}/claim")
    assert taken.status_code == 409 and "claimed by ana" in taken.text
    assert bo.hx("POST", f"/alerts/{first}/dismiss", data={"disposition": "resolved"}).status_code == 403
    dismissed = ana.hx(
        "POST", f"/alerts/{first}/dismiss", data={"disposition": "false_positive", "note": "lyrics"}
    )
    assert dismissed.status_code == 200 and "false positive" in _cell(dismissed.text)
    assert ana.hx("POST", f"/alerts/{second}/dismiss", data={"disposition": "bogus"}).status_code == 422
    escalated = bo.hx("POST", f"/alerts/{second}/escalate")
    assert escalated.status_code == 200 and "escalated" in _cell(escalated.text)
    assert _queue_ids(ana.get("/").text) == [third]  # closed alerts leave the active queue
    assert sorted(_queue_ids(ana.get("/?status=all").text)) == sorted([first, second, third])
    plain = ana.post_form(f"/alerts/{third}/claim")  # without htmx: the form posts and redirects
    assert plain.status_code == 303 and plain.headers["location"] == f"/alerts/{third}"
    api = ana.post(f"/api/alerts/{third}/escalate", headers={"X-CSRF-Token": ana.csrf}, json={"note": "up"})
    assert api.status_code == 200 and api.json()["status"] == "escalated"


def test_near_duplicates_in_one_cluster_are_dismissed_together(web: Web, tmp_path: Path) -> None:
    add_rescue_rule(web)
    add_rescue_rule(web, name="Roof", query="roof", severity="medium")
    import_rows(web, tmp_path, ROWS[:1])
    browser = web.client("ana")
    page = HTMLParser(browser.get("/").text)
    bulk = page.css_first("form.cluster-bulk")
    assert bulk is not None and "Dismiss all 2" in bulk.text()
    ids = [int(str(i.attributes["value"])) for i in bulk.css('input[name="alert_ids"]')]
    before = audit_size(web)
    done = browser.hx("POST", "/alerts/dismiss", data={"alert_ids": ids, "disposition": "duplicate"})
    assert done.status_code == 200 and done.headers.get("HX-Refresh") == "true"
    assert audit_size(web) == before + 1
    event = events(web)[-1]
    assert event.action == "alerts.dismiss" and set(event.object_ids) == {f"alert:{i}" for i in ids}
    assert _queue_ids(browser.get("/").text) == []
    again = browser.hx("POST", "/alerts/dismiss", data={"alert_ids": ids, "disposition": "duplicate"})
    assert again.status_code == 409


def _read_events(response: object, into: queue.Queue[str]) -> None:
    try:
        for line in response.iter_lines():  # type: ignore[attr-defined]
            into.put(line)
    except Exception:  # the test closed the stream
        pass
    into.put("<closed>")


def test_a_new_alert_arrives_on_the_live_stream(web: Web, tmp_path: Path) -> None:
    add_rescue_rule(web)
    browser = web.client("ana")
    lines: queue.Queue[str] = queue.Queue()
    with browser.stream("GET", "/events/queue") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = threading.Thread(target=_read_events, args=(response, lines), daemon=True)
        reader.start()
        assert lines.get(timeout=10).startswith("retry:")
        assert [e.outcome for e in events(web, "alerts.watch")] == ["ok"]
        import_rows(web, tmp_path, [{**ROWS[0], "text": "Trapped <script>alert(1)</script> on the roof"}])
        received: list[str] = []
        while not any(line.startswith("event: alert") for line in received):
            received.append(lines.get(timeout=10))
        data = lines.get(timeout=10)
        while not data.startswith("data:"):
            data = lines.get(timeout=10)
        collected = [data]
        while (line := lines.get(timeout=10)) != "":
            collected.append(line)
        row = "\n".join(line.removeprefix("data: ") for line in collected)
        dom = HTMLParser(f"<table><tbody>{row}</tbody></table>")
        assert dom.css_first("tr[data-row]") is not None and dom.css_first("script") is None
        assert "&lt;script&gt;" in row
        assert any(line.startswith("id: ") for line in received)
    reader.join(timeout=10)
    assert not reader.is_alive()  # the stream ended when the client closed it
    pushed = [e for e in events(web, "alerts.list") if e.details.get("live")]
    assert len(pushed) == 1 and any(o.startswith("alert:") for o in pushed[0].object_ids)


def test_the_live_stream_resumes_after_the_last_event_id(web: Web, tmp_path: Path) -> None:
    add_rescue_rule(web)
    import_rows(web, tmp_path, ROWS)
    browser = web.client("ana")
    lines: queue.Queue[str] = queue.Queue()
    with browser.stream("GET", "/events/queue", headers={"Last-Event-ID": "0"}) as response:
        threading.Thread(target=_read_events, args=(response, lines), daemon=True).start()
        seen: list[str] = []
        while sum(line.startswith("event: alert") for line in seen) < 2:
            seen.append(lines.get(timeout=10))
    assert events(web, "alerts.watch")[-1].details["after_id"] == 0
