"""The 4CAT CSV and Zeeschuimer NDJSON importers: mapped values, platforms, detection and bad records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.connectors.helpers import detected, import_posts
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.fourcat.platform_names import normalise_platform
from watchfloor.connectors.fourcat.zeeschuimer import map_zeeschuimer_line
from watchfloor.connectors.registry import format_named
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location

FOURCAT_CSV = format_named("4cat-csv")
ZEESCHUIMER = format_named("zeeschuimer-ndjson")


def test_4cat_tiktok_csv_maps_with_the_platform_the_user_gives(fixtures: Path) -> None:
    path = fixtures / "fourcat" / "4cat_tiktok_dataset.csv"
    posts, quarantined = import_posts(path, FOURCAT_CSV, MapOptions(platform="tiktok"))
    assert quarantined == []
    first, second = posts
    assert first.platform == "tiktok"
    assert first.native_id == "7301234567890123456"
    assert first.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert first.text == "Flash flood on Main St this morning #flood #weather @citynews"
    assert first.author_handle == "river_watch_demo"
    assert first.author_name == "River Watch (demo)"
    assert first.url == "https://www.tiktok.com/@river_watch_demo/video/7301234567890123456"
    assert first.hashtags == ("flood", "weather")
    assert first.metrics is not None
    assert (first.metrics.likes, first.metrics.replies, first.metrics.views) == (1520, 87, 20400)
    assert first.reply_root is None  # thread_id is its own id: a top-level post
    assert first.source == "4cat-csv"
    assert first.source_version == FOURCAT_CSV.source_version
    # Empty unix_timestamp: the "timestamp" column (UTC) is used; empty body stays absent.
    assert second.created_at == datetime(2023, 11, 14, 23, 13, 20, tzinfo=UTC)
    assert second.text is None


def test_4cat_csv_without_a_platform_is_unknown(fixtures: Path) -> None:
    posts, _ = import_posts(fixtures / "fourcat" / "4cat_tiktok_dataset.csv", FOURCAT_CSV)
    assert {p.platform for p in posts} == {"unknown"}


def test_4cat_csv_reads_platform_threads_and_counts(fixtures: Path) -> None:
    posts, quarantined = import_posts(fixtures / "fourcat" / "4cat_reddit_dataset.csv", FOURCAT_CSV)
    root, reply = posts
    assert root.platform == "reddit"  # from datasource "reddit-search"
    assert root.title == "Storm thread"
    assert root.conversation == "weather"
    assert root.langs == ("en",)
    assert root.lang_source == "platform"
    assert root.hashtags == ("sandy", "storm")
    assert root.urls == ("https://forum.example.org/rules", "https://example.org/noaa")
    assert root.metrics is not None
    assert root.metrics.score == 1234
    assert root.metrics.replies is None  # 4CAT's -1 means "not available", not a count
    assert reply.reply_root == "9001"
    assert reply.reply_to == "9001"
    assert reply.author_handle == "resident_demo"
    assert reply.langs == ()  # "und" is not a language
    assert reply.url is None
    by_line = {q.location.line: q for q in quarantined}
    assert set(by_line) == {4, 5, 6}
    assert by_line[4].field == "id"
    assert by_line[5].field == "timestamp"
    assert "29/10/2012 22:42" in by_line[5].reason
    assert by_line[6].field == "score"


def test_zeeschuimer_tiktok_item_is_mapped_field_by_field(fixtures: Path) -> None:
    posts, quarantined = import_posts(fixtures / "fourcat" / "zeeschuimer_tiktok.ndjson", ZEESCHUIMER)
    api_item, page_item = posts
    assert api_item.platform == "tiktok"
    assert api_item.native_id == "7301234567890123456"
    assert api_item.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert api_item.collected_at == datetime(2023, 11, 15, 12, 6, 40, 123000, tzinfo=UTC)
    assert api_item.author_id == "6812345678901234567"
    assert api_item.author_handle == "river_watch_demo"
    assert api_item.url == "https://www.tiktok.com/@river_watch_demo/video/7301234567890123456"
    assert api_item.hashtags == ("flood", "weather", "StormSeason")  # textExtra, then challenges
    assert api_item.mentions == ("citynews",)
    assert api_item.langs == ("en",)
    assert api_item.lang_source == "platform"
    assert api_item.metrics is not None
    assert api_item.metrics.likes == 1520
    assert api_item.metrics.views == 20400
    assert api_item.has_media
    # The page-embedded shape: author is a handle string, createTime a string, no language known.
    assert page_item.author_handle == "river_watch_demo"
    assert page_item.author_id == "6812345678901234567"
    assert page_item.created_at == datetime(2023, 11, 14, 23, 13, 20, tzinfo=UTC)
    assert page_item.text is None
    assert page_item.langs == ()
    [bad] = quarantined
    assert bad.location.line == 3
    assert bad.field == "data.createTime"


def test_zeeschuimer_instagram_both_shapes(fixtures: Path) -> None:
    posts, quarantined = import_posts(fixtures / "fourcat" / "zeeschuimer_instagram.ndjson", ZEESCHUIMER)
    assert quarantined == []
    carousel, graph = posts
    assert carousel.platform == "instagram"
    assert carousel.native_id == "CzExAmPlE01"
    assert carousel.url == "https://www.instagram.com/p/CzExAmPlE01/"
    assert carousel.created_at == datetime(2023, 11, 26, 12, 0, tzinfo=UTC)
    assert carousel.author_handle == "coastal_demo"
    assert carousel.text == "Sandbags at the ready. #flood #prepared"
    assert carousel.hashtags == ("flood", "prepared")
    assert [m.kind for m in carousel.media] == ["image", "video"]
    assert carousel.media[0].alt_text == "Photo of sandbags stacked by a door."
    assert carousel.geo is not None
    assert carousel.geo.place_name == "Harbour Front"
    assert graph.native_id == "CzGrApH0001"
    assert graph.text == "Storm surge video #storm"
    assert graph.metrics is not None
    assert (graph.metrics.likes, graph.metrics.replies, graph.metrics.views) == (99, 4, 1500)


def test_zeeschuimer_x_threads_linkedin_and_generic(fixtures: Path) -> None:
    posts, quarantined = import_posts(fixtures / "fourcat" / "zeeschuimer_various.ndjson", ZEESCHUIMER)
    tweet, retweet, thread, linkedin, gag = posts
    assert tweet.platform == "twitter"  # Zeeschuimer's "x.com" module
    assert tweet.created_at == datetime(2023, 11, 16, 7, 13, 20, tzinfo=UTC)
    assert tweet.author_handle == "metro_alerts_demo"
    assert tweet.reply_to == "1724999999999999999"
    assert tweet.urls == ("https://metro.example.org/status",)
    assert tweet.media[0].alt_text == "Flooded platform"
    assert tweet.metrics is not None
    assert tweet.metrics.views == 2301
    assert tweet.sensitive is False
    assert retweet.repost_of == "1725000000000000001"
    assert retweet.author_handle == "old_style_demo"
    assert retweet.langs == ()  # "qme" (media only) is not a language
    assert thread.platform == "threads"
    assert thread.url == "https://www.threads.net/@county_roads_demo/post/C0ThReAdS01"
    assert thread.urls == ("https://roads.example.org/closures",)  # unwrapped from l.threads.net
    assert thread.metrics is not None
    assert thread.metrics.quotes == 1
    assert linkedin.platform == "linkedin"
    assert linkedin.native_id == "7130000000000000000"
    # The activity id's top bits: 7130000000000000000 >> 22 = 1699924468994 ms.
    assert linkedin.created_at == datetime(2023, 11, 14, 1, 14, 28, 994000, tzinfo=UTC)
    assert linkedin.author_handle == "harbour-authority-demo"
    assert linkedin.hashtags == ("shipping",)
    assert gag.platform == "9gag"
    assert gag.title == "When the storm drain gives up"
    assert gag.created_at == datetime(2023, 11, 17, 5, 46, 40, tzinfo=UTC)
    pinterest, truncated = quarantined
    assert pinterest.location.line == 6
    assert pinterest.field == "data"
    assert "pinterest.com" in pinterest.reason
    assert "creation time" in pinterest.reason
    assert truncated.location.line == 7
    assert "not valid JSON" in truncated.reason


def test_platform_option_overrides_the_module() -> None:
    line = {
        "item_id": "1",
        "timestamp_collected": 1700000000000,
        "source_platform": "douyin.com",
        "data": {"id": "1", "createTime": 1700000000, "desc": "hi"},
    }
    [envelope] = map_zeeschuimer_line(orjson.dumps(line), Location(source="x"), MapOptions(platform="TikTok"))
    assert isinstance(envelope, Envelope)
    assert envelope.post is not None
    assert envelope.post.platform == "tiktok"


def test_line_without_source_platform_is_refused() -> None:
    with pytest.raises(BadRecord) as caught:
        map_zeeschuimer_line(b'{"item_id": "1", "data": {}}', Location(source="x"), MapOptions())
    assert caught.value.field == "source_platform"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("4cat_tiktok_dataset.csv", "4cat-csv"),
        ("4cat_reddit_dataset.csv", "4cat-csv"),
        ("zeeschuimer_tiktok.ndjson", "zeeschuimer-ndjson"),
        ("zeeschuimer_instagram.ndjson", "zeeschuimer-ndjson"),
        ("zeeschuimer_various.ndjson", "zeeschuimer-ndjson"),
    ],
)
def test_fixtures_are_detected_as_their_format(fixtures: Path, name: str, fmt: str) -> None:
    assert detected(fixtures / "fourcat" / name) == fmt


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x.com", "twitter"),
        ("twitter.com", "twitter"),
        ("twitter-import", "twitter"),
        ("tiktok.com", "tiktok"),
        ("tiktok-urls", "tiktok"),
        ("www.instagram.com", "instagram"),
        ("instagram-search", "instagram"),
        ("threads.net", "threads"),
        ("linkedin.com", "linkedin"),
        ("xiaohongshu.com", "rednote"),
        ("Telegram", "telegram"),
    ],
)
def test_platform_names_are_normalised(name: str, expected: str) -> None:
    assert normalise_platform(name) == expected


@given(st.sampled_from(["x.com", "tiktok.com", "instagram.com", "threads.net", "reddit-search", "9gag.com"]))
def test_normalising_is_idempotent(name: str) -> None:
    once = normalise_platform(name)
    assert normalise_platform(once) == once
