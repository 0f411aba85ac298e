"""YouTube Data API live connector against a loopback fake API replaying recorded responses (MIT)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.cli.test_cli import wf
from tests.live_platforms.fake_youtube import (
    PERMISSION_DENIED,
    QUOTA_EXCEEDED,
    THREAD_PAGE_2_TOKEN,
    FakeYouTube,
    Reply,
    serve,
)
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.youtube import YouTubeConnector
from watchfloor.connectors.youtube.mapping import map_lines
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Post

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles
RESET = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the next Pacific midnight (PST, UTC-8)
CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
ENV = "WATCHFLOOR_TEST_YOUTUBE_KEY"
KEYS = {ENV: "test-key"}  # the runner's environment, as Settings.credentials passes it


@pytest.fixture
def youtube() -> Iterator[FakeYouTube]:
    yield from serve(FakeYouTube())


def connector(fake: FakeYouTube, **config: object) -> YouTubeConnector:
    settings = {"mode": "channel", "channel_id": CHANNEL, "api_key_env": ENV, "api_base": fake.url, **config}
    built = registry.build("youtube", settings, credentials=KEYS)
    assert isinstance(built, YouTubeConnector)
    built.clock = FrozenClock(NOW)
    return built


def posts_of(batch: Batch) -> list[Post]:
    return [e.post for e in batch.envelopes if e.post is not None]


def importer_posts(bodies: list[bytes]) -> list[Post]:
    """What ``watchfloor import`` maps the same saved responses to (the importer's mapper)."""
    posts: list[Post] = []
    for body in bodies:
        items = map_lines(body, Location(source="file"), MapOptions())
        posts += [i.post for i in items if isinstance(i, Envelope) and i.post is not None]
    return posts


def ledger(batch: Batch) -> dict[str, Any]:
    assert batch.next_cursor is not None
    quota = orjson.loads(batch.next_cursor)["quota"]
    assert isinstance(quota, dict)
    return quota


def playlist_ids(fake: FakeYouTube) -> list[str]:
    return [item["snippet"]["resourceId"]["videoId"] for item in fake.playlist_items()]


def test_channel_mode_reads_uploads_details_and_comment_threads_in_two_pages(youtube: FakeYouTube) -> None:
    batch = connector(youtube).fetch(None)

    resources = [c.resource for c in youtube.calls]
    assert resources == ["playlistItems"] * 2 + ["videos"] + ["commentThreads"] * 14
    assert youtube.calls[0].params["playlistId"] == "UU" + CHANNEL[2:]
    assert youtube.calls[1].params["pageToken"] == "CAoQAA"
    assert youtube.calls[2].params["id"].split(",") == list(reversed(playlist_ids(youtube)))
    assert [c.params.get("pageToken") for c in youtube.calls if c.params.get("videoId") == "CvTApw9X8aA"] == [
        None,
        THREAD_PAGE_2_TOKEN,
    ]
    assert all(c.key == "test-key" and "key" not in c.params for c in youtube.calls)  # header, never URL
    posts = posts_of(batch)
    videos = [p for p in posts if not p.native_id.startswith("comment:")]
    comments = {p.native_id for p in posts if p.native_id.startswith("comment:")}
    assert {p.native_id for p in videos} == set(playlist_ids(youtube))
    assert videos[0].metrics is not None and videos[0].metrics.views == 1520  # counts came as strings
    assert len(comments) == 5  # the recording's page 2 repeats page 1's threads
    assert batch.next_wake == NOW + timedelta(seconds=900)
    assert batch.quarantined == []


def test_live_posts_equal_the_file_importers_mapping_of_the_same_responses(youtube: FakeYouTube) -> None:
    batch = connector(youtube).fetch(None)

    bodies = [c.body for c in youtube.calls if c.resource in ("videos", "commentThreads")]
    assert posts_of(batch) == importer_posts(bodies)


def test_the_ledger_counts_every_unit_the_api_charged(youtube: FakeYouTube) -> None:
    source = connector(youtube)
    first = source.fetch(None)
    assert ledger(first) == {"day": "2026-11-30", "spent": youtube.units} and youtube.units == 17
    second = source.fetch(first.next_cursor)
    assert ledger(second)["spent"] == youtube.units == 18


def test_a_second_fetch_stores_nothing_new_and_stops_at_the_first_page(youtube: FakeYouTube) -> None:
    source = connector(youtube)
    first = source.fetch(None)
    before = len(youtube.calls)
    second = source.fetch(first.next_cursor)

    assert second.envelopes == []
    assert [c.resource for c in youtube.calls[before:]] == ["playlistItems"]  # page 1 held seen videos


def test_the_ledger_stops_before_the_budget_and_resumes_after_the_pacific_reset(youtube: FakeYouTube) -> None:
    source = connector(youtube, daily_quota=20, reserve=5)  # 15 units to spend
    stopped = source.fetch(None)

    assert youtube.units == 15 == ledger(stopped)["spent"]
    assert stopped.next_wake == RESET
    assert not any(c.params.get("videoId") == "CvTApw9X8aA" for c in youtube.calls)  # left for tomorrow
    assert len(posts_of(stopped)) == 13  # the videos read before the stop are kept

    again = source.fetch(stopped.next_cursor)  # called early anyway: nothing is spent
    assert again.envelopes == [] and again.next_wake == RESET and youtube.units == 15

    assert isinstance(source.clock, FrozenClock)
    source.clock.advance(RESET - NOW + timedelta(minutes=1))
    resumed = source.fetch(stopped.next_cursor)
    assert ledger(resumed) == {"day": "2026-12-01", "spent": 3}
    assert [c.params.get("videoId") for c in youtube.calls[-3:]] == ["CvTApw9X8aA", "CvTApw9X8aA", None]
    assert len({p.native_id for p in posts_of(resumed)}) == 5  # the comment threads, no video again


def test_quota_exceeded_from_the_api_waits_for_the_reset_instead_of_failing(youtube: FakeYouTube) -> None:
    youtube.faults.append(Reply(403, QUOTA_EXCEEDED))
    batch = connector(youtube).fetch(None)

    assert batch.envelopes == []
    assert batch.next_wake == RESET
    assert ledger(batch)["spent"] == 9_500  # nothing more today
    assert len(youtube.calls) == 1


def test_another_403_fails_the_source_with_googles_reason(youtube: FakeYouTube) -> None:
    youtube.faults.append(Reply(403, PERMISSION_DENIED))
    with pytest.raises(Permanent, match="SERVICE_UNAVAILABLE"):
        connector(youtube).fetch(None)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(youtube: FakeYouTube, status: int) -> None:
    youtube.faults.append(Reply(status, b"{}"))
    with pytest.raises(Transient):
        connector(youtube).fetch(None)


def test_a_video_with_comments_disabled_is_skipped_not_failed(youtube: FakeYouTube) -> None:
    youtube.commented.clear()
    youtube.comments_off.add("CvTApw9X8aA")
    batch = connector(youtube).fetch(None)

    assert len(posts_of(batch)) == 13
    assert orjson.loads(batch.next_cursor or "{}").get("pending") is None  # nothing left to read


def test_comments_off_reads_no_comment_threads(youtube: FakeYouTube) -> None:
    connector(youtube, comments=False).fetch(None)
    assert {c.resource for c in youtube.calls} == {"playlistItems", "videos"}


def test_search_mode_costs_100_units_a_page_and_starts_from_the_newest_video(youtube: FakeYouTube) -> None:
    source = connector(youtube, mode="search", channel_id=None, query="python", comments=False)
    first = source.fetch(None)
    second = source.fetch(first.next_cursor)

    page = orjson.loads(youtube.calls[0].body)
    ids = {i["id"]["videoId"] for i in page["items"] if i["id"]["kind"] == "youtube#video"}
    assert {p.native_id for p in posts_of(first)} == ids
    assert youtube.calls[0].params["q"] == "python" and youtube.calls[0].params["order"] == "date"
    newest = max(i["snippet"]["publishedAt"] for i in page["items"])
    assert youtube.calls[1].params["publishedAfter"] == newest.replace(".000Z", "Z")
    assert second.envelopes == []
    assert ledger(second)["spent"] == youtube.units == 200


def test_config_needs_the_name_of_a_set_environment_variable(youtube: FakeYouTube) -> None:
    with pytest.raises(ConfigError, match="api_key_env is required"):
        registry.build("youtube", {"channel_id": CHANNEL}, credentials=KEYS)
    with pytest.raises(
        ConfigError, match=r"environment variable WATCHFLOOR_TEST_NO_SUCH_VARIABLE .* not set"
    ):
        registry.build(
            "youtube",
            {"channel_id": CHANNEL, "api_key_env": "WATCHFLOOR_TEST_NO_SUCH_VARIABLE"},
            credentials=KEYS,
        )
    with pytest.raises(ConfigError, match="not set"):
        registry.build("youtube", {"channel_id": CHANNEL, "api_key_env": ENV})  # no credentials passed


def test_sources_add_reads_the_key_from_its_own_process_environment(tmp_path: Path) -> None:
    """The CLI's Settings snapshot its process's environment; adding a source checks the key there."""
    db, name = tmp_path / "s.db", "WATCHFLOOR_TEST_CLI_YOUTUBE_KEY"
    source = ("--kind", "youtube", "--set", f"channel_id={CHANNEL}", "--set", f"api_key_env={name}")
    sam = {"WATCHFLOOR_USER": "sam"}
    unset = wf(db, "sources", "add", "no-key", *source, env=sam, check=False)
    assert unset.returncode != 0 and f"environment variable {name} (the API key) is not set" in unset.stderr
    added = wf(db, "sources", "add", "uploads", *source, env={**sam, name: "AIza-test"})
    assert "Added source uploads (youtube" in added.stdout


@pytest.mark.parametrize("setting", ["api_key", "key", "token"])
def test_a_key_put_in_the_config_is_refused(youtube: FakeYouTube, setting: str) -> None:
    with pytest.raises(ConfigError, match="environment variable"):
        registry.build(
            "youtube", {"channel_id": CHANNEL, "api_key_env": ENV, setting: "AIza-secret"}, credentials=KEYS
        )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"channel_id": "not-a-channel"}, "channel_id"),
        ({"mode": "search"}, "query"),
        ({"mode": "playlist"}, "channel or search"),
        ({"channel_id": CHANNEL, "reserve": 20_000}, "reserve"),
        ({"channel_id": CHANNEL, "comments": "yes"}, "comments"),
        ({"channel_id": CHANNEL, "colour": "red"}, "unknown setting"),
    ],
)
def test_bad_settings_say_what_is_wrong(youtube: FakeYouTube, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.build("youtube", {"api_key_env": ENV, **config}, credentials=KEYS)
