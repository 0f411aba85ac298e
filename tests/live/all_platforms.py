"""Every live connector kind's loopback fake at once, the sources file naming them, and what they serve.

Used by tests/live/test_every_connector.py. Each fake is the one its connector's own tests use
(tests/live_platforms/, tests/live/conftest.py), started here in a thread of the test process on
127.0.0.1 with a free port; nothing touches the internet. What each fake serves is computed with the
platform's pure mapper (the file importer's), so the test compares the runner's store with what the
same payloads map to, key by key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from websockets.sync.server import serve

from tests.live.conftest import FakeFeeds
from tests.live_platforms import fake_youtube, reddit_fake, telegram_fake, tiktok_fake
from tests.live_platforms.conftest import (
    MASTODON_TIMELINE,
    FakeJetstream,
    FakeMastodon,
    Reply,
    jetstream_frames,
)
from tests.live_platforms.conftest import _handler_for as mastodon_handler
from tests.live_platforms.mastodon_stream_fake import TOKEN, FakeMastodonStreaming
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.bluesky.mapping import POST, map_jetstream_event
from watchfloor.connectors.live.registry import named_accounts
from watchfloor.connectors.mastodon.mapping import map_status_line
from watchfloor.connectors.reddit.mapping import map_listing
from watchfloor.connectors.telegram.webpage import map_block, parse_page
from watchfloor.connectors.youtube.mapping import map_lines
from watchfloor.domain.actor import Actor
from watchfloor.domain.post import Envelope, Location, Quarantined
from watchfloor.services.context import ServiceContext
from watchfloor.services.watches import approve_watch, request_watch

RSS_TOTAL = 2_000  # entries of the paged feed: four pages of 500
TIKTOK_SINCE = date(2026, 9, 1)
YOUTUBE_CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
REDDIT_LISTINGS = ("askreddit/new", "askreddit/comments", "all/new", "all/comments")
ENV = {  # the credentials, as environment variables of the runner (the settings name them)
    "WF_TEST_MASTODON_TOKEN": TOKEN,
    "WF_TEST_REDDIT_ID": reddit_fake.CLIENT_ID,
    "WF_TEST_REDDIT_SECRET": reddit_fake.CLIENT_SECRET,
    "WF_TEST_TIKTOK_KEY": tiktok_fake.CLIENT_KEY,
    "WF_TEST_TIKTOK_SECRET": tiktok_fake.CLIENT_SECRET,
    "WF_TEST_YOUTUBE_KEY": "test-key",
}
_AT = Location(source="expected")
_ANALYST = Actor(name="ana", roles=frozenset({"analyst"}))
_SUPERVISOR = Actor(name="sam", roles=frozenset({"supervisor"}))
Key = tuple[str, str]  # (platform, native id)


@dataclass
class Fakes:
    """One fake per live kind, running; the source named after each kind reads its fake."""

    jetstream: FakeJetstream
    mastodon: FakeMastodon
    streaming: FakeMastodonStreaming
    reddit: reddit_fake.FakeReddit
    feeds: FakeFeeds
    telegram: telegram_fake.FakeTelegramWeb
    tiktok: tiktok_fake.FakeTikTok
    youtube: fake_youtube.FakeYouTube

    def sources(self) -> list[dict[str, Any]]:
        """The ``[[source]]`` tables of the sources file: one source of every kind, under basis 1."""
        return [
            {"kind": "bluesky-jetstream", "url": self.jetstream.url, "max_seconds": 0.3},
            {"kind": "mastodon", "instance": self.mastodon.url, "hashtag": "flood", "every": 60},
            {
                "kind": "mastodon-stream",
                "instance": self.streaming.url,
                "streams": ["hashtag:flood"],
                "token_env": "WF_TEST_MASTODON_TOKEN",
                "max_seconds": 0.3,
            },
            {
                "kind": "reddit",
                "subreddits": ["askreddit", "all"],
                "listings": ["new", "comments"],
                "client_id_env": "WF_TEST_REDDIT_ID",
                "client_secret_env": "WF_TEST_REDDIT_SECRET",
                "oauth_base": self.reddit.url,
                "www_base": self.reddit.url,
            },
            {"kind": "rss", "url": self.feeds.url("/paged"), "follow_next": True, "every": 60},
            {"kind": "telegram-web", "channel": telegram_fake.CHANNEL, "base_url": self.telegram.url},
            {
                "kind": "tiktok-research",
                "keywords": ["flood"],
                "since": TIKTOK_SINCE.isoformat(),
                "client_key_env": "WF_TEST_TIKTOK_KEY",
                "client_secret_env": "WF_TEST_TIKTOK_SECRET",
                "api_base": self.tiktok.url,
            },
            {
                "kind": "youtube",
                "mode": "channel",
                "channel_id": YOUTUBE_CHANNEL,
                "api_key_env": "WF_TEST_YOUTUBE_KEY",
                "api_base": self.youtube.url,
            },
        ]

    def watch_named_accounts(self, ctx: ServiceContext) -> int:
        """Have a watch on every account the sources name (a Telegram channel, a YouTube channel)
        requested by an analyst and approved by a supervisor, under basis 1; how many there are."""
        count = 0
        for source in self.sources():
            config = {key: value for key, value in source.items() if key != "kind"}
            for platform, account in named_accounts(source["kind"], config):
                asked = request_watch(
                    ctx, actor=_ANALYST, subject=account, platform=platform, basis_id=1, reason="test run"
                )
                approve_watch(ctx, actor=_SUPERVISOR, watch_id=asked.id)
                count += 1
        return count

    def sources_toml(self) -> str:
        """The sources file ``watchfloor run --sources`` reads (JSON scalars and lists are valid TOML)."""
        lines: list[str] = []
        for source in self.sources():
            lines += ["[[source]]", f'name = "{source["kind"]}"', "basis = 1"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
            lines.append("")
        return "\n".join(lines)

    def inject_faults(self) -> None:
        """One fault per polled fake, served on its first request: each source must retry past it."""
        self.jetstream.drop_after = {0: 10}  # the first connection breaks after 10 frames
        self.mastodon.faults.append(Reply(429, b"", {"Retry-After": "1"}))
        self.reddit.faults.append(Reply(503))
        self.feeds.fail("/paged", "500")
        self.telegram.faults.append(Reply(0))  # the connection closes unanswered
        self.tiktok.faults.append(
            tiktok_fake.error(429, "rate_limit_exceeded", "Too many requests", {"Retry-After": "1"})
        )
        self.youtube.faults.append(fake_youtube.Reply(500, b'{"error": {"code": 500}}'))

    def requests(self) -> dict[str, int]:
        """How often each fake was asked (connections for the streams): a runner's fetches show here."""
        return {
            "bluesky-jetstream": len(self.jetstream.connections),
            "mastodon": len(self.mastodon.requests),
            "mastodon-stream": len(self.streaming.clients),
            "reddit": len(self.reddit.gets),
            "rss": len(self.feeds.requests),
            "telegram-web": len(self.telegram.requests),
            "tiktok-research": len(self.tiktok.queries),
            "youtube": len(self.youtube.calls),
        }


