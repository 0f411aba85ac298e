"""Telegram importers: real channel posts, constructed Telethon and Desktop exports, UTF-16 entity offsets."""

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
from watchfloor.connectors.telegram.desktop import map_export
from watchfloor.connectors.telegram.mapping import map_messages, utf16_slice
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Quarantined

HERE = FIXTURE_ROOT / "telegram"
LOC = Location(source="test")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ru_news_naked_science.json.gz", "telegram-messages"),
        ("telethon_constructed.json", "telegram-messages"),
        ("desktop_result.json", "telegram-desktop"),
    ],
)
def test_detects_telegram_fixtures(name: str, expected: str) -> None:
    assert detected(HERE / name) == expected


def test_real_channel_posts_map_ids_times_text_and_channel() -> None:
    items = import_file(HERE / "ru_news_naked_science.json.gz", "telegram-messages")
    assert len(items) == 20
    assert [i.location.index for i in items] == list(range(20))
    posts = posts_by_id(items)
    assert len(posts) == 20
    first = posts["1000724666/11877"]
    assert first.created_at == datetime(2024, 12, 4, 9, 0, 28, tzinfo=UTC)
    assert first.text is not None
    assert first.text.startswith("В Китае нашли ударный кратер необычной формы\n\nhttps://naked-science.ru/")
    assert (first.author_id, first.author_name) == ("channel1000724666", "Naked Science")
    assert first.conversation == "Naked Science"
    assert first.url is None  # the dataset does not give the channel's username
    assert first.source == "telegram-messages"
    assert first.hashtags == ()  # no entities in this dataset: nothing is guessed from the text
    assert posts["1000724666/11858"].created_at == datetime(2024, 12, 2, 8, 58, 51, tzinfo=UTC)
    raw = orjson.loads(items[0].raw)
    assert raw["category"] == "science"  # each envelope keeps its message verbatim


def test_telethon_entities_use_utf16_offsets_after_emoji() -> None:
    items = import_file(HERE / "telethon_constructed.json", "telegram-messages")
    post = posts_by_id(items)["1000000002/2"]
    assert post.text is not None
    assert post.text.startswith("🚨 Bridge closed. #traffic")
    assert post.hashtags == ("traffic",)
    assert post.mentions == ("roads_dept",)
    assert post.urls == ("http://example.org/map", "https://example.gov/notice/7")
    assert post.url == "https://t.me/watchfloor_test/2"
    assert (post.author_handle, post.author_name) == ("watchfloor_test", "Watchfloor Telethon Test")
    assert post.author_id == "channel1000000002"  # the admin signature "Anna" is not the author
    assert post.metrics is not None
    assert (post.metrics.views, post.metrics.reposts, post.metrics.replies) == (15234, 87, 12)
    assert post.edited_at == datetime(2024, 4, 2, 9, 45, tzinfo=UTC)
    assert post.media[0].kind == "link_card"
    assert post.media[0].url == "https://example.org/map"


def test_telethon_forwards_replies_media_and_skips() -> None:
    items = import_file(HERE / "telethon_constructed.json", "telegram-messages")
    posts = posts_by_id(items)
    assert posts["1000000002/3"].repost_of == "1000000003/481"
    photo = posts["1000000002/4"]
    assert photo.reply_to == "1000000002/2"
    assert photo.text is None
    assert photo.media[0].kind == "image"
    assert photo.created_at == datetime.fromtimestamp(1712052000, tz=UTC)  # a raw unix date
    assert photo.edited_at is None  # edit_hide: Telegram itself does not show it as edited
    video = posts["1000000002/5"]
    assert video.media[0].kind == "video"
    assert video.media[0].mime_type == "video/mp4"
    assert video.hashtags == ()  # its entity points past the end of the text and is dropped
    reasons = [i.skipped_reason for i in items if isinstance(i, Envelope) and i.skipped_reason]
    assert reasons == [
        "service message (MessageActionChannelCreate), not a post",
        "empty message (deleted or not accessible), nothing to store",
    ]
    bad = items[-1]
    assert isinstance(bad, Quarantined)
    assert (bad.field, bad.location.index) == ("date", 6)
    assert orjson.loads(bad.raw)["id"] == 7


def test_desktop_export_maps_messages_and_uses_unixtime_not_local_date() -> None:
    items = import_file(HERE / "desktop_result.json", "telegram-desktop")
    assert len(items) == 11
    posts = posts_by_id(items)
    plain = posts["1000000001/2"]
    assert plain.created_at == datetime(2024, 3, 1, 10, 15, tzinfo=UTC)  # "date" says 11:15 local
    assert plain.text == "Road closed near the old bridge this morning."
    assert (plain.author_id, plain.author_name) == ("channel1000000001", "Watchfloor Test Channel")
    assert plain.conversation == "Watchfloor Test Channel"
    assert plain.source == "telegram-desktop"
    rich = posts["1000000001/3"]
    assert rich.text == (
        "Flooding update #flood 🌊 via @city_alerts: https://example.org/flood-map and the official notice"
        " — stay safe"
    )
    assert rich.hashtags == ("flood",)
    assert rich.mentions == ("city_alerts",)
    assert rich.urls == ("https://example.org/flood-map", "https://example.gov/notice/42")
    photo = posts["1000000001/4"]
    assert photo.media[0].kind == "image"
    assert photo.edited_at == datetime(2024, 3, 1, 12, 5, tzinfo=UTC)
    video = posts["1000000001/5"]
    assert video.text is None
    assert (video.media[0].kind, video.media[0].mime_type) == ("video", "video/mp4")
    assert posts["1000000001/6"].reply_to == "1000000001/3"
    assert posts["1000000001/7"].repost_of is None  # Desktop names the source but not its message
    assert posts["1000000001/11"].geo is not None


