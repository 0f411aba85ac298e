"""YouTube importers on recorded Data API v3 responses: videos, search, comments, detection, bad items."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.connectors.helpers import (
    FIXTURE_ROOT,
    JSON,
    assert_only_bad_record,
    assert_sniffers_reject,
    detected,
    import_file,
    posts_by_id,
)
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.youtube.mapping import map_document, map_lines
from watchfloor.domain.post import Envelope, Location, Post, Quarantined

HERE = FIXTURE_ROOT / "youtube"
LOC = Location(source="test", line=1)


def _only_post(items: list[Envelope | Quarantined]) -> Post:
    assert len(items) == 1
    envelope = items[0]
    assert isinstance(envelope, Envelope)
    assert envelope.post is not None
    return envelope.post


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("videos_info_single.json", "youtube-api-document"),
        ("comment_threads_by_video.json", "youtube-api-document"),
        ("search_channels.json", "youtube-api-document"),
        ("responses.jsonl", "youtube-api"),
    ],
)
def test_detects_youtube_fixtures(name: str, expected: str) -> None:
    assert detected(HERE / name) == expected


def test_video_from_videos_list() -> None:
    video = _only_post(import_file(HERE / "videos_info_single.json", "youtube-api-document"))
    assert video.native_id == "D-lhorsDlUQ"
    assert video.url == "https://www.youtube.com/watch?v=D-lhorsDlUQ"
    assert video.title == "What are Actions on Google (Assistant on Air)"
    assert video.text is not None
    assert video.text.startswith("In the first episode of Assistant on Air, Luke Davis")
    assert video.created_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert (video.author_id, video.author_name) == ("UC_x5XG1OV2P6uZZ5FSM9Ttw", "Google Developers")
    assert video.langs == ("en",)
    assert video.lang_source == "platform"
    assert video.hashtags == ()  # its 20 tags are hidden keywords, not hashtags
    assert video.metrics is None  # the response did not ask for statistics
    assert video.media[0].kind == "video"
    assert video.media[0].preview_url == "https://i.ytimg.com/vi/D-lhorsDlUQ/maxresdefault.jpg"
    assert video.source == "youtube-api-document"


def test_chart_videos_strip_language_regions() -> None:
    posts = posts_by_id(import_file(HERE / "responses.jsonl", "youtube-api"))
    assert posts["MKM90u7pf3U"].langs == ("zh",)  # defaultAudioLanguage "zh-Hans"
    assert posts["MKM90u7pf3U"].author_name == "Kanye West"
    assert posts["h107pApTY84"].langs == ("en",)  # "en" and "en" once


def test_search_results_are_unescaped_snippets_and_channels_are_skipped() -> None:
    items = import_file(HERE / "responses.jsonl", "youtube-api")
    posts = posts_by_id(items)
    surf = posts["i2hewkFijuY"]
    assert surf.title == "SURFING PERFECT PIPE & BACKDOOR || SUNRISE SHACK!"
    assert surf.author_name == "Koa Rothman"
    assert surf.created_at == datetime(2019, 12, 4, 16, 0, 8, tzinfo=UTC)
    assert surf.metrics is None
    assert posts["lVQ1EKR1v1I"].title == "YouTube's API and The News"
    channel = [i for i in items if isinstance(i, Envelope) and i.location.line == 5]
    assert len(channel) == 1
    assert channel[0].skipped_reason == "YouTube youtube#channel is not a video or a comment"
    skipped = import_file(HERE / "search_channels.json", "youtube-api-document")
    assert len(skipped) == 5
    assert all(isinstance(i, Envelope) and i.skipped_reason for i in skipped)
    assert "youtube#channel" in str(skipped[0].skipped_reason)  # type: ignore[union-attr]


def test_comment_threads_map_text_links_hashtags_and_replies() -> None:
    items = import_file(HERE / "comment_threads_by_video.json", "youtube-api-document")
    assert [i.location.index for i in items] == [0, 1, 2, 3, 4]
    posts = posts_by_id(items)
    hashtag = posts["comment:UgwI_ylXVnzPS8Q-oAV4AaABAg"]
    assert hashtag.text is not None
    assert hashtag.text.startswith("Lot's of good light coming in from here #ChromeDevSummit")
    assert hashtag.hashtags == ("ChromeDevSummit", "chromedevsummit")
    assert hashtag.urls == ()  # hashtag links are not links the author shared
    assert hashtag.metrics is not None
    assert (hashtag.metrics.likes, hashtag.metrics.replies) == (0, 2)
    assert (hashtag.reply_to, hashtag.reply_root) == ("F1UP7wRCPH8", "F1UP7wRCPH8")
    assert hashtag.url == "https://www.youtube.com/watch?v=F1UP7wRCPH8&lc=UgwI_ylXVnzPS8Q-oAV4AaABAg"
    link = posts["comment:UgyZ1jqkHKYvi1-ruOZ4AaABAg"]
    assert link.urls == ("http://google.com/",)
    assert (link.author_name, link.author_id) == ("himani agarwal", "UCzj-CjKYmGlZ7vTL-vOe57A")
    assert link.created_at == datetime(2019, 11, 26, 15, 51, 44, tzinfo=UTC)
    assert link.edited_at is None  # updatedAt equals publishedAt


def test_channel_comments_and_reply_lists() -> None:
    posts = posts_by_id(import_file(HERE / "responses.jsonl", "youtube-api"))
    on_channel = posts["comment:UgwSRpgkjCe6OHHe3IJ4AaABAg"]
    assert on_channel.text == "中午吃啥"
    assert (on_channel.reply_to, on_channel.reply_root, on_channel.url) == (None, None, None)
    reply = posts["comment:Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh"]
    assert reply.reply_to == "comment:Ugw5zYU6n9pmIgAZWvN4AaABAg"
    assert reply.text == "this is the third reply!"
    bare = posts["comment:Ugy_CAftKrIUCyPr9GR4AaABAg.9iPXEClD9lW9iPXLqKy_Pt"]
    assert bare.created_at == datetime(2022, 11, 14, 10, 23, 2, tzinfo=UTC)


# The recorded responses never asked for statistics, contentDetails or embedded replies; these items
# follow the Data API v3 reference (string counts, ytRating, replies.comments) and are built here.
def _video(**extra: object) -> dict[str, object]:
    item: dict[str, object] = {
        "kind": "youtube#video",
        "id": "abcdefghijk",
        "snippet": {"publishedAt": "2024-05-01T10:00:00Z", "channelId": "UCx", "title": "t"},
    }
    item.update(extra)
    return item


def test_statistics_strings_become_ints_and_hidden_counts_stay_absent() -> None:
    stats = {"viewCount": "1234", "commentCount": "7"}  # likeCount hidden by the uploader
    rating = {"contentRating": {"ytRating": "ytAgeRestricted"}}
    post = _only_post(
        map_lines(orjson.dumps(_video(statistics=stats, contentDetails=rating)), LOC, MapOptions())
    )
    assert post.metrics is not None
    assert (post.metrics.views, post.metrics.likes, post.metrics.replies) == (1234, None, 7)
    assert post.sensitive is True
    assert post.text is None  # no description given


def test_thread_with_embedded_replies_yields_one_envelope_each() -> None:
    def comment(cid: str, text: str, **snippet: object) -> dict[str, object]:
        base = {"textDisplay": text, "publishedAt": "2024-05-01T10:00:00Z", "likeCount": 3}
        return {"kind": "youtube#comment", "id": cid, "snippet": {**base, **snippet}}

    thread = {
        "kind": "youtube#commentThread",
        "id": "Ugroot",
        "snippet": {
            "videoId": "abcdefghijk",
            "totalReplyCount": 1,
            "topLevelComment": comment("Ugroot", "hi"),
        },
        "replies": {
            "comments": [
                comment("Ugroot.r1", "a<br>b", parentId="Ugroot", updatedAt="2024-05-02T00:00:00Z"),
            ]
        },
    }
    response = {"kind": "youtube#commentThreadListResponse", "items": [thread]}
    items = map_lines(orjson.dumps(response), LOC, MapOptions())
    assert [i.location.index for i in items] == [0, 1]
    assert "replies" not in orjson.loads(items[0].raw)
    reply = items[1]
    assert isinstance(reply, Envelope)
    assert reply.post is not None
    assert reply.post.text == "a\nb"
    assert (reply.post.reply_to, reply.post.reply_root) == ("comment:Ugroot", "abcdefghijk")
    assert reply.post.edited_at == datetime(2024, 5, 2, tzinfo=UTC)


def test_document_may_be_an_array_of_bare_resources() -> None:
    items = map_document(orjson.dumps([_video(id="first000001"), _video()]), LOC, MapOptions())
    assert [i.location.index for i in items] == [0, 1]
    assert set(posts_by_id(items)) == {"first000001", "abcdefghijk"}


@pytest.mark.parametrize(
    ("item", "field", "reason_part"),
    [
        (_video(snippet={"title": "no time"}), "snippet.publishedAt", "ISO-8601"),
        (_video(snippet={"publishedAt": "3024-01-01T00:00:00Z"}), "snippet.publishedAt", "impossible"),
        (_video(snippet={"publishedAt": "2024-02-30T00:00:00Z"}), "snippet.publishedAt", "not an ISO"),
        (_video(statistics={"viewCount": "many"}), "statistics.viewCount", "count"),
        (_video(snippet="text"), "snippet", "not an object"),
        (_video(id=None), "id", "no id"),
    ],
)
def test_bad_items_are_quarantined_while_neighbours_map(item: object, field: str, reason_part: str) -> None:
    response = {"kind": "youtube#videoListResponse", "items": [_video(id="good0000001"), item, _video()]}
    items = map_lines(orjson.dumps(response), LOC, MapOptions())
    bad = items[1]
    assert isinstance(bad, Quarantined)
    assert bad.field == field
    assert reason_part in bad.reason
    assert bad.location.index == 1
    assert set(posts_by_id(items)) == {"good0000001", "abcdefghijk"}


def test_bad_lines_are_quarantined_whole(tmp_path: Path) -> None:
    path = tmp_path / "responses.jsonl"
    good = (HERE / "responses.jsonl").read_bytes().splitlines()[3]
    lines = [
        b'{"kind": "youtube#videoListResponse", "items": [',
        b'{"error": {"code": 403, "message": "no"}}',
        good,
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = import_file(path, "youtube-api")
    assert isinstance(items[0], Quarantined)
    assert "not valid JSON" in items[0].reason
    assert isinstance(items[1], Quarantined)
    assert items[1].field == "error"
    assert len(posts_by_id(items[2:])) == 2


def test_sniffers_reject_other_formats(tmp_path: Path) -> None:
    samples = {
        "jetstream.jsonl": b'{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{}}\n',
        "listing.json": b'{"kind": "Listing", "data": {"children": []}}\n',
        "pretty.json": b'{\n  "kind": "Listing",\n  "data": {"children": []}\n}\n',
        "statuses.json": b'[\n {"id": "1", "content": "x", "account": {}}\n]\n',
        "ct.csv": b"Page Name,User Name,Facebook Id,Post Created,Message\nx,y,1,2020-01-01,hi\n",
    }
    assert_sniffers_reject(tmp_path, samples, ("youtube-api", "youtube-api-document"))


_snippet_keys = [
    "publishedAt", "updatedAt", "channelId", "channelTitle", "title", "description", "thumbnails",
    "defaultLanguage", "textDisplay", "textOriginal", "authorDisplayName", "authorChannelId", "likeCount",
    "parentId", "videoId", "topLevelComment", "totalReplyCount",
]  # fmt: skip
_valid_snippet = {"publishedAt": "2024-05-01T10:00:00Z", "textDisplay": "<a href='x'>#y</a>", "videoId": "v"}
# A valid snippet with a few fields replaced by arbitrary JSON reaches the deep paths of the mapper.
_snippet = st.one_of(
    st.fixed_dictionaries({}, optional=dict.fromkeys(_snippet_keys, JSON)),
    st.builds(
        lambda extra: {**_valid_snippet, **extra}, st.dictionaries(st.sampled_from(_snippet_keys), JSON)
    ),
)
_kinds = st.sampled_from(
    ["youtube#video", "youtube#comment", "youtube#commentThread", "youtube#searchResult"]
)
_item = st.fixed_dictionaries(
    {"kind": _kinds},
    optional={
        "id": JSON,
        "snippet": _snippet,
        "statistics": JSON,
        "replies": JSON,
        "recordingDetails": JSON,
    },
)
_response = st.builds(lambda items: {"kind": "youtube#videoListResponse", "items": items}, st.lists(_item))


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, _item, _response))
def test_mappers_raise_only_bad_record_on_arbitrary_json(value: object) -> None:
    assert_only_bad_record((map_lines, map_document), value, LOC)
