"""TikTok Research API connector against a loopback fake API serving constructed videos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.live_platforms.conftest import Reply
from tests.live_platforms.tiktok_fake import CLIENT_KEY, CLIENT_SECRET, FakeTikTok, error, tiktok
from tests.services_layer.conftest import ctx  # the service context on both stores
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import WriteRefused
from watchfloor.connectors.live.tiktok import TikTokResearchConnector
from watchfloor.connectors.tiktok.mapping import TRANSCRIPT_LABEL
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import MediaRef, Metrics, Post
from watchfloor.services import collect, sources
from watchfloor.services.context import ServiceContext

__all__ = ["ctx", "tiktok"]  # the fixtures, imported so pytest finds them

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
ENV = {"TIKTOK_CLIENT_KEY": CLIENT_KEY, "TIKTOK_CLIENT_SECRET": CLIENT_SECRET}
CREDENTIALS = {"client_key_env": "TIKTOK_CLIENT_KEY", "client_secret_env": "TIKTOK_CLIENT_SECRET"}
FIELDS = (
    "id,create_time,username,video_description,like_count,comment_count,share_count,view_count,hashtag_names"
)
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))


def connector(
    fake: FakeTikTok, env: dict[str, str] | None = None, clock: FrozenClock | None = None, **config: object
) -> TikTokResearchConnector:
    settings = {
        "keywords": ["flood"],
        "since": "2026-11-01",
        "max_count": 5,
        **CREDENTIALS,
        "api_base": fake.url,
    }
    built = registry.build("tiktok-research", {**settings, **config}, credentials=ENV if env is None else env)
    assert isinstance(built, TikTokResearchConnector)
    built.clock = clock or FrozenClock(NOW)
    return built


def posts_of(batch: Batch) -> list[Post]:
    return [e.post for e in batch.envelopes if e.post is not None]


def state(batch: Batch) -> dict[str, Any]:
    value = orjson.loads(batch.next_cursor or "null")
    assert isinstance(value, dict)
    return value


def matching(fake: FakeTikTok, since: str = "2026-11-01") -> list[str]:
    """Ids of the fixture videos the default query matches from ``since`` on, oldest first."""
    start = datetime.fromisoformat(since).replace(tzinfo=UTC).timestamp()
    found = [
        v for v in fake.videos if v["create_time"] >= start and "flood" in v["video_description"].lower()
    ]
    return [str(v["id"]) for v in sorted(found, key=lambda v: v["create_time"])]


def test_a_window_is_paged_with_cursor_and_search_id_and_mapped(tiktok: FakeTikTok) -> None:
    batch = connector(tiktok).fetch(None)

    assert len(tiktok.grants) == 1 and tiktok.grants[0]["grant_type"] == "client_credentials"
    first, second, third = tiktok.queries
    assert first.body == {
        "query": {"or": [{"operation": "IN", "field_name": "keyword", "field_values": ["flood"]}]},
        "start_date": "20261101",
        "end_date": "20261130",
        "max_count": 5,
    }
    assert ",".join(first.fields) == FIELDS and "region_code" not in first.fields
    assert first.authorization == "Bearer clt.token-1"
    search_id = second.body["search_id"]
    assert (second.body["cursor"], third.body["cursor"], third.body["search_id"]) == (5, 10, search_id)
    assert [p.native_id for p in posts_of(batch)] == matching(tiktok)
    post = posts_of(batch)[1]  # the Mill Bridge gauge video
    assert post.platform == "tiktok" and post.source == "tiktok-research"
    assert post.url == f"https://www.tiktok.com/@riverside_demo_news/video/{post.native_id}"
    assert (post.author_handle, post.author_id, post.text) == (
        "riverside_demo_news",
        None,
        "Mill Bridge gauge at 2.1 m #flood",
    )
    assert post.created_at == datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
    assert post.hashtags == ("flood",) and post.media == (MediaRef(kind="video"),)
    assert post.metrics == Metrics(likes=210, replies=8, views=6100)  # share_count stays raw
    assert all(b"region_code" not in e.raw and e.format == "tiktok-research-video" for e in batch.envelopes)
    assert orjson.loads(batch.envelopes[1].raw)["share_count"] == 5
    cursor = state(batch)
    assert cursor["window"] == {"start": "20261128"}  # caught up: the next poll re-reads the last days
    assert cursor["quota"] == {"day": "2026-11-30", "spent": 3}
    assert batch.next_wake == NOW + timedelta(hours=1)


def test_windows_of_at_most_30_days_are_walked_from_since_to_today(tiktok: FakeTikTok) -> None:
    batch = connector(tiktok, since="2026-09-20", max_count=100).fetch(None)

    spans = [(q.body["start_date"], q.body["end_date"]) for q in tiktok.queries]
    assert spans == [("20260920", "20261019"), ("20261020", "20261118"), ("20261119", "20261130")]
    assert [p.native_id for p in posts_of(batch)] == matching(tiktok, "2026-09-20")
    assert len(posts_of(batch)) == 15


def test_the_next_poll_rereads_the_last_days_and_stores_only_late_indexed_videos(tiktok: FakeTikTok) -> None:
    late = tiktok.videos[14]["id"]  # 2026-11-29: not in the index yet at the first poll
    tiktok.hidden.add(late)
    source = connector(tiktok)
    first = source.fetch(None)
    assert str(late) not in [p.native_id for p in posts_of(first)]
    tiktok.index(late)
    again = source.fetch(first.next_cursor)

    assert tiktok.queries[-1].body["start_date"] == "20261128"
    assert [p.native_id for p in posts_of(again)] == [str(late)]  # the other two were already collected
    assert source.fetch(again.next_cursor).envelopes == []


def test_max_pages_stops_and_the_next_fetch_resumes_at_the_saved_cursor(tiktok: FakeTikTok) -> None:
    source = connector(tiktok, max_pages=2)
    first = source.fetch(None)
    assert first.next_wake is None  # more pages are waiting: call again at once
    assert state(first)["window"]["cursor"] == 10
    second = source.fetch(first.next_cursor)

    assert tiktok.queries[2].body["cursor"] == 10
    assert tiktok.queries[2].body["search_id"] == tiktok.queries[0 + 1].body["search_id"]
    assert [p.native_id for p in posts_of(first) + posts_of(second)] == matching(tiktok)


def test_an_expired_search_reads_the_window_again_without_duplicates(tiktok: FakeTikTok) -> None:
    first = connector(tiktok, max_pages=1).fetch(None)
    tiktok.expire_searches()  # "cursor too old"
    rest = connector(tiktok).fetch(first.next_cursor)

    refused, restarted = tiktok.queries[1], tiktok.queries[2]
    assert refused.body["cursor"] == 5 and "search_id" not in restarted.body
    assert [p.native_id for p in posts_of(first) + posts_of(rest)] == matching(tiktok)


def test_invalid_params_on_a_first_page_is_permanent_with_the_api_message(tiktok: FakeTikTok) -> None:
    tiktok.faults.append(error(400, "invalid_params", "Invalid query: unknown field_name"))
    with pytest.raises(Permanent, match=r"invalid_params.*unknown field_name"):
        connector(tiktok).fetch(None)


def test_rate_limit_exceeded_is_transient_with_retry_after(tiktok: FakeTikTok) -> None:
    tiktok.faults.append(error(429, "rate_limit_exceeded", "Too many requests", {"Retry-After": "12"}))
    with pytest.raises(Transient) as raised:
        connector(tiktok).fetch(None)
    assert raised.value.retry_after == 12.0


def test_a_5xx_after_a_page_keeps_what_was_read_and_resumes_there(tiktok: FakeTikTok) -> None:
    tiktok.fault_at[2] = Reply(503, b"<html>busy</html>", {"Retry-After": "40"})
    source = connector(tiktok)
    batch = source.fetch(None)
    assert len(posts_of(batch)) == 5 and batch.next_wake == NOW + timedelta(seconds=40)
    rest = source.fetch(batch.next_cursor)
    assert [p.native_id for p in posts_of(batch) + posts_of(rest)] == matching(tiktok)
    tiktok.faults.append(Reply(500, b""))
    with pytest.raises(Transient):
        source.fetch(None)


def test_a_response_that_is_not_json_is_quarantined_and_read_again(tiktok: FakeTikTok) -> None:
    tiktok.faults.append(Reply(200, b'{"data": {"videos": [tru'))
    source = connector(tiktok)
    batch = source.fetch(None)
    assert batch.envelopes == [] and len(batch.quarantined) == 1
    assert (
        "not valid JSON" in batch.quarantined[0].reason
        and batch.quarantined[0].format == "tiktok-research-page"
    )
    assert state(batch)["window"] == {"start": "20261101", "end": "20261130"}  # the same page next time
    assert batch.next_wake == NOW + timedelta(hours=1)
    assert len(posts_of(source.fetch(batch.next_cursor))) == 12


def test_a_bad_video_is_quarantined_alone(tiktok: FakeTikTok) -> None:
    tiktok.omit[tiktok.videos[5]["id"]] = {"create_time"}
    batch = connector(tiktok, max_count=100).fetch(None)
    assert [q.reason for q in batch.quarantined] == ["missing creation time"]
    assert len(posts_of(batch)) == 11


def test_the_token_is_renewed_before_it_expires(tiktok: FakeTikTok) -> None:
    tiktok.expires_in = 600  # renewed five minutes early: after 300 s
    clock = FrozenClock(NOW)
    source = connector(tiktok, clock=clock)
    cursor = source.fetch(None).next_cursor
    clock.advance(timedelta(seconds=200))
    cursor = source.fetch(cursor).next_cursor or cursor
    assert len(tiktok.grants) == 1
    clock.advance(timedelta(seconds=200))
    source.fetch(cursor)
    assert len(tiktok.grants) == 2 and tiktok.queries[-1].authorization == "Bearer clt.token-2"


def test_401_renews_the_token_once_and_a_second_401_is_permanent(tiktok: FakeTikTok) -> None:
    source = connector(tiktok)
    cursor = source.fetch(None).next_cursor
    tiktok.revoke()
    source.fetch(cursor)
    assert len(tiktok.grants) == 2
    assert [q.authorization for q in tiktok.queries[3:5]] == ["Bearer clt.token-1", "Bearer clt.token-2"]
    unauthorised = error(401, "access_token_invalid", "The access token is invalid")
    tiktok.faults.extend([unauthorised, unauthorised])
    with pytest.raises(Permanent, match="refused twice"):
        source.fetch(cursor)


def test_refused_credentials_and_unset_variables_are_permanent(tiktok: FakeTikTok) -> None:
    with pytest.raises(Permanent, match="token request was refused \\(invalid_client\\)"):
        connector(tiktok, env={**ENV, "TIKTOK_CLIENT_SECRET": "wrong"}).fetch(None)
    with pytest.raises(Permanent, match="TIKTOK_CLIENT_SECRET"):
        connector(tiktok, env={"TIKTOK_CLIENT_KEY": CLIENT_KEY}).fetch(None)
    assert tiktok.queries == []


def test_the_daily_quota_ledger_stops_before_the_limit_and_resumes_after_midnight_utc(
    tiktok: FakeTikTok,
) -> None:
    clock = FrozenClock(NOW)
    source = connector(tiktok, clock=clock, max_count=2, daily_requests=3, reserve=0)
    batch = source.fetch(None)
    assert len(tiktok.queries) == 3 and len(posts_of(batch)) == 6
    assert batch.next_wake == MIDNIGHT and state(batch)["quota"] == {"day": "2026-11-30", "spent": 3}
    same_day = source.fetch(batch.next_cursor)
    assert len(tiktok.queries) == 3 and same_day.next_wake == MIDNIGHT
    clock.advance(MIDNIGHT - NOW + timedelta(minutes=5))
    next_day = source.fetch(batch.next_cursor)
    assert len(posts_of(next_day)) == 6 and state(next_day)["quota"]["day"] == "2026-12-01"


def test_the_api_saying_the_quota_is_spent_waits_for_midnight_not_fails(tiktok: FakeTikTok) -> None:
    tiktok.daily_limit = 1
    batch = connector(tiktok).fetch(None)
    assert len(posts_of(batch)) == 5 and batch.next_wake == MIDNIGHT
    assert state(batch)["quota"]["spent"] == 950  # the ledger is marked full for the day


def test_voice_to_text_is_requested_only_when_asked_and_labelled(tiktok: FakeTikTok) -> None:
    batch = connector(tiktok, voice_to_text=True).fetch(None)
    assert tiktok.queries[0].fields[-1] == "voice_to_text"
    farm = next(p for p in posts_of(batch) if p.author_handle == "demo_farm_diary")
    assert farm.text == (
        f"Fields under water again #flood #farming\n\n{TRANSCRIPT_LABEL} "
        "Fields under water again, second time this month"
    )


def test_region_codes_and_exclusions_become_and_and_not_conditions(tiktok: FakeTikTok) -> None:
    batch = connector(tiktok, region_codes="ie", hashtags=["#farming"], exclude_keywords=["barn"]).fetch(None)
    assert tiktok.queries[0].body["query"] == {
        "or": [
            {"operation": "IN", "field_name": "keyword", "field_values": ["flood"]},
            {"operation": "IN", "field_name": "hashtag_name", "field_values": ["farming"]},
        ],
        "and": [{"operation": "IN", "field_name": "region_code", "field_values": ["IE"]}],
        "not": [{"operation": "IN", "field_name": "keyword", "field_values": ["barn"]}],
    }
    assert [p.text for p in posts_of(batch)] == ["Fields under water again #flood #farming"]


def test_the_client_posts_only_to_the_token_and_query_endpoints(tiktok: FakeTikTok) -> None:
    source = connector(tiktok)
    assert source.http.post_allowed == {
        f"{tiktok.url}/v2/oauth/token/",
        f"{tiktok.url}/v2/research/video/query/",
    }
    with pytest.raises(WriteRefused):
        source.http.request("POST", f"{tiktok.url}/v2/research/user/info/")
    with pytest.raises(WriteRefused):
        source.http.request("DELETE", source.query_url)
    assert tiktok.queries == [] and tiktok.grants == []


def test_collected_into_the_store_once(ctx: ServiceContext, tiktok: FakeTikTok) -> None:
    with ctx.store.transaction() as tx:
        basis = tx.list_bases()[0].id
    config = {
        "keywords": ["flood"],
        "since": "2026-11-01",
        **CREDENTIALS,
        "api_base": tiktok.url,
        "every": 3600,
    }
    source = sources.add_source(
        ctx, actor=SAM, name="floods", kind="tiktok-research", config=config, basis_id=basis
    )
    live = connector(tiktok)
    first = collect.run_once(ctx, source.id, live)
    assert (first.inserted, first.duplicates) == (12, 0)
    again = collect.run_once(ctx, source.id, live)
    assert (again.inserted, again.duplicates) == (0, 0)  # the re-read days were already collected


def test_a_source_following_usernames_is_collected_only_under_a_watch(ctx: ServiceContext) -> None:
    with ctx.store.transaction() as tx:
        basis = tx.list_bases()[0].id
    config = {"usernames": ["riverside_demo_news"], **CREDENTIALS}
    source = sources.add_source(
        ctx, actor=SAM, name="one-person", kind="tiktok-research", config=config, basis_id=basis
    )
    assert source.unwatched == (("tiktok", "riverside_demo_news"),)
    with pytest.raises(Permanent, match=r"no watch in force \(tiktok:riverside_demo_news\)"):
        collect.check_collection_allowed(ctx, source)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"client_key_env": None}, "client_key_env is required"),
        ({"client_secret": "s3cr3t"}, "must not be written in the source's settings"),
        ({"client_secret_env": "awlkj-23lkj"}, "never the credential itself"),
        ({"keywords": None}, "give keywords, hashtags"),
        ({"keywords": None, "region_codes": ["GB"]}, "region codes alone"),
        ({"region_codes": ["GBR"]}, "two-letter country codes"),
        ({"since": "yesterday"}, "since must be a date"),
        ({"max_count": 500}, "max_count must be from 1 to 100"),
        ({"reserve": 1000}, "reserve must be from 0 to 999"),
        ({"voice_to_text": "yes"}, "voice_to_text must be true or false"),
        ({"fields": "region_code"}, "unknown setting"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(config: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"keywords": ["flood"], **CREDENTIALS, **config}
    with pytest.raises(ConfigError, match=message):
        registry.build("tiktok-research", settings)
