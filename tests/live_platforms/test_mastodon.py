"""Mastodon live connector against a loopback fake instance serving a constructed (CC0) hashtag timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.live_platforms.conftest import FakeMastodon, Reply
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.mastodon import MastodonConnector
from watchfloor.connectors.mastodon.mapping import map_status_line
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Post

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TAG = "/api/v1/timelines/tag/flood"


def connector(fake: FakeMastodon, **config: object) -> MastodonConnector:
    built = registry.build("mastodon", {"instance": fake.url, "hashtag": "#flood", "limit": 3, **config})
    assert isinstance(built, MastodonConnector)
    built.clock = FrozenClock(NOW)
    return built


def ids(statuses: list[dict[str, object]]) -> list[str]:
    return [str(s["id"]) for s in statuses]


def posts_of(batch: Batch) -> list[Post]:
    return [e.post for e in batch.envelopes if e.post is not None]


def importer_posts(statuses: list[dict[str, object]]) -> list[Post]:
    """What ``watchfloor import`` maps the same statuses to, saved as one page (the importer's mapper)."""
    items = map_status_line(orjson.dumps(statuses), Location(source="file"), MapOptions())
    return [i.post for i in items if isinstance(i, Envelope) and i.post is not None]


def test_the_first_fetch_reads_the_newest_page_and_maps_it_like_the_importer(mastodon: FakeMastodon) -> None:
    batch = connector(mastodon).fetch(None)

    newest_first = list(reversed(mastodon.statuses[:5]))
    assert [r.params for r in mastodon.requests] == [{"limit": "3"}]
    assert mastodon.requests[0].path == TAG
    assert posts_of(batch) == importer_posts(newest_first[:3])
    assert batch.next_cursor == newest_first[0]["id"]  # from Link rel="prev"
    assert batch.next_wake == NOW + timedelta(seconds=60)


def test_new_statuses_are_read_oldest_page_first_through_link_paging(mastodon: FakeMastodon) -> None:
    source = connector(mastodon)
    cursor = source.fetch(None).next_cursor
    mastodon.publish(7)  # 7 new statuses: pages of 3, 3 and 1
    batch = source.fetch(cursor)

    new = mastodon.statuses[5:12]
    assert [r.params.get("min_id") for r in mastodon.requests[1:]] == [cursor, *ids(new)[2::3]]
    assert len(mastodon.requests) == 4
    assert {p.native_id for p in posts_of(batch)} == {p.native_id for p in importer_posts(new)}
    assert batch.next_cursor == new[-1]["id"]
    assert batch.next_wake == NOW + timedelta(seconds=60)  # caught up: poll again later
    assert source.fetch(batch.next_cursor).next_cursor is None  # nothing new: the cursor stays


def test_a_backlog_larger_than_max_pages_asks_to_be_called_again_at_once(mastodon: FakeMastodon) -> None:
    source = connector(mastodon, max_pages=2)
    first = mastodon.statuses[0]["id"]
    mastodon.publish(7)
    batch = source.fetch(str(first))
    rest = source.fetch(batch.next_cursor)

    assert batch.next_wake is None
    assert batch.next_cursor == mastodon.statuses[6]["id"]
    assert rest.next_cursor == mastodon.statuses[11]["id"]
    seen = {p.native_id for p in posts_of(batch) + posts_of(rest)}
    assert seen == {p.native_id for p in importer_posts(mastodon.statuses[1:12])}


def test_private_statuses_are_skipped_and_reblogs_bring_their_original(mastodon: FakeMastodon) -> None:
    mastodon.publish(7)
    batch = connector(mastodon, limit=40).fetch(None)

    skipped = [e for e in batch.envelopes if e.post is None]
    assert [e.skipped_reason for e in skipped] == [
        "visibility 'direct' is not public; watchfloor imports public posts only"
    ]
    reposts = [p for p in posts_of(batch) if p.repost_of is not None]
    assert len(reposts) == 2
    assert {p.repost_of for p in reposts} <= {p.native_id for p in posts_of(batch)}


def test_an_edited_status_read_again_keeps_its_key_and_gains_edited_at(mastodon: FakeMastodon) -> None:
    original = dict(mastodon.statuses[4])  # the newest visible status, not edited yet
    edited = dict(original, edited_at="2026-11-30T11:59:00.000Z", content="<p>Corrected.</p>")
    first = posts_of(connector(mastodon).fetch(None))
    mastodon.statuses[4] = edited
    again = posts_of(connector(mastodon).fetch(None))

    before = next(p for p in first if p.native_id == original["uri"])
    after = next(p for p in again if p.native_id == original["uri"])
    assert before.edited_at is None
    assert after.key == before.key
    assert after.edited_at == datetime(2026, 11, 30, 11, 59, tzinfo=UTC)
    assert after.text == "Corrected."


def test_429_with_retry_after_is_transient_and_loses_nothing(mastodon: FakeMastodon) -> None:
    source = connector(mastodon)
    cursor = source.fetch(None).next_cursor
    mastodon.publish(2)
    mastodon.faults = [Reply(429, b'{"error":"Too many requests"}', {"Retry-After": "30"})]
    with pytest.raises(Transient) as raised:
        source.fetch(cursor)
    assert raised.value.retry_after == 30.0
    batch = source.fetch(cursor)
    assert {p.native_id for p in posts_of(batch)} == {
        p.native_id for p in importer_posts(mastodon.statuses[5:7])
    }


def test_a_5xx_after_the_first_page_returns_what_was_read(mastodon: FakeMastodon) -> None:
    source = connector(mastodon)
    cursor = source.fetch(None).next_cursor
    mastodon.publish(7)
    mastodon.faults = [Reply(200, *_page(mastodon, cursor)), Reply(502, b"Bad Gateway")]
    partial = source.fetch(cursor)
    assert partial.next_wake is None  # the runner calls again at once and meets the error itself
    assert partial.next_cursor == mastodon.statuses[7]["id"]
    rest = source.fetch(partial.next_cursor)

    seen = {p.native_id for p in posts_of(partial) + posts_of(rest)}
    assert seen == {p.native_id for p in importer_posts(mastodon.statuses[5:12])}


def test_a_5xx_on_the_first_page_is_transient(mastodon: FakeMastodon) -> None:
    mastodon.faults = [Reply(503, b"")]
    with pytest.raises(Transient, match="HTTP 503"):
        connector(mastodon).fetch(None)


def test_a_page_that_is_not_json_is_quarantined_whole(mastodon: FakeMastodon) -> None:
    source = connector(mastodon)
    mastodon.faults = [Reply(200, b'[{"id": "1", "uri": ')]
    batch = source.fetch("113000000000000101")

    assert batch.envelopes == []
    (bad,) = batch.quarantined
    assert bad.reason.startswith("not valid JSON")
    assert bad.raw == b'[{"id": "1", "uri": '
    assert batch.next_cursor is None  # no Link header: nowhere safe to move to, try again next poll


def test_a_malformed_page_with_a_link_header_is_passed(mastodon: FakeMastodon) -> None:
    link = f'<{mastodon.url}{TAG}?min_id=113000000000000104>; rel="prev"'
    mastodon.faults = [Reply(200, b"<html>maintenance</html>", {"Link": link})]
    batch = connector(mastodon).fetch("113000000000000101")
    assert len(batch.quarantined) == 1
    assert batch.next_cursor == "113000000000000104"


def test_a_bad_status_on_a_page_costs_only_that_status(mastodon: FakeMastodon) -> None:
    page = [*mastodon.statuses[0:2], {"id": "113000000000000099", "uri": "x", "created_at": "soon"}]
    mastodon.faults = [Reply(200, orjson.dumps(page))]
    batch = connector(mastodon, limit=40).fetch(None)
    assert len(posts_of(batch)) == 2
    assert [q.field for q in batch.quarantined] == ["created_at"]
    assert batch.next_cursor == "113000000000000102"  # the newest id, as no Link header came


def test_low_rate_limit_remaining_waits_for_the_reset(mastodon: FakeMastodon) -> None:
    source = connector(mastodon, min_remaining=10)
    cursor = source.fetch(None).next_cursor
    mastodon.publish(7)
    mastodon.remaining = 11  # the next response says 10 left
    batch = source.fetch(cursor)
    assert len(mastodon.requests) == 2  # stopped paging at once
    assert batch.next_wake == datetime(2026, 11, 30, 12, 5, tzinfo=UTC)
    assert batch.next_cursor == mastodon.statuses[7]["id"]


def test_a_token_is_sent_as_bearer_and_a_refused_one_is_permanent(mastodon: FakeMastodon) -> None:
    mastodon.token = "s3cret"
    config = {"instance": mastodon.url, "hashtag": "flood", "token_env": "MASTODON_TOKEN"}
    with_token = registry.build("mastodon", config, credentials={"MASTODON_TOKEN": "s3cret"})
    assert with_token.fetch(None).envelopes
    assert mastodon.requests[-1].authorization == "Bearer s3cret"
    with pytest.raises(Permanent, match="HTTP 401"):
        connector(mastodon).fetch(None)
    with pytest.raises(Permanent, match=r"MASTODON_TOKEN .* is not set"):
        registry.build("mastodon", config).fetch(None)


def test_a_token_written_into_the_settings_is_refused(mastodon: FakeMastodon) -> None:
    with pytest.raises(ConfigError, match="token must not be written in the source's settings"):
        connector(mastodon, token="s3cret")
    with pytest.raises(ConfigError, match="token_env must be the name of an environment variable"):
        connector(mastodon, token_env="s3cret-value")


def test_the_local_public_timeline(mastodon: FakeMastodon) -> None:
    config = {"url": mastodon.url + "/", "timeline": "local", "every": 300}  # as `sources add --url` gives it
    source = registry.build("mastodon", config)
    source.fetch(None)
    assert mastodon.requests[0].path == "/api/v1/timelines/public"
    assert mastodon.requests[0].params == {"local": "true", "limit": "40"}


def test_an_unreachable_instance_is_transient() -> None:
    source = registry.build("mastodon", {"instance": "http://127.0.0.1:9", "hashtag": "x"})
    with pytest.raises(Transient, match="connection failed"):
        source.fetch(None)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "instance must be the instance's address"),
        ({"instance": "https://mastodon.example/@alice"}, "instance must be"),
        ({"instance": "https://m.example", "timeline": "home"}, "timeline must be public, local or remote"),
        ({"instance": "https://m.example", "limit": 80}, "limit must be from 1 to 40"),
        ({"instance": "https://m.example", "every": "often"}, "every must be a whole number"),
        ({"instance": "https://m.example", "account": "alice"}, "unknown setting"),
    ],
)
def test_bad_configuration_says_what_to_fix(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.build("mastodon", config)


def _page(fake: FakeMastodon, min_id: str | None) -> tuple[bytes, dict[str, str]]:
    """The page the fake would serve for ``min_id``, as a body and headers to inject."""
    reply = fake.respond(TAG, {"limit": "3", "min_id": str(min_id)}, None)
    fake.requests.pop()
    fake.remaining += 1
    return reply.body, reply.headers
