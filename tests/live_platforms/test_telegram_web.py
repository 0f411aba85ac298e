"""Telegram web-preview connector against a loopback fake t.me serving the golden (constructed) page."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx2
import orjson
import pytest

from tests.live_platforms.conftest import Reply
from tests.live_platforms.telegram_fake import CHANNEL, CHANNEL_ID, FIXTURES, FakeTelegramWeb, telegram
from tests.services_layer.conftest import ctx  # the service context on both stores
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import ReadOnlyHttp, WriteRefused
from watchfloor.connectors.live.telegram_web import TelegramWebConnector
from watchfloor.connectors.telegram.mapping import map_messages
from watchfloor.connectors.telegram.webpage import parse_count
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, MediaRef, Metrics, Post
from watchfloor.services import collect, sources, watches
from watchfloor.services.context import ServiceContext

__all__ = ["ctx", "telegram"]  # the fixtures, imported so pytest finds them

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
ANA = Actor(name="ana", roles=frozenset({"analyst"}))


def connector(
    fake: FakeTelegramWeb, http: ReadOnlyHttp | None = None, **config: object
) -> TelegramWebConnector:
    built = registry.build("telegram-web", {"channel": CHANNEL, "base_url": fake.url, **config})
    assert isinstance(built, TelegramWebConnector)
    if http is not None:
        built.http = http
    built.clock = FrozenClock(NOW)
    return built


def posts_of(batch: Batch) -> dict[str, Post]:
    return {e.post.native_id: e.post for e in batch.envelopes if e.post is not None}


def cursor_of(batch: Batch) -> dict[str, object]:
    value = orjson.loads(batch.next_cursor or "null")
    assert isinstance(value, dict)
    return value


def key(message: int) -> str:
    return f"{CHANNEL_ID}/{message}"


def test_the_first_fetch_reads_the_newest_page_and_maps_the_golden_blocks(telegram: FakeTelegramWeb) -> None:
    batch = connector(telegram).fetch(None)

    assert telegram.requests == [{}]  # the newest page, no paging parameter
    posts = posts_of(batch)
    assert list(posts) == [key(n) for n in (2, 3, 4, 5, 9, 10, 11)]
    skipped = [e.skipped_reason for e in batch.envelopes if e.post is None]
    assert skipped == ["service message (Channel created), not a post"]
    text = posts[key(2)]
    assert text.text == (
        "River gauge at Mill Bridge: 3.2 m and rising.\nAvoid the towpath until further notice.\n\n"
        "#flood #MillBridge — updates from @county_roads_demo and example.org/gauges/mill-bridge $GAUGE ⚠"
    )
    assert (text.hashtags, text.mentions, text.urls) == (
        ("flood", "MillBridge"),
        ("county_roads_demo",),
        ("https://example.org/gauges/mill-bridge",),
    )
    assert text.created_at == datetime(2026, 11, 28, 8, 15, tzinfo=UTC)
    assert text.url == f"https://t.me/{CHANNEL}/2" and text.conversation == CHANNEL
    assert (text.author_id, text.author_handle, text.author_name) == (
        f"channel{CHANNEL_ID}",
        CHANNEL,
        "Riverside Flood Watch 🌊 (demo)",
    )
    assert text.metrics == Metrics(views=1200) and text.platform == "telegram"
    assert posts[key(3)].media == (
        MediaRef(kind="image", url="https://cdn4.telesco.pe/file/demo-photo-3.jpg"),
    )
    assert posts[key(3)].metrics == Metrics(views=4850)
    video = posts[key(4)].media[0]
    assert (video.kind, video.url, video.preview_url) == (
        "video",
        "https://cdn4.telesco.pe/file/demo-video-4.mp4?token=demo",
        "https://cdn4.telesco.pe/file/demo-thumb-4.jpg",
    )
    album = posts[key(5)]
    assert [m.kind for m in album.media] == ["image", "image", "video", "image"]
    assert album.text == "Sandbag points open today: the library, the fire station and Elm Street school."
    assert album.metrics == Metrics(views=436_600)
    assert posts[key(9)].repost_of == "county_roads_demo/311" and posts[key(9)].metrics == Metrics(
        views=3_100_000
    )
    assert (
        posts[key(10)].reply_to == key(2) and posts[key(10)].text == "Update: the gauge has dropped to 2.9 m."
    )
    card = posts[key(11)]
    assert card.urls == ("https://example.org/forecast",) and card.media[-1].kind == "link_card"
    assert card.edited_at is None  # the page says "edited" but not when: absent, not guessed
    assert all(
        e.format == "telegram-web" and b'data-post="floodwatch_demo/' in e.raw for e in batch.envelopes
    )
    assert cursor_of(batch) == {"last": 11, "channel_id": CHANNEL_ID}  # the album's last member is 8
    assert batch.next_wake == NOW + timedelta(seconds=300)


def test_later_fetches_page_forward_with_after_and_miss_nothing(telegram: FakeTelegramWeb) -> None:
    telegram.page_size = 2
    source = connector(telegram)
    first = source.fetch(None)
    assert list(posts_of(first)) == [key(10), key(11)]  # collection starts now: no backfill
    telegram.publish(5)  # messages 12 to 16 (13 is a pin)
    batch = source.fetch(first.next_cursor)

    assert [r.get("after") for r in telegram.requests[1:]] == ["11", "13", "15", "16"]
    assert list(posts_of(batch)) == [key(12), key(14), key(15), key(16)]
    assert posts_of(batch)[key(12)].media == (MediaRef(kind="document"),)
    assert (
        posts_of(batch)[key(15)].media == (MediaRef(kind="other"),) and posts_of(batch)[key(15)].text is None
    )
    assert posts_of(batch)[key(14)].author_name == "Riverside Flood Watch 🌊 (demo)"  # not the signature
    assert cursor_of(batch)["last"] == 16
    again = source.fetch(batch.next_cursor)
    assert again.envelopes == [] and again.next_cursor is None  # nothing new, nothing twice


def test_a_burst_longer_than_max_pages_is_read_over_several_fetches(telegram: FakeTelegramWeb) -> None:
    telegram.page_size = 1
    telegram.visible = 1
    source = connector(telegram, max_pages=3)
    cursor = source.fetch(None).next_cursor
    telegram.publish(12)
    seen: list[str] = []
    wakes: list[datetime | None] = []
    for _ in range(6):
        batch = source.fetch(cursor)
        seen += [e.post.native_id if e.post else e.skipped_reason or "" for e in batch.envelopes]
        wakes.append(batch.next_wake)
        cursor = batch.next_cursor or cursor
    assert wakes[:4] == [None, None, None, None]  # three new pages each time: more may be waiting
    assert wakes[4] == NOW + timedelta(seconds=300)
    assert len(seen) == 12 and len(set(seen)) == 12  # every block once, none skipped, none twice


def test_an_empty_channel_is_not_an_error(telegram: FakeTelegramWeb) -> None:
    telegram.visible = 0
    batch = connector(telegram).fetch(None)
    assert batch.envelopes == [] and batch.quarantined == [] and batch.next_cursor is None


def test_a_page_whose_markup_changed_fails_the_source_with_a_clear_message(telegram: FakeTelegramWeb) -> None:
    telegram.faults.append(Reply(200, (FIXTURES / "redesigned_page.html").read_bytes()))
    with pytest.raises(Permanent, match=r"t\.me markup changed: no message blocks found"):
        connector(telegram).fetch(None)


def test_message_blocks_without_a_reference_are_markup_drift_too(telegram: FakeTelegramWeb) -> None:
    page = telegram.page(telegram.blocks[:3]).replace(b"data-post=", b"data-message=")
    telegram.faults.append(Reply(200, page))
    with pytest.raises(Permanent, match=r"3 block\(s\) without a data-post"):
        connector(telegram).fetch(None)


def test_a_block_without_a_time_is_quarantined_and_the_rest_map(telegram: FakeTelegramWeb) -> None:
    telegram.blocks[2] = telegram.blocks[2].replace("<time datetime=", "<span data-datetime=")
    batch = connector(telegram).fetch(None)
    assert [(q.reason, q.field) for q in batch.quarantined] == [("the message block has no time", "time")]
    assert b"floodwatch_demo/3" in batch.quarantined[0].raw
    assert key(3) not in posts_of(batch) and len(posts_of(batch)) == 6
    assert cursor_of(batch)["last"] == 11  # quarantined is kept, so the cursor moves past it


def test_a_block_without_data_view_maps_with_the_remembered_channel_id(telegram: FakeTelegramWeb) -> None:
    source = connector(telegram)
    cursor = source.fetch(None).next_cursor
    telegram.blocks[8] = _strip_view(telegram.blocks[8])  # message 12
    telegram.publish(1)
    assert list(posts_of(source.fetch(cursor))) == [key(12)]


def test_a_username_that_now_belongs_to_another_channel_stops_the_source(telegram: FakeTelegramWeb) -> None:
    source = connector(telegram)
    cursor = source.fetch(None).next_cursor
    view = base64.urlsafe_b64encode(b'{"c":-999000111,"p":12,"t":1764316800,"h":"x"}').decode().rstrip("=")
    telegram.blocks[8] = _strip_view(telegram.blocks[8]).replace(
        'data-post="', f'data-view="{view}" data-post="'
    )
    telegram.publish(1)
    with pytest.raises(Permanent, match="now belongs to another channel"):
        source.fetch(cursor)


def test_a_channel_without_a_public_preview_is_permanent(telegram: FakeTelegramWeb) -> None:
    source = connector(telegram, channel="no_such_channel")
    with pytest.raises(Permanent, match="has no public web preview"):
        source.fetch(None)


def test_429_with_retry_after_is_transient_with_that_delay(telegram: FakeTelegramWeb) -> None:
    telegram.faults.append(Reply(429, b"Too Many Requests", {"Retry-After": "17"}))
    with pytest.raises(Transient) as raised:
        connector(telegram).fetch(None)
    assert raised.value.retry_after == 17.0


def test_a_5xx_after_a_page_keeps_what_was_read_and_waits(telegram: FakeTelegramWeb) -> None:
    telegram.page_size = 2
    source = connector(telegram)
    cursor = source.fetch(None).next_cursor
    telegram.publish(5)
    telegram.faults.extend(
        [Reply(200, telegram.page(telegram.blocks[8:10])), Reply(502, b"", {"Retry-After": "30"})]
    )
    batch = source.fetch(cursor)
    assert list(posts_of(batch)) == [key(12)] and cursor_of(batch)["last"] == 13
    assert batch.next_wake == NOW + timedelta(seconds=30)
    rest = source.fetch(batch.next_cursor)
    assert list(posts_of(rest)) == [key(14), key(15), key(16)]


def test_a_slow_answer_times_out_as_transient(telegram: FakeTelegramWeb) -> None:
    telegram.delay = 1.0
    http = ReadOnlyHttp(httpx2.Client(timeout=0.2))
    with pytest.raises(Transient, match="timed out"):
        connector(telegram, http=http).fetch(None)


def test_a_disconnect_is_transient_and_the_next_poll_reads_it_all(telegram: FakeTelegramWeb) -> None:
    telegram.faults.append(Reply(0))
    source = connector(telegram)
    with pytest.raises(Transient, match="connection failed"):
        source.fetch(None)
    assert len(posts_of(source.fetch(None))) == 7


def test_the_client_refuses_anything_but_reading(telegram: FakeTelegramWeb) -> None:
    source = connector(telegram)
    for method in ("POST", "PUT", "DELETE"):
        with pytest.raises(WriteRefused):
            source.http.request(method, source.page_url)
    assert source.http.post_allowed == frozenset()
    assert telegram.requests == []


def test_collected_into_the_store_once_and_deduplicated_with_the_importer(
    ctx: ServiceContext, telegram: FakeTelegramWeb
) -> None:
    with ctx.store.transaction() as tx:
        basis = tx.list_bases()[0].id
    config = {"channel": f"https://t.me/s/{CHANNEL}", "base_url": telegram.url, "every": 300}
    source = sources.add_source(
        ctx, actor=SAM, name="floodwatch", kind="telegram-web", config=config, basis_id=basis
    )
    asked = watches.request_watch(ctx, actor=ANA, subject=CHANNEL, basis_id=basis, reason="flood updates")
    watches.approve_watch(ctx, actor=SAM, watch_id=asked.id)  # a channel is an account: it needs a watch
    live = connector(telegram)
    first = collect.run_once(ctx, source.id, live)
    assert (first.inserted, first.duplicates, first.quarantined) == (7, 0, 0)
    telegram.publish(5)
    second = collect.run_once(ctx, source.id, live)
    assert (second.inserted, second.duplicates) == (4, 0)
    assert collect.run_once(ctx, source.id, live).inserted == 0
    # The same message exported with Telethon (channel id, message id) is the same post.
    exported = {"chat": {"id": int(CHANNEL_ID), "username": CHANNEL, "title": "Riverside Flood Watch"}}
    message = {"_": "Message", "id": 2, "peer_id": {"_": "PeerChannel", "channel_id": int(CHANNEL_ID)}}
    message |= {
        "date": "2026-11-28T08:15:00+00:00",
        "message": "River gauge at Mill Bridge: 3.2 m and rising.",
    }
    imported = map_messages(
        orjson.dumps({**exported, "messages": [message]}), Location(source="f"), MapOptions()
    )
    assert [i.post.native_id for i in imported if isinstance(i, Envelope) and i.post] == [key(2)]
    with ctx.store.transaction() as tx:
        current = tx.get_source(source.id)
    assert current is not None
    envelopes = [i for i in imported if isinstance(i, Envelope)]
    replay = collect.collect_batch(ctx, current, Batch(envelopes=envelopes))
    assert (replay.inserted, replay.duplicates) == (0, 1)


@pytest.mark.parametrize(
    ("value", "name"),
    [("floodwatch_demo", "floodwatch_demo"), ("@floodwatch_demo", "floodwatch_demo"),
     ("https://t.me/s/floodwatch_demo", "floodwatch_demo"), ("t.me/floodwatch_demo/12", "floodwatch_demo")],
)  # fmt: skip
def test_channel_names_links_and_handles_are_accepted(value: str, name: str) -> None:
    built = registry.build("telegram-web", {"channel": value})
    assert isinstance(built, TelegramWebConnector)
    assert built.page_url == f"https://t.me/s/{name}"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "channel is required"),
        ({"channel": "https://t.me/+AbCdEf123"}, "invite link to a private chat"),
        ({"channel": "no"}, "not a public channel username"),
        ({"channel": "floodwatch_demo", "every": 5}, "every must be from 60"),
        ({"channel": "floodwatch_demo", "colour": "red"}, "unknown setting"),
        ({"channel": "floodwatch_demo", "base_url": "ftp://x"}, "base_url must be an http"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.build("telegram-web", config)


@pytest.mark.parametrize(
    ("text", "count"),
    [("842", 842), ("1.2K", 1200), ("4.85K", 4850), ("436.6K", 436_600), ("3.1M", 3_100_000), ("12K", 12_000),
     ("", None), ("many", None)],
)  # fmt: skip
def test_abbreviated_view_counts_are_read_as_numbers(text: str, count: int | None) -> None:
    assert parse_count(text) == count


def _strip_view(block: str) -> str:
    start = block.index(' data-view="')
    return block[:start] + block[block.index('"', start + len(' data-view="')) + 1 :]