def test_desktop_bad_messages_are_quarantined_with_field_while_the_rest_maps() -> None:
    items = import_file(HERE / "desktop_result.json", "telegram-desktop")
    first = items[0]
    assert isinstance(first, Envelope)
    assert first.skipped_reason == "service message (create_channel), not a post"
    bad = {i.location.index: i for i in items if isinstance(i, Quarantined)}
    assert set(bad) == {7, 8, 9}
    assert all(q.field == "date_unixtime" for q in bad.values())
    assert "missing date_unixtime" in bad[7].reason
    assert "epoch" in bad[8].reason
    assert "impossible date" in bad[9].reason
    assert orjson.loads(bad[7].raw)["id"] == 8
    assert len(posts_by_id(items)) == 7


@pytest.mark.parametrize("chat_type", ["personal_chat", "private_channel", "private_supergroup", None])
def test_desktop_refuses_private_chats(tmp_path: Path, chat_type: str | None) -> None:
    doc = orjson.loads((HERE / "desktop_result.json").read_bytes())
    doc["type"] = chat_type
    path = tmp_path / "result.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    items = import_file(path, "telegram-desktop")
    assert len(items) == 1
    refused = items[0]
    assert isinstance(refused, Quarantined)
    assert refused.field == "type"
    assert "public content only" in refused.reason


def test_desktop_text_of_wrong_type_is_quarantined() -> None:
    doc = {"name": "c", "type": "public_channel", "id": 5, "messages": [{"id": 1, "type": "message"}]}
    doc["messages"][0].update({"date_unixtime": "1709283600", "text": 42})  # type: ignore[index]
    items = map_export(orjson.dumps(doc), LOC, MapOptions())
    assert isinstance(items[0], Quarantined)
    assert items[0].field == "text"


def test_telethon_text_of_wrong_type_and_bad_json() -> None:
    message = {"_": "Message", "id": 1, "peer_id": {"channel_id": 5}, "date": 1709283600, "message": ["x"]}
    items = map_messages(orjson.dumps([message]), LOC, MapOptions())
    assert isinstance(items[0], Quarantined)
    assert items[0].field == "message"
    with pytest.raises(BadRecord, match="not valid JSON"):
        map_messages(b"[{", LOC, MapOptions())


def test_sniffers_reject_other_formats(tmp_path: Path) -> None:
    samples = {
        "jetstream.jsonl": b'{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{}}\n',
        "statuses.json": b'[\n {"id": "1", "created_at": "2024-01-01T00:00:00Z", "content": "x"}\n]\n',
        "youtube.json": b'{\n "kind": "youtube#videoListResponse",\n "items": []\n}\n',
        "listing.json": b'[{"kind": "Listing", "data": {"children": []}}]\n',
        "generic.csv": b"id,date,text,author\n1,2024-01-01,hello,a\n",
    }
    assert_sniffers_reject(tmp_path, samples, ("telegram-messages", "telegram-desktop"))


@given(st.text(), st.data())
def test_utf16_slice_matches_python_slicing_at_code_point_boundaries(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    offset = len(text[:start].encode("utf-16-le", "surrogatepass")) // 2
    length = len(text[start:end].encode("utf-16-le", "surrogatepass")) // 2
    expected = text[start:end] if end > start else None
    assert utf16_slice(text, offset, length) == expected


@given(st.text(), st.integers(-5, 50), st.integers(-5, 50))
def test_utf16_slice_never_raises_and_never_splits_a_character(text: str, offset: int, length: int) -> None:
    span = utf16_slice(text, offset, length)
    if span is not None:
        assert span in text
        assert len(span.encode("utf-16-le", "surrogatepass")) // 2 == length


def test_utf16_slice_rejects_half_of_a_surrogate_pair() -> None:
    assert utf16_slice("🚨x", 0, 2) == "🚨"
    assert utf16_slice("🚨x", 1, 2) is None
    assert utf16_slice("🚨x", 0, 1) is None
    assert utf16_slice("🚨x", 2, 5) is None


_message_keys = [
    "_", "id", "message_id", "peer_id", "sender_id", "date", "message", "text", "entities", "media",
    "views", "forwards", "replies", "reply_to", "fwd_from", "edit_date", "from_id", "channel",
    "type", "date_unixtime", "edited_unixtime", "from", "text_entities", "photo", "file", "media_type",
    "reply_to_message_id", "location_information",
]  # fmt: skip
_valid_telethon = {
    "_": "Message",
    "id": 2,
    "peer_id": {"channel_id": 5},
    "date": 1709283600,
    "message": "a #b",
}
_valid_desktop = {
    "id": 2,
    "type": "message",
    "date_unixtime": "1709283600",
    "text": ["a ", {"type": "hashtag"}],
}
# A valid message with a few fields replaced by arbitrary JSON reaches the deep paths of the mappers.
_message = st.one_of(
    st.fixed_dictionaries({}, optional=dict.fromkeys(_message_keys, JSON)),
    st.builds(
        lambda extra: {**_valid_telethon, **extra}, st.dictionaries(st.sampled_from(_message_keys), JSON)
    ),
    st.builds(
        lambda extra: {**_valid_desktop, **extra}, st.dictionaries(st.sampled_from(_message_keys), JSON)
    ),
)
_document = st.fixed_dictionaries(
    {"messages": st.lists(_message, max_size=3)},
    optional={
        "type": st.sampled_from(["public_channel", "personal_chat"]),
        "id": st.integers(),
        "chat": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, _document, st.lists(_message, max_size=3)))
def test_mappers_raise_only_bad_record_on_arbitrary_json(value: object) -> None:
    assert_only_bad_record((map_messages, map_export), value, LOC)
