"""The RSS/Atom/JSON Feed connector against the loopback fake server: mapping, conditional GET, faults."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import msgspec
import pytest

from tests.live.conftest import FakeFeeds
from watchfloor.connectors.live.http import ReadOnlyHttp
from watchfloor.connectors.live.registry import build
from watchfloor.connectors.live.rss import RssConnector
from watchfloor.domain.errors import ConfigError, Permanent, Transient

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def connector(feeds: FakeFeeds, path: str, timeout: float = 5.0) -> RssConnector:
    http = ReadOnlyHttp(httpx2.Client(timeout=timeout))
    return RssConnector(feeds.url(path), http=http, every=300, now=lambda: NOW)


def test_rss2_items_map_to_posts(feeds: FakeFeeds) -> None:
    batch = connector(feeds, "/rss2.xml").fetch(None)
    posts = {e.post.native_id: e.post for e in batch.envelopes if e.post}
    assert set(posts) == {
        "https://example.org/news/river",
        feeds.url("/rss2.xml") + "#42",  # a non-URL guid is scoped to its feed
        "https://example.org/news/roads",  # no guid: keyed by link
    }
    river = posts["https://example.org/news/river"]
    assert river.platform == "rss" and river.source == "rss" and river.source_version == "1"
    assert river.title == "River level rising near the bridge"
    assert river.text == "The flood warning was raised at noon."  # HTML reduced to text
    assert river.created_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert river.langs == ("en",) and river.conversation == "City Desk"
    assert river.media[0].kind == "image" and river.media[0].url == "https://example.org/media/river.jpg"
    assert river.author_id is None  # feeds name authors, they do not identify accounts
    assert batch.quarantined == []
    assert batch.next_wake is not None and (batch.next_wake - NOW).total_seconds() == 300


def test_atom_maps_and_quarantines_an_entry_without_id_or_link(feeds: FakeFeeds) -> None:
    batch = connector(feeds, "/atom.xml").fetch(None)
    (storm,) = [e.post for e in batch.envelopes if e.post]
    assert storm.native_id == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert storm.text == "Winds of 90 km/h expected tonight." and storm.author_name == "Sam Forecaster"
    assert storm.edited_at == datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    (bad,) = batch.quarantined
    assert "neither a guid/id nor a link" in bad.reason and bad.location.index == 1


def test_json_feed_maps_verbatim_and_quarantines_an_item_without_id(feeds: FakeFeeds) -> None:
    batch = connector(feeds, "/feed.json").fetch(None)
    (envelope,) = batch.envelopes
    post = envelope.post
    assert post is not None and post.native_id == "https://example.net/u/1"
    assert post.langs == ("es",) and post.author_name == "Ana Voluntaria"
    assert post.media[0].kind == "video"
    assert msgspec.json.decode(envelope.raw)["title"] == "Refugio abierto"  # kept as received
    assert "neither an id nor a url" in batch.quarantined[0].reason


def test_refetch_with_etag_gets_304_and_nothing_new(feeds: FakeFeeds) -> None:
    rss = connector(feeds, "/rss2.xml")
    first = rss.fetch(None)
    assert first.next_cursor is not None and "etag" in first.next_cursor
    again = rss.fetch(first.next_cursor)
    assert again.envelopes == () and again.next_cursor is None  # None: keep the committed cursor
    path, headers = feeds.requests[-1]
    assert path == "/rss2.xml" and headers["If-None-Match"] == msgspec.json.decode(first.next_cursor)["etag"]
    assert headers["If-Modified-Since"] == "Mon, 30 Nov 2026 11:00:00 GMT"


def test_429_is_transient_with_retry_after(feeds: FakeFeeds) -> None:
    feeds.fail("/rss2.xml", "429")
    with pytest.raises(Transient) as caught:
        connector(feeds, "/rss2.xml").fetch(None)
    assert caught.value.retry_after == 7


def test_500_is_transient(feeds: FakeFeeds) -> None:
    feeds.fail("/rss2.xml", "500")
    with pytest.raises(Transient, match="HTTP 500"):
        connector(feeds, "/rss2.xml").fetch(None)


def test_a_response_slower_than_the_timeout_is_transient(feeds: FakeFeeds) -> None:
    feeds.fail("/rss2.xml", "slow")
    with pytest.raises(Transient, match="timed out"):
        connector(feeds, "/rss2.xml", timeout=0.3).fetch(None)


def test_a_page_that_is_no_feed_is_permanent_with_the_reason(feeds: FakeFeeds) -> None:
    feeds.fail("/rss2.xml", "malformed")
    with pytest.raises(Permanent, match="not a readable feed"):
        connector(feeds, "/rss2.xml").fetch(None)


def test_missing_feed_is_permanent(feeds: FakeFeeds) -> None:
    with pytest.raises(Permanent, match="404"):
        connector(feeds, "/gone.xml").fetch(None)


def test_forward_paging_follows_next_links(feeds: FakeFeeds) -> None:
    feeds.paged_total = 1200
    paged = RssConnector(feeds.url("/paged"), every=300, follow_next=True, now=lambda: NOW)
    cursor, seen = None, 0
    for _ in range(3):
        batch = paged.fetch(cursor)
        seen += len(batch.envelopes)
        cursor = batch.next_cursor
    assert seen == 1200 and batch.next_wake is not None  # the last page: poll it again later
    assert msgspec.json.decode(cursor or "{}")["url"].endswith("page=2")


def test_registry_builds_rss_and_checks_its_config() -> None:
    built = build("rss", {"url": "https://example.org/feed.xml", "every": 600})
    assert isinstance(built, RssConnector) and built.every == 600
    built.close()
    with pytest.raises(ConfigError, match="--url"):
        build("rss", {"url": "ftp://example.org/feed"})
    with pytest.raises(ConfigError, match="at least 60"):
        build("rss", {"url": "https://example.org/feed.xml", "every": 5})
