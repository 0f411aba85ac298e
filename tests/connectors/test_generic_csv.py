"""The generic CSV importer: column maps, automatic header mapping, times, ids and bad rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.connectors.helpers import assert_all_detected, import_posts
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.generic_csv.cells import parse_count, parse_native_id, parse_time
from watchfloor.connectors.generic_csv.mapping import map_csv_row
from watchfloor.connectors.registry import format_named
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Post, Quarantined

CSV = format_named("csv")
T26_MAP = {"native_id": "Tweet ID", "text": "Tweet Text", "created_at": "snowflake:Tweet ID"}
HERE = Location(source="test.csv", line=2)


def _import(path: Path, options: MapOptions) -> tuple[list[Post], list[Quarantined]]:
    return import_posts(path, CSV, options)


def _map_row(row: dict[str, str], options: MapOptions) -> Post:
    [envelope] = map_csv_row(orjson.dumps(row), HERE, options)
    assert isinstance(envelope, Envelope)
    assert envelope.post is not None
    return envelope.post


def test_crisislex_t26_maps_with_its_column_map(fixtures: Path) -> None:
    path = fixtures / "generic_csv" / "crisislex_t26_colorado_floods_head.csv"
    posts, quarantined = _import(path, MapOptions(platform="twitter", column_map=T26_MAP))
    assert quarantined == []
    assert len(posts) == 12
    first = posts[0]
    assert first.platform == "twitter"
    assert first.native_id == "376843697943769088"  # the file's quotes are CSV quoting, not part of the id
    assert first.text is not None
    assert first.text.startswith("#Longmont #CO The Tiny Tim Center")
    # Snowflake 376843697943769088 encodes (id >> 22) + 1288834974657 ms = 2013-09-08 23:05:13.664 UTC.
    assert first.created_at == datetime(2013, 9, 8, 23, 5, 13, 664000, tzinfo=UTC)
    assert first.source == "csv"
    assert first.source_version == CSV.source_version
    assert first.langs == ()
    assert first.lang_source is None
    assert first.urls == ()
    assert first.domains == ()


def test_crisislex_t6_single_quoted_ids_are_unwrapped(fixtures: Path) -> None:
    path = fixtures / "generic_csv" / "crisislex_t6_sandy_head.csv"
    column_map = {"native_id": "tweet id", "text": "tweet", "created_at": "snowflake:tweet id"}
    posts, quarantined = _import(path, MapOptions(platform="twitter", column_map=column_map))
    assert quarantined == []
    assert posts[0].native_id == "262596552399396864"
    assert posts[0].created_at.date().isoformat() == "2012-10-28"
    assert all(p.created_at.year == 2012 and p.created_at.month == 10 for p in posts)


def test_column_names_match_ignoring_case_and_spaces(fixtures: Path) -> None:
    path = fixtures / "generic_csv" / "crisislex_t26_colorado_floods_head.csv"
    column_map = {"native_id": "  tweet id ", "text": "TWEET TEXT", "created_at": "snowflake: tweet id"}
    posts, quarantined = _import(path, MapOptions(platform="twitter", column_map=column_map))
    assert quarantined == []
    assert len(posts) == 12


def test_without_a_platform_every_row_says_to_pass_platform(fixtures: Path) -> None:
    path = fixtures / "generic_csv" / "crisislex_t26_colorado_floods_head.csv"
    posts, quarantined = _import(path, MapOptions(column_map=T26_MAP))
    assert posts == []
    assert quarantined[0].field == "platform"
    assert "--platform" in quarantined[0].reason
    assert quarantined[0].location.line == 2


def test_a_mapped_column_that_does_not_exist_is_named(fixtures: Path) -> None:
    path = fixtures / "generic_csv" / "crisislex_t26_colorado_floods_head.csv"
    column_map = {**T26_MAP, "text": "Body"}
    _, quarantined = _import(path, MapOptions(platform="twitter", column_map=column_map))
    assert quarantined[0].field == "text"
    assert "'Body'" in quarantined[0].reason
    assert "'Tweet Text'" in quarantined[0].reason


def test_common_headers_are_mapped_without_a_column_map(fixtures: Path) -> None:
    posts, quarantined = _import(
        fixtures / "generic_csv" / "plain_posts.csv", MapOptions(platform="Mastodon")
    )
    by_id = {p.native_id: p for p in posts}
    first = by_id["p-001"]
    assert first.platform == "mastodon"
    assert first.created_at == datetime(2024, 3, 1, 7, 15, tzinfo=UTC)
    assert first.text == "Bridge closed after the storm"
    assert first.author_handle == "harbour_desk"
    assert first.url == "https://example.org/p/1"
    assert first.langs == ("en",)
    assert first.lang_source == "platform"
    assert first.hashtags == ("storm", "bridge")
    assert by_id["p-002"].created_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert by_id["p-002"].url is None
    assert by_id["p-002"].langs == ()
    assert by_id["p-002"].lang_source is None
    assert by_id["p-003"].created_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert by_id["p-004"].created_at == datetime(2024, 3, 1, 9, 0, 0, 123000, tzinfo=UTC)
    assert by_id["p-003"].author_handle is None  # blank cell: absent, never ""
    assert by_id["p-008"].text is None  # text is optional
    reasons = {q.location.line: (q.field, q.reason) for q in quarantined}
    assert set(reasons) == {6, 7, 8}
    assert reasons[6][0] == "created_at"
    assert "empty" in reasons[6][1]
    assert reasons[7][0] == "id"
    assert "empty" in reasons[7][1]
    assert reasons[8][0] == "created_at"
    assert "01/03/2024 10:00" in reasons[8][1]


def test_default_timezone_applies_to_naive_times_only(fixtures: Path) -> None:
    options = MapOptions(platform="mastodon", default_timezone="America/New_York")
    posts, _ = _import(fixtures / "generic_csv" / "plain_posts.csv", options)
    by_id = {p.native_id: p for p in posts}
    assert by_id["p-002"].created_at == datetime(2024, 3, 1, 14, 0, tzinfo=UTC)  # EST, UTC-5
    assert by_id["p-001"].created_at == datetime(2024, 3, 1, 7, 15, tzinfo=UTC)  # had its own offset


def test_an_unknown_default_timezone_is_reported() -> None:
    row = {"id": "1", "date": "2024-03-01 09:00:00"}
    with pytest.raises(BadRecord) as caught:
        _map_row(row, MapOptions(platform="x", default_timezone="Mars/Olympus"))
    assert caught.value.field == "default_timezone"


def test_a_platform_column_can_be_mapped() -> None:
    row = {"Post": "42", "When": "2020-01-01T00:00:00Z", "Site": "Reddit"}
    column_map = {"native_id": "Post", "created_at": "When", "platform": "Site"}
    post = _map_row(row, MapOptions(column_map=column_map))
    assert post.platform == "reddit"
    assert post.native_id == "42"


def test_an_empty_mapping_switches_off_a_guessed_column() -> None:
    row = {"id": "1", "date": "2024-03-01 09:00:00", "text": "hello"}
    post = _map_row(row, MapOptions(platform="x", column_map={"text": ""}))
    assert post.text is None


def test_a_file_without_a_time_column_says_how_to_map_one() -> None:
    with pytest.raises(BadRecord) as caught:
        _map_row({"Tweet ID": "1", "Tweet Text": "hi"}, MapOptions(platform="twitter"))
    assert caught.value.field == "created_at"
    assert "snowflake:" in caught.value.reason


def test_an_excel_mangled_id_is_refused_with_advice() -> None:
    with pytest.raises(BadRecord, match="scientific notation"):
        _map_row({"id": "3.76844E+17", "date": "2013-09-09"}, MapOptions(platform="twitter"))


def test_plain_csv_is_detected_as_generic_csv(fixtures: Path) -> None:
    names = ("plain_posts.csv", "crisislex_t26_colorado_floods_head.csv", "crisislex_t6_sandy_head.csv")
    assert_all_detected([fixtures / "generic_csv" / name for name in names], "csv")


@given(st.integers(min_value=0, max_value=10**15))
def test_counts_round_trip_with_and_without_thousands_separators(number: int) -> None:
    assert parse_count(str(number), field="n") == number
    assert parse_count(f"{number:,}", field="n") == number
    assert parse_count(f"{number:,}".replace(",", "\u202f"), field="n") == number


@given(st.text(alphabet="0123456789,.x- ", min_size=1, max_size=12))
def test_count_parsing_never_guesses(text: str) -> None:
    try:
        value = parse_count(text, field="n")
    except BadRecord:
        return  # refusing is always allowed; accepting a wrong number is not
    if value is not None:  # accepted only when the digits say exactly one number
        assert value == int(re.sub(r"\D", "", re.sub(r"\.0+$", "", text.strip())))


@pytest.mark.parametrize("text", ["1,2x4", "1,23", "12,34,567", "-5", "1.5", "abc"])
def test_malformed_counts_are_rejected(text: str) -> None:
    with pytest.raises(BadRecord):
        parse_count(text, field="Likes")


@given(
    st.datetimes(
        min_value=datetime(1995, 1, 1),
        max_value=datetime(2090, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_iso_and_epoch_times_parse_to_the_same_instant(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    assert parse_time(moment.isoformat(), field="t") == moment
    assert parse_time(str(int(moment.timestamp())), field="t") == moment
    assert parse_time(str(int(moment.timestamp()) * 1000), field="t") == moment
    assert parse_time(moment.strftime("%a %b %d %H:%M:%S %z %Y"), field="t") == moment


@pytest.mark.parametrize(
    ("raw", "expected"), [("'262596552399396864'", "262596552399396864"), ("'0042", "0042")]
)
def test_spreadsheet_quoting_of_ids_is_removed(raw: str, expected: str) -> None:
    assert parse_native_id(raw, field="id") == expected