def _http(stack: ExitStack, handler: type[BaseHTTPRequestHandler]) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    _thread(stack, server.serve_forever, poll_interval=0.05)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)  # callbacks run last first: shut down, then close
    return f"http://127.0.0.1:{server.server_address[1]}"


def _ws(stack: ExitStack, handler: Any, **options: Any) -> str:
    server = serve(handler, "127.0.0.1", 0, **options)
    _thread(stack, server.serve_forever)
    stack.callback(server.shutdown)
    return f"ws://127.0.0.1:{server.socket.getsockname()[1]}"


def _thread(stack: ExitStack, target: Any, **kwargs: Any) -> None:
    thread = threading.Thread(target=target, kwargs=kwargs, daemon=True)
    thread.start()
    stack.callback(thread.join, 5)


def start_fakes(stack: ExitStack) -> Fakes:
    """Start every fake (stopped when ``stack`` closes); Mastodon REST and streaming serve disjoint halves."""
    statuses = list(reversed(orjson.loads(MASTODON_TIMELINE.read_bytes())))  # oldest first
    jetstream = FakeJetstream(frames=jetstream_frames())
    jetstream.url = _ws(stack, jetstream.handler) + "/subscribe"
    mastodon = FakeMastodon(statuses=statuses[:6], visible=6)
    mastodon.url = _http(stack, mastodon_handler(mastodon))
    streaming = FakeMastodonStreaming(statuses=statuses[6:], visible=2, token=TOKEN)
    streaming.url = _http(stack, mastodon_handler(streaming))
    streaming.ws_url = _ws(stack, streaming.handler, process_request=streaming.process_request)
    listings = {
        "askreddit/new": list(reversed(reddit_fake.children("new"))),
        "all/comments": list(reversed(reddit_fake.children("comments"))),
        "askreddit/comments": [],
        "all/new": [],
    }
    reddit = reddit_fake.FakeReddit(listings=listings, visible={k: len(v) for k, v in listings.items()})
    reddit.url = _http(stack, reddit_fake._handler_for(reddit))
    feeds = FakeFeeds()
    feeds.paged_total = RSS_TOTAL
    _thread(stack, feeds.serve_forever, poll_interval=0.05)
    stack.callback(feeds.server_close)
    stack.callback(feeds.shutdown)
    head, blocks, tail = telegram_fake.split_golden()
    telegram = telegram_fake.FakeTelegramWeb(head=head, blocks=blocks, tail=tail, visible=len(blocks))
    telegram.url = _http(stack, telegram_fake._handler_for(telegram))
    tiktok = tiktok_fake.FakeTikTok(videos=orjson.loads(tiktok_fake.VIDEOS.read_bytes()))
    tiktok.url = _http(stack, tiktok_fake._handler_for(tiktok))
    youtube = fake_youtube.FakeYouTube()
    youtube.url = _http(stack, fake_youtube._handler_for(youtube)) + "/youtube/v3"
    return Fakes(jetstream, mastodon, streaming, reddit, feeds, telegram, tiktok, youtube)


