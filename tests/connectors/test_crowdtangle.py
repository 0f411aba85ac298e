"""The CrowdTangle CSV importer: zone abbreviations, counts, ids, platforms and bad rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.connectors.helpers import assert_all_detected, import_posts
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.crowdtangle.mapping import map_crowdtangle_row
from watchfloor.connectors.crowdtangle.timezones import (
    ABBREVIATIONS,
    AMBIGUOUS,
    localize,
    resolve_abbreviation,
)
from watchfloor.connectors.registry import format_named
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Post, Quarantined

CT = format_named("crowdtangle-csv")


def _import(path: Path, options: MapOptions | None = None) -> tuple[list[Post], list[Quarantined]]:
    return import_posts(path, CT, options)


@pytest.fixture
def pages(fixtures: Path) -> Path:
    return fixtures / "crowdtangle" / "crowdtangle_facebook_pages.csv"


def test_page_post_maps_with_edt_resolved_to_utc_minus_4(pages: Path) -> None:
    posts, _ = _import(pages)
    post = posts[0]
    assert post.platform == "facebook"
    assert post.native_id == "100064012345678_4312345678901234"
    # "2021-07-06 16:45:20 EDT" is 20:45:20 UTC: New York is on daylight time in July.
    assert post.created_at == datetime(2021, 7, 6, 20, 45, 20, tzinfo=UTC)
    assert post.author_name == "Example City Fire Department"
    assert post.author_handle == "examplecityfire"
    assert post.author_id == "100064012345678"
    assert post.text is not None
    assert post.text.startswith("Heat advisory until Thursday 8 PM.")
    assert post.title == "Where to cool down this week"
    assert post.urls == ("https://example.org/heat", "https://example.org/heat?utm_source=fb")
    assert post.domains == ()  # derived later by the pipeline
    assert post.metrics is not None
    assert (post.metrics.likes, post.metrics.replies, post.metrics.reposts) == (1234, 87, 120)
    assert post.source == "crowdtangle-csv"
    assert post.source_version == CT.source_version


def test_thousands_separators_and_other_zones(pages: Path) -> None:
    by_id = {p.native_id: p for p in _import(pages)[0]}
    video = by_id["100064012345678_812345678901234"]
    assert video.created_at == datetime(2021, 1, 15, 14, 0, tzinfo=UTC)  # EST = UTC-5 in January
    assert video.metrics is not None
    assert video.metrics.likes == 12_000_000
    assert video.metrics.views == 2_500_000
    assert video.media[0].kind == "video"
    photo = by_id["100064012345678_987654321098765"]
    assert photo.created_at == datetime(2021, 7, 6, 16, 0, tzinfo=UTC)  # CEST = UTC+2
    assert photo.text is None  # empty Message: absent, never ""
    assert photo.urls == ()  # the Link is the photo page itself, not a link in the post
    assert photo.image_text == "STAY COOL"  # CrowdTangle's own OCR of the photo: image: finds it
    assert by_id["100064012345678_812345678901234"].image_text is None
    story = by_id["100064012345678_4312345678900005"]
    assert story.created_at == datetime(2021, 7, 6, 22, 0, tzinfo=UTC)  # AEST = UTC+10
    assert story.metrics is None  # every count blank: none reported


def test_bad_rows_are_quarantined_with_field_and_reason_while_others_map(pages: Path) -> None:
    posts, quarantined = _import(pages)
    assert len(posts) == 4
    by_line = {q.location.line: q for q in quarantined}
    assert set(by_line) == {5, 6, 7, 8}
    assert by_line[5].field == "Post Created"
    assert "'XYZ'" in by_line[5].reason
    assert by_line[6].field == "Post Created"
    assert "'IST'" in by_line[6].reason
    assert "ambiguous" in by_line[6].reason
    assert by_line[7].field == "Post Created"
    assert by_line[8].field == "Total Interactions"
    assert "'1,2x4'" in by_line[8].reason


def test_page_admin_country_is_not_stored(pages: Path) -> None:
    posts, _ = _import(pages)
    encoded = msgspec.json.encode(posts).decode()
    assert '"US"' not in encoded
    assert "country" not in encoded


def test_group_posts_have_the_group_as_place_not_author(fixtures: Path) -> None:
    [post], quarantined = _import(fixtures / "crowdtangle" / "crowdtangle_facebook_groups.csv")
    assert quarantined == []
    assert post.native_id == "987650000012345_1234567890123456"
    assert post.conversation == "Riverside Flood Watch (example)"
    assert post.author_name is None
    assert post.author_id is None
    assert post.author_handle is None
    assert post.created_at == datetime(2021, 10, 30, 22, 15, tzinfo=UTC)  # BST = UTC+1


def test_instagram_export_is_recognised_by_its_urls(fixtures: Path) -> None:
    posts, quarantined = _import(fixtures / "crowdtangle" / "crowdtangle_instagram.csv")
    assert quarantined == []
    photo, reel = posts
    assert photo.platform == "instagram"
    assert reel.platform == "instagram"
    assert photo.native_id == "CmExAmPlE12"
    assert reel.native_id == "CmReElExAm1"
    assert photo.text is not None
    assert photo.text.startswith("Wind chill warning tonight")
    assert photo.created_at == datetime(2022, 12, 24, 13, 30, tzinfo=UTC)  # CST = UTC-6
    assert photo.author_handle == "exampleweather"
    assert photo.author_name == "Example Weather Service"
    assert photo.media[0].url == "https://scontent.example.invalid/ig/cmexample.jpg"
    assert reel.metrics is not None
    assert reel.metrics.views == 61_000


def test_date_and_time_columns_need_a_zone_from_the_user() -> None:
    row = {
        "URL": "https://www.facebook.com/page/posts/123",
        "Facebook Id": "99",
        "Post Created": "",
        "Post Created Date": "2021-07-06",
        "Post Created Time": "16:45:20",
    }
    raw, here = orjson.dumps(row), Location(source="t.csv", line=2)
    with pytest.raises(BadRecord) as caught:
        map_crowdtangle_row(raw, here, MapOptions())
    assert caught.value.field == "Post Created"
    assert "time zone" in caught.value.reason
    [envelope] = map_crowdtangle_row(raw, here, MapOptions(default_timezone="America/New_York"))
    assert isinstance(envelope, Envelope)
    assert envelope.post is not None
    assert envelope.post.created_at == datetime(2021, 7, 6, 20, 45, 20, tzinfo=UTC)


def test_each_fixture_is_detected_as_crowdtangle(fixtures: Path) -> None:
    assert_all_detected(sorted((fixtures / "crowdtangle").glob("*.csv")), "crowdtangle-csv")


# Zones whose tz-database abbreviations CrowdTangle would have printed; the abbreviation must bring
# back the exact instant, including the repeated hour when clocks go back (EDT vs EST at 01:30) and
# Moscow's years on UTC+4 (MSK 2011-2014).
_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/St_Johns",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "Asia/Tokyo",
    "Asia/Jakarta",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Asia/Singapore",
    "America/Sao_Paulo",
    "UTC",
]


@given(
    instant=st.datetimes(
        min_value=datetime(2012, 1, 1), max_value=datetime(2024, 8, 1), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(_ZONES),
)
def test_abbreviations_round_trip_the_instant(instant: datetime, zone_name: str) -> None:
    local = instant.replace(microsecond=0).astimezone(ZoneInfo(zone_name))
    abbreviation = local.strftime("%Z")
    naive = local.replace(tzinfo=None)
    assert localize(naive, abbreviation, field="Post Created") == instant.replace(microsecond=0)


@given(st.sampled_from(sorted(AMBIGUOUS)))
def test_ambiguous_abbreviations_are_refused_by_name(abbreviation: str) -> None:
    with pytest.raises(BadRecord, match=f"'{abbreviation}'"):
        resolve_abbreviation(abbreviation, field="Post Created")


def test_table_offsets_are_within_the_real_range() -> None:
    for name, zone in ABBREVIATIONS.items():
        offset = zone.utcoffset(None)
        assert timedelta(hours=-12) <= offset <= timedelta(hours=14), name
