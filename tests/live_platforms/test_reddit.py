"""Reddit live connector against a loopback fake Reddit replaying recorded listings (PRAW, BSD-2)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.live_platforms.conftest import Reply
from tests.live_platforms.reddit_fake import CLIENT_ID, CLIENT_SECRET, FakeReddit, reddit
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.reddit import RedditConnector
from watchfloor.connectors.reddit.mapping import map_listing
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Post

__all__ = ["reddit"]  # the fixture, imported so pytest finds it

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NEW = "askreddit/new"
ENV = {"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": CLIENT_SECRET}
CREDENTIALS = {"client_id_env": "REDDIT_CLIENT_ID", "client_secret_env": "REDDIT_CLIENT_SECRET"}


def connector(fake: FakeReddit, env: dict[str, str] | None = None, **config: object) -> RedditConnector:
    settings = {
        "subreddits": ["askreddit"],
        "listings": ["new"],
        **CREDENTIALS,
        "oauth_base": fake.url,
        "www_base": fake.url,
        **config,
    }
    built = registry.build("reddit", settings, credentials=ENV if env is None else env)
    assert isinstance(built, RedditConnector)
    built.clock = FrozenClock(NOW)
    return built


def names(things: list[dict[str, object]]) -> list[str]:
    return [str(t["data"]["name"]) for t in things]  # type: ignore[index]


def posts_of(batch: Batch) -> list[Post]:
    return [e.post for e in batch.envelopes if e.post is not None]


def importer_items(things: list[dict[str, object]]) -> list[Envelope]:
    """What ``watchfloor import`` maps a saved listing of ``things`` to (the importer's own mapper)."""
    listing = orjson.dumps({"kind": "Listing", "data": {"after": None, "children": things}})
    items = map_listing(listing, Location(source="file"), MapOptions())
    return [i for i in items if isinstance(i, Envelope)]


def newest_first(fake: FakeReddit, key: str = NEW) -> list[dict[str, object]]:
    return list(reversed(fake.listings[key][: fake.visible[key]]))


def test_a_token_is_requested_then_the_newest_page_is_read_and_mapped_like_the_importer(
    reddit: FakeReddit,
) -> None:
    batch = connector(reddit).fetch(None)

    token, listing = reddit.requests
    assert (token.method, token.path, token.params) == (
        "POST",
        "/api/v1/access_token",
        {"grant_type": "client_credentials"},
    )
    assert (listing.path, listing.params) == ("/r/askreddit/new", {"limit": "100", "raw_json": "1"})
    assert listing.authorization == "bearer token-1"
    shown = newest_first(reddit)
    assert posts_of(batch) == [e.post for e in importer_items(shown)]
    assert [e.raw for e in batch.envelopes] == [e.raw for e in importer_items(shown)]
    assert orjson.loads(batch.next_cursor or "") == {NEW: names(shown)[0]}
    assert batch.next_wake == NOW + timedelta(seconds=60)


def test_new_things_are_read_page_after_page_until_the_last_seen_fullname(reddit: FakeReddit) -> None:
    source = connector(reddit, limit=3)
    first = source.fetch(None)
    reddit.publish(NEW, 7)  # 7 new submissions: pages of 3, 3 and 1 (then the last seen one)
    batch = source.fetch(first.next_cursor)

    new = list(reversed(reddit.listings[NEW][4:11]))
    pages = [r.params.get("after") for r in reddit.gets[1:]]
    assert pages == [None, names(new)[2], names(new)[5]]
    assert [p.native_id for p in posts_of(batch)] == names(new)
    assert posts_of(batch) == [e.post for e in importer_items(new)]
    assert orjson.loads(batch.next_cursor or "") == {NEW: names(new)[0]}
    assert len(reddit.grants) == 1  # the token is kept until it expires


def test_a_second_fetch_with_nothing_new_returns_nothing_and_keeps_the_cursor(reddit: FakeReddit) -> None:
    source = connector(reddit)
    first = source.fetch(None)
    again = source.fetch(first.next_cursor)

    assert again.envelopes == [] and again.quarantined == []
    assert again.next_cursor is None
    assert again.next_wake == NOW + timedelta(seconds=60)


def test_paging_stops_at_an_older_thing_when_the_last_seen_one_was_deleted(reddit: FakeReddit) -> None:
    source = connector(reddit)
    cursor = source.fetch(None).next_cursor
    last_seen = reddit.listings[NEW].pop(3)  # deleted: the listing no longer holds it
    reddit.visible[NEW] = 3
    reddit.publish(NEW, 2)
    batch = source.fetch(cursor)

    assert names(reddit.listings[NEW][3:5]) == [p.native_id for p in reversed(posts_of(batch))]
    assert str(last_seen["data"]["name"]) not in [p.native_id for p in posts_of(batch)]  # type: ignore[index]


def test_a_low_rate_limit_stops_and_wakes_at_the_reset(reddit: FakeReddit) -> None:
    reddit.remaining = 4.0  # the next response says 3.0 remaining, below min_remaining 5
    batch = connector(reddit, subreddits=["askreddit", "all"], listings=["new", "comments"]).fetch(None)

    assert len(reddit.gets) == 1  # stopped after the first listing
    assert batch.next_wake == NOW + timedelta(seconds=42)
    assert len(posts_of(batch)) == 4


def test_429_with_retry_after_is_transient_with_that_delay(reddit: FakeReddit) -> None:
    reddit.faults.append(Reply(429, b"{}", {"Retry-After": "7"}))
    with pytest.raises(Transient) as raised:
        connector(reddit).fetch(None)
    assert raised.value.retry_after == 7.0


def test_5xx_is_transient(reddit: FakeReddit) -> None:
    reddit.faults.append(Reply(503, b"<html>upstream busy</html>"))
    with pytest.raises(Transient):
        connector(reddit).fetch(None)


def test_a_failure_after_one_listing_keeps_what_was_read_and_waits(reddit: FakeReddit) -> None:
    source = connector(reddit, subreddits=["askreddit", "all"], listings=["new"])
    reddit.faults.extend(
        [Reply(200, orjson.dumps(_listing(newest_first(reddit)))), Reply(503, b"", {"Retry-After": "30"})]
    )
    batch = source.fetch(None)

    assert len(posts_of(batch)) == 4
    assert orjson.loads(batch.next_cursor or "") == {NEW: names(newest_first(reddit))[0]}  # not all/new
    assert batch.next_wake == NOW + timedelta(seconds=30)


def test_a_failure_in_the_middle_of_paging_moves_no_cursor(reddit: FakeReddit) -> None:
    source = connector(reddit, limit=3)
    cursor = source.fetch(None).next_cursor
    reddit.publish(NEW, 7)
    page = newest_first(reddit)[:3]
    reddit.faults.extend([Reply(200, orjson.dumps(_listing(page, after=names(page)[-1]))), Reply(502, b"")])
    with pytest.raises(Transient):
        source.fetch(cursor)
    batch = source.fetch(cursor)  # the whole backlog again, nothing lost
    assert len(posts_of(batch)) == 7


def test_401_refreshes_the_token_once_then_retries(reddit: FakeReddit) -> None:
    source = connector(reddit)
    cursor = source.fetch(None).next_cursor
    reddit.revoke()
    reddit.publish(NEW, 1)
    batch = source.fetch(cursor)

    assert len(reddit.grants) == 2
    assert [r.authorization for r in reddit.gets[-2:]] == ["bearer token-1", "bearer token-2"]
    assert len(posts_of(batch)) == 1


def test_a_second_401_is_permanent_and_says_to_check_the_credentials(reddit: FakeReddit) -> None:
    reddit.faults.extend([Reply(401, b"{}"), Reply(401, b"{}")])
    with pytest.raises(Permanent, match="credentials"):
        connector(reddit).fetch(None)
    assert len(reddit.grants) == 2


def test_refused_credentials_are_permanent(reddit: FakeReddit) -> None:
    env = {**ENV, "REDDIT_CLIENT_SECRET": "wrong"}
    with pytest.raises(Permanent, match="401"):
        connector(reddit, env=env).fetch(None)


def test_a_page_that_is_not_json_is_quarantined_and_the_cursor_stays(reddit: FakeReddit) -> None:
    source = connector(reddit)
    cursor = source.fetch(None).next_cursor
    reddit.faults.append(Reply(200, b'{"kind": "Listing", "data": {"children": [tru'))
    batch = source.fetch(cursor)

    assert batch.envelopes == []
    assert len(batch.quarantined) == 1
    assert "not valid JSON" in batch.quarantined[0].reason
    assert batch.next_cursor is None


def test_a_malformed_child_is_quarantined_with_the_reason_and_the_rest_still_map(reddit: FakeReddit) -> None:
    shown = copy.deepcopy(newest_first(reddit))
    del shown[1]["data"]["created_utc"]  # type: ignore[attr-defined]
    reddit.faults.append(Reply(200, orjson.dumps(_listing(shown))))
    batch = connector(reddit).fetch(None)

    assert [q.reason for q in batch.quarantined] == ["missing creation time"]
    assert len(posts_of(batch)) == 3


def test_deleted_and_removed_comments_map_as_the_importer_maps_them(reddit: FakeReddit) -> None:
    key = "all/comments"
    things = copy.deepcopy(reddit.listings[key])
    things[3]["data"].update(author="[deleted]", body="[deleted]")  # type: ignore[attr-defined]
    things[2]["data"].update(body="[removed]")  # type: ignore[attr-defined]
    reddit.listings[key] = things
    batch = connector(reddit, subreddits=["all"], listings=["comments"]).fetch(None)

    expected = importer_items(newest_first(reddit, key))
    assert [(e.post, e.deletion) for e in batch.envelopes] == [(e.post, e.deletion) for e in expected]
    assert batch.envelopes[0].deletion is not None
    assert batch.envelopes[1].post is not None and batch.envelopes[1].post.text is None


def test_the_password_grant_is_used_when_a_script_account_is_configured(reddit: FakeReddit) -> None:
    env = {**ENV, "REDDIT_USER": "watchdesk", "REDDIT_PASSWORD": "pw"}
    connector(reddit, env=env, username_env="REDDIT_USER", password_env="REDDIT_PASSWORD").fetch(None)
    assert reddit.grants == [{"grant_type": "password", "username": "watchdesk", "password": "pw"}]


def test_an_unset_environment_variable_is_permanent_and_names_it(reddit: FakeReddit) -> None:
    with pytest.raises(Permanent, match="REDDIT_CLIENT_SECRET"):
        connector(reddit, env={"REDDIT_CLIENT_ID": CLIENT_ID}).fetch(None)
    assert reddit.requests == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"client_id_env": None}, "client_id_env is required"),
        ({"client_secret_env": ""}, "client_secret_env is required"),
        ({"client_secret": "s3cr3t"}, "must not be written in the source's settings"),
        ({"password": "pw"}, "must not be written"),
        ({"client_secret_env": "gko_LXELoV07ZBNUXrvWZfzE3aI"}, "never the credential itself"),
        ({"username_env": "REDDIT_USER"}, "both username_env and password_env"),
        ({"subreddits": []}, "subreddits is required"),
        ({"subreddits": ["u/someone"]}, "watch authorisation"),
        ({"subreddits": ["not a sub"]}, "not a subreddit name"),
        ({"listings": ["hot"]}, "listings must be some of new, comments"),
        ({"limit": 500}, "limit must be from 1 to 100"),
        ({"colour": "red"}, "unknown setting(s) colour"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(config: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"subreddits": ["askreddit"], **CREDENTIALS, **config}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.build("reddit", settings)


def test_subreddit_names_are_normalised_and_the_token_url_is_the_only_post() -> None:
    built = registry.build("reddit", {"subreddits": "r/AskReddit, /r/europe", **CREDENTIALS})
    assert isinstance(built, RedditConnector)
    assert built.keys == ["AskReddit/new", "AskReddit/comments", "europe/new", "europe/comments"]
    assert built.http.post_allowed == {"https://www.reddit.com/api/v1/access_token"}


def _listing(things: list[dict[str, object]], after: str | None = None) -> dict[str, object]:
    return {"kind": "Listing", "data": {"after": after, "before": None, "children": things}}