@dataclass(frozen=True)
class Served:
    """What the fakes serve, as the importers' mappers key it: posts by platform, and deletions."""

    posts: dict[str, set[str]]
    deletions: set[Key]
    jetstream_last_us: int  # the time_us of the last frame the filtered stream sends: its final cursor


def served(fakes: Fakes, *, today: date | None = None) -> Served:
    """Every post and deletion the fakes serve to the sources of :meth:`Fakes.sources` (all of it)."""
    items: list[Envelope | Quarantined] = []
    sent = [f for f in fakes.jetstream.frames if _wanted(orjson.loads(f))]  # as the fake filters them
    for frame in sent:
        items += map_jetstream_event(frame, _AT, MapOptions())
    for fake in (fakes.mastodon, fakes.streaming):
        items += map_status_line(orjson.dumps(fake.statuses), _AT, MapOptions())
    for key in REDDIT_LISTINGS:
        page = {"kind": "Listing", "data": {"after": None, "children": fakes.reddit.listings[key]}}
        items += map_listing(orjson.dumps(page), _AT, MapOptions())
    telegram = fakes.telegram
    for block in parse_page(telegram.page(telegram.blocks)).blocks:
        items.append(map_block(block.raw, _AT, channel_id=telegram_fake.CHANNEL_ID))
    youtube = fakes.youtube
    ids = [item["snippet"]["resourceId"]["videoId"] for item in youtube.playlist_items()]
    for body in (youtube._videos(ids), *(page.read_bytes() for page in fake_youtube.THREAD_PAGES.values())):
        items += map_lines(body, _AT, MapOptions())
    posts: dict[str, set[str]] = {}
    deletions: set[Key] = set()
    for item in items:
        if isinstance(item, Envelope) and item.post is not None:
            posts.setdefault(item.post.platform, set()).add(item.post.native_id)
        elif isinstance(item, Envelope) and item.deletion is not None:
            deletions.add((item.deletion.platform, item.deletion.native_id))
    posts["rss"] = {f"urn:fake:{i}" for i in range(RSS_TOTAL)}
    posts["tiktok"] = set(_tiktok_matches(fakes.tiktok.videos, today or datetime.now(UTC).date()))
    last_us = max(int(orjson.loads(frame)["time_us"]) for frame in sent)
    return Served(posts=posts, deletions=deletions, jetstream_last_us=last_us)


def mastodon_ids(statuses: list[dict[str, Any]]) -> set[str]:
    """The native ids of the posts ``statuses`` map to (a boost yields its original too)."""
    items = map_status_line(orjson.dumps(statuses), _AT, MapOptions())
    return {i.post.native_id for i in items if isinstance(i, Envelope) and i.post is not None}


def _wanted(event: dict[str, Any]) -> bool:
    return bool(event["kind"] != "commit" or event["commit"]["collection"] == POST)


def _tiktok_matches(videos: Iterable[dict[str, Any]], today: date) -> Iterable[str]:
    """The videos the query ``keywords = ["flood"]`` finds from ``TIKTOK_SINCE`` to today."""
    for video in videos:
        day = datetime.fromtimestamp(video["create_time"], tz=UTC).date()
        if TIKTOK_SINCE <= day <= today and "flood" in video["video_description"].lower():
            yield str(video["id"])
