"""Twitter import: real v1.1 (PHEME) and twarc2 (API v2) files map to the posts a user expects."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings

from tests.connectors.helpers import FIXTURE_ROOT, detected, fixture_files, import_file, json_lines, mutated
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.files import read_sample
from watchfloor.connectors.twitter import sniff_twarc2, sniff_v1
from watchfloor.connectors.twitter.mapping import map_v1_line, map_v1_object
from watchfloor.connectors.twitter.mapping_v2 import map_twarc2_line
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Geotag, Location, Metrics, Post, Quarantined

FIXTURES = FIXTURE_ROOT / "twitter"


def _posts(items: list[Envelope | Quarantined], line: int | None = None) -> list[Post]:
    return [
        i.post
        for i in items
        if isinstance(i, Envelope) and i.post is not None and (line is None or i.location.line == line)
    ]


def _skips(items: list[Envelope | Quarantined]) -> list[str]:
    return [i.skipped_reason for i in items if isinstance(i, Envelope) and i.skipped_reason is not None]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("pheme_v1.jsonl", "twitter-v1"),
        ("pheme_ebola-essien.json.gz", "twitter-v1"),
        ("v1_constructed.jsonl", "twitter-v1"),
        ("v1_malformed.jsonl", "twitter-v1"),
        ("twarc2_streaming_output_with_error.jsonl", "twarc2"),
        ("twarc2_geo_tweets.jsonl", "twarc2"),
        ("twarc2_edited_before.jsonl", "twarc2"),
        ("twarc2_quoted_edit.jsonl", "twarc2"),
        ("twarc2_media_tweet.jsonl", "twarc2"),
        ("twarc2_counts.jsonl", "twarc2"),
        ("twarc2_lists.jsonl", "twarc2"),
        ("twarc2_flat.jsonl.gz", "twarc2"),
        ("twarc2_constructed.jsonl", "twarc2"),
    ],
)
def test_detects_each_fixture(name: str, fmt: str) -> None:
    assert detected(FIXTURES / name) == fmt


def test_sniffers_score_zero_on_other_platforms_fixtures() -> None:
    for path in fixture_files("bluesky", "mastodon"):
        sample = read_sample(path)
        assert (sniff_v1(sample), sniff_twarc2(sample)) == (0, 0), path.name


def test_v1_and_twarc2_sniffers_do_not_claim_each_other() -> None:
    assert sniff_twarc2(read_sample(FIXTURES / "pheme_v1.jsonl")) == 0
    assert sniff_v1(read_sample(FIXTURES / "twarc2_flat.jsonl.gz")) == 0
    assert sniff_v1(read_sample(FIXTURES / "twarc2_geo_tweets.jsonl")) == 0


# --- API v1.1 -----------------------------------------------------------------------------------------


def test_real_v1_status_with_point_place_photo_and_entities() -> None:
    (post,) = _posts(import_file(FIXTURES / "pheme_v1.jsonl", "twitter-v1"), line=1)
    assert post.platform == "twitter"
    assert post.native_id == "552986187364065281"
    assert post.url == "https://twitter.com/MattNavarra/status/552986187364065281"
    assert post.created_at == datetime(2015, 1, 8, 0, 32, 35, tzinfo=UTC)
    assert (post.author_id, post.author_handle, post.author_name) == (
        "16211566",
        "MattNavarra",
        "Matt Navarra",
    )
    assert post.hashtags == ("Banksy", "Instagram", "CharlieHebdo")
    assert post.urls == ("http://instagram.com/p/xkgkBSKlWu",)
    (photo,) = post.media
    assert (photo.kind, photo.url) == ("image", "https://pbs.twimg.com/media/B6yaAF2IUAEpj-S.jpg")
    # GeoJSON order is [longitude, latitude]
    assert post.geo == Geotag(
        latitude=51.650168, longitude=-3.241519, place_name="Wales, United Kingdom", country_code="GB"
    )
    assert post.metrics == Metrics(likes=74, reposts=199)
    assert post.langs == ("en",)
    assert post.lang_source == "platform"
    assert post.source == "twitter-v1"
    assert post.source_version == "1"


def test_real_v1_text_is_unescaped_and_all_photos_are_kept() -> None:
    (post,) = _posts(import_file(FIXTURES / "pheme_v1.jsonl", "twitter-v1"), line=2)
    assert post.text is not None
    assert "wearing hoods & black clothing" in post.text
    assert [m.native_id for m in post.media] == [
        "552832627766345729",
        "552832627728580608",
        "552832628227715072",
    ]


def test_real_v1_place_without_point_and_mentions() -> None:
    items = import_file(FIXTURES / "pheme_v1.jsonl", "twitter-v1")
    (ottawa,) = _posts(items, line=5)
    assert ottawa.geo == Geotag(place_name="Ottawa, Ontario", country_code="CA")
    assert ottawa.author_handle == "OttawaPolice"
    (wsj,) = _posts(items, line=7)
    assert wsj.mentions == ("MaryLaneWSJ", "berlinfraut", "HarrietTorry")
    assert wsj.geo is None
    assert wsj.sensitive is False


def test_real_pheme_file_is_one_array_mapped_element_by_element() -> None:
    items = import_file(FIXTURES / "pheme_ebola-essien.json.gz", "twitter-v1")
    assert len(items) == 14
    assert [i.location.index for i in items] == list(range(14))
    assert all(isinstance(i, Envelope) and i.post is not None for i in items)
    first = items[0]
    assert first.post is not None
    assert first.post.native_id == "521369179392581632"
    assert orjson.loads(first.raw)["id_str"] == "521369179392581632"  # the element, not the whole array
    essien = _posts(items)[1]
    assert essien.author_handle == "MichaelEssien"
    assert essien.metrics == Metrics(likes=4145, reposts=10402)
    assert essien.sensitive is None  # possibly_sensitive absent in this status


def test_v1_extended_tweet_retweet_and_quote() -> None:
    items = import_file(FIXTURES / "v1_constructed.jsonl", "twitter-v1")
    (original,) = _posts(items, line=1)
    assert original.text is not None
    assert original.text.endswith("— please share & stay safe")  # extended_tweet.full_text, unescaped
    assert original.hashtags == ("roads", "flood")
    assert original.urls == ("https://city.example/closures",)
    (video,) = original.media
    assert video.kind == "video"
    assert video.url == "https://video.twimg.com/ext_tw_video/1500000000000000101/pu/vid/1280x720/high.mp4"
    assert video.alt_text == "Map of the closed roads"
    assert original.metrics == Metrics(likes=30, reposts=12, replies=4, quotes=2)

    embedded, retweet = _posts(items, line=2)
    assert embedded == original
    assert retweet.native_id == "1500000000000000002"
    assert retweet.repost_of == "1500000000000000001"
    assert retweet.author_handle == "wf_bob"
    assert (retweet.text, retweet.mentions, retweet.metrics) == (None, (), None)

    quote, quoted = _posts(items, line=3)
    assert quote.quote_of == "1500000000000000001"
    assert quoted.native_id == "1500000000000000001"
    assert quote.created_at == datetime(2022, 3, 1, 15, 0, tzinfo=UTC)  # "10:00:00 -0500"
    assert quote.text == "This matches what we saw at exit 4 https://t.co/QuoteQuote"
    assert quote.langs == ()  # "und"
    assert quote.sensitive is True


def test_v1_reply_geotag_delete_and_notices() -> None:
    items = import_file(FIXTURES / "v1_constructed.jsonl", "twitter-v1")
    (reply,) = _posts(items, line=4)
    assert reply.reply_to == "1500000000000000003"
    assert reply.geo == Geotag(
        latitude=52.520008, longitude=13.404954, place_name="Berlin, Germany", country_code="DE"
    )
    assert reply.langs == ()  # "qme": media links only
    deletions = [i.deletion for i in items if isinstance(i, Envelope) and i.deletion]
    assert [(d.native_id, d.deleted_at) for d in deletions] == [
        ("1500000000000000005", datetime(2022, 3, 1, 11, 0, tzinfo=UTC))
    ]
    assert _skips(items) == ["stream notice 'limit' is not a post", "user object is not a post"]


def test_v1_malformed_records_are_quarantined_and_neighbours_still_map() -> None:
    items = import_file(FIXTURES / "v1_malformed.jsonl", "twitter-v1")
    assert [i.location.line for i in items if isinstance(i, Envelope)] == [1, 6]
    bad = {i.location.line: i for i in items if isinstance(i, Quarantined)}
    assert bad[2].reason.startswith("not valid JSON")
    assert (bad[3].field, bad[3].reason) == ("id_str", "missing or not a numeric id")
    assert (bad[4].field, bad[4].reason) == (
        "created_at",
        "not a Twitter timestamp: 'Wed Feb 30 25:61:00 +0000 2022'",
    )
    assert (bad[5].field, bad[5].reason) == ("text", "expected a string, got dict")


def test_v1_malformed_optional_references_are_dropped_not_quarantined() -> None:
    line = {
        "id_str": "1500000000000000042",
        "created_at": "Tue Mar 01 10:00:00 +0000 2022",
        "text": "a reply whose references are not ids",
        "user": {"id_str": "not-a-number", "screen_name": "someone"},
        "in_reply_to_status_id_str": "abc",
        "quoted_status_id": -5,
    }
    (envelope,) = map_v1_object(line, orjson.dumps(line), Location(source="test.jsonl", line=1))
    post = envelope.post
    assert post is not None
    assert (post.author_id, post.reply_to, post.quote_of) == (None, None, None)
    assert post.author_handle == "someone"


# --- twarc2 / API v2 --------------------------------------------------------------------------------


def test_stream_page_joins_includes_and_quarantines_the_broken_line() -> None:
    items = import_file(FIXTURES / "twarc2_streaming_output_with_error.jsonl", "twarc2")
    first = [i for i in items if i.location.line == 1]
    assert [i.location.index for i in first] == [0, None]  # the tweet, then the quoted tweet it includes
    quoting, quoted = _posts(first)
    assert quoting.native_id == "1377650090978992134"
    assert quoting.created_at == datetime(2021, 4, 1, 15, 52, 31, tzinfo=UTC)
    assert (quoting.author_id, quoting.author_handle, quoting.author_name) == (
        "4602771083",
        "blackheart_265",
        "Endangered Species",
    )
    assert quoting.collected_at == datetime(2021, 4, 1, 15, 52, 42, tzinfo=UTC)
    assert quoting.quote_of == "1377640162566496258"
    assert quoting.urls == ("https://twitter.com/Manie_DS/status/1377640162566496258",)  # photo link dropped
    (photo,) = quoting.media
    assert (photo.kind, photo.url, photo.native_id) == (
        "image",
        "https://pbs.twimg.com/media/Ex5ldKwXEAEnEnI.jpg",
        "3_1377650087799754753",
    )
    assert quoting.geo == Geotag(place_name="Malawi", country_code="MW")
    assert quoted.native_id == "1377640162566496258"
    assert quoted.author_handle == "Manie_DS"
    (broken,) = [i for i in items if isinstance(i, Quarantined)]
    assert broken.location.line == 8
    assert broken.reason.startswith("not valid JSON")
    assert len(_posts(items)) == 11


def test_page_raw_payload_is_the_flattened_tweet_and_maps_back_to_the_same_post() -> None:
    items = import_file(FIXTURES / "twarc2_streaming_output_with_error.jsonl", "twarc2")
    envelope = items[0]
    assert isinstance(envelope, Envelope)
    flat = orjson.loads(envelope.raw)
    assert flat["author"]["username"] == "blackheart_265"
    assert flat["attachments"]["media"][0]["media_key"] == "3_1377650087799754753"
    again = map_twarc2_line(envelope.raw, Location(source="replay"), MapOptions())
    assert isinstance(again[0], Envelope)
    assert again[0].post == envelope.post


def test_v2_point_is_longitude_first_and_reply_keeps_the_thread_root() -> None:
    items = import_file(FIXTURES / "twarc2_geo_tweets.jsonl", "twarc2")
    (instagram,) = _posts(items, line=1)
    assert instagram.geo == Geotag(latitude=88.01785747, longitude=42.77810097)
    assert instagram.langs == ("pl",)
    assert "zostańwdomu" in instagram.hashtags
    reply, parent = _posts(items, line=2)
    assert reply.reply_to == "1501958949863661574"
    assert reply.reply_root == "1501958949863661574"
    assert reply.geo == Geotag(place_name="Berlin, Germany", country_code="DE")
    assert reply.mentions == ("j2bryson", "Twitter")
    assert reply.text is not None
    assert "Fields & Expansions" in reply.text
    assert parent.native_id == "1501958949863661574"
    assert parent.metrics == Metrics(likes=5, reposts=1, replies=2, quotes=0)


def test_edited_tweet_keeps_the_latest_version() -> None:
    items = import_file(FIXTURES / "twarc2_edited_before.jsonl", "twarc2")
    assert _skips(items) == [
        "older version of an edited tweet; the latest version 1576994789110992896 is in this line too"
    ]
    (latest,) = _posts(items)
    assert latest.native_id == "1576994789110992896"
    assert latest.text == "hey :) https://t.co/rnwEIoNuqd"
    assert latest.edited_at == datetime(2022, 10, 3, 17, 57, 11, tzinfo=UTC)
    assert latest.langs == ()  # "qst": too short to tell


def test_video_takes_the_best_mp4_and_its_still() -> None:
    (post,) = _posts(import_file(FIXTURES / "twarc2_media_tweet.jsonl", "twarc2"))
    (video,) = post.media
    assert video.kind == "video"
    assert video.url is not None
    assert video.url.startswith("https://video.twimg.com/ext_tw_video/1558552952549277696/pu/vid/1280x720/")
    assert (
        video.preview_url
        == "https://pbs.twimg.com/ext_tw_video_thumb/1558552952549277696/pu/img/7VaQu-AvReI8RHkv.jpg"
    )
    assert video.mime_type == "video/mp4"
    assert post.urls == ()


def test_flattened_lines_map_retweets_as_pointers_to_their_originals() -> None:
    items = import_file(FIXTURES / "twarc2_flat.jsonl.gz", "twarc2")
    assert not [i for i in items if isinstance(i, Quarantined)]
    assert len({i.location.line for i in items}) == 100
    retweet, original = _posts(items, line=1)
    assert retweet.native_id == "1380242611781386245"
    assert retweet.author_handle == "Alexandravm12"
    assert retweet.repost_of == original.native_id == "1380175475545362437"
    assert (retweet.text, retweet.metrics) == (None, None)
    assert original.author_handle == "williamserafino"
    assert original.text is not None
    assert original.text.startswith("De manera simultánea")
    assert original.metrics == Metrics(likes=241, reposts=410, replies=13, quotes=16)


def test_non_tweet_lines_are_skipped_with_reasons() -> None:
    assert _skips(import_file(FIXTURES / "twarc2_counts.jsonl", "twarc2")) == ["tweet counts are not posts"]
    assert (
        _skips(import_file(FIXTURES / "twarc2_lists.jsonl", "twarc2")) == ["list objects are not posts"] * 2
    )
    skips = _skips(import_file(FIXTURES / "twarc2_constructed.jsonl", "twarc2"))
    assert skips == [
        "page holds only 1 error(s), no tweets "
        "(first: Could not find tweet with ids: [1600000000000000099].)",
        "user objects are not posts",
        "compliance record (delete: deleted) is not a post",
    ]


def test_constructed_page_note_tweet_bad_element_and_orphan_retweet() -> None:
    items = import_file(FIXTURES / "twarc2_constructed.jsonl", "twarc2")
    page = [i for i in items if i.location.line == 1]
    assert [(i.location.index, type(i).__name__) for i in page] == [
        (0, "Envelope"),
        (1, "Quarantined"),
        (2, "Envelope"),
    ]
    long_post, orphan = _posts(page)
    assert long_post.text is not None
    assert long_post.text.endswith("characters. #longform")  # note_tweet.text, not the cut text
    assert long_post.hashtags == ("longform",)
    assert long_post.metrics == Metrics(likes=3, reposts=1, replies=2, quotes=4, views=500)
    bad = page[1]
    assert isinstance(bad, Quarantined)
    assert bad.field == "created_at"
    assert "2023-02-30" in bad.reason
    # the original is missing from the page, so the retweet keeps the only copy of the text
    assert orphan.repost_of == "1599999999999999999"
    assert orphan.text == "RT @wf_gone: this original was not included"
    assert orphan.metrics is None
    tail = {i.location.line: i for i in items if isinstance(i, Quarantined) and i.location.index is None}
    assert tail[5].reason.startswith("not valid JSON")
    assert tail[6].reason == "expected a JSON object, got list"


def test_broken_referenced_tweet_fails_alone_in_a_flattened_line() -> None:
    line = [i for i in import_file(FIXTURES / "twarc2_constructed.jsonl", "twarc2") if i.location.line == 7]
    quoting, broken = line
    assert isinstance(quoting, Envelope)
    assert quoting.post is not None
    assert quoting.post.quote_of == "1600000000000000021"
    assert quoting.post.author_handle == "wf_alice"
    assert isinstance(broken, Quarantined)
    assert broken.field == "referenced_tweets.created_at"


# --- robustness -------------------------------------------------------------------------------------

_V1_BASES = json_lines(FIXTURES / "pheme_v1.jsonl", FIXTURES / "v1_constructed.jsonl")
_V2_BASES = [
    *json_lines(
        FIXTURES / "twarc2_streaming_output_with_error.jsonl",
        FIXTURES / "twarc2_geo_tweets.jsonl",
        FIXTURES / "twarc2_edited_before.jsonl",
        FIXTURES / "twarc2_constructed.jsonl",
    ),
    # flattened lines: one tweet with its expansions inlined
    *json_lines(FIXTURES / "twarc2_flat.jsonl.gz")[:5],
]


@settings(max_examples=300, deadline=None)
@given(mutated(_V1_BASES))
def test_v1_mapper_raises_only_bad_record_on_mutated_statuses(value: object) -> None:
    try:
        result = map_v1_line(json.dumps(value).encode(), Location(source="t"), MapOptions())
    except BadRecord:
        return
    assert all(isinstance(item, Envelope | Quarantined) for item in result)


@settings(max_examples=300, deadline=None)
@given(mutated(_V2_BASES))
def test_twarc2_mapper_raises_only_bad_record_on_mutated_pages(value: object) -> None:
    try:
        result = map_twarc2_line(json.dumps(value).encode(), Location(source="t"), MapOptions())
    except BadRecord:
        return
    assert all(isinstance(item, Envelope | Quarantined) for item in result)
    assert Counter(type(item) for item in result)  # a line never vanishes without an entry
