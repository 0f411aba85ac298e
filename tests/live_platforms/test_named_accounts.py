"""Which named accounts each live kind's settings target (what a watch must cover before it collects)."""

from __future__ import annotations

from typing import Any

import pytest

from watchfloor.connectors.live import registry
from watchfloor.domain.errors import ConfigError

REDDIT = {"client_id_env": "REDDIT_ID", "client_secret_env": "REDDIT_SECRET"}
TIKTOK = {"client_key_env": "TIKTOK_KEY", "client_secret_env": "TIKTOK_SECRET"}
MASTODON = {"instance": "https://mastodon.example", "token_env": "MASTODON_TOKEN"}
CHANNEL_ID = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


TABLE: list[tuple[str, dict[str, Any], tuple[tuple[str, str], ...]]] = [
    ("bluesky-jetstream", {}, ()),
    ("bluesky-jetstream", {"collections": ["app.bsky.feed.post"]}, ()),
    ("bluesky-jetstream", {"dids": "did:plc:aaa, did:plc:bbb"},
     (("bluesky", "did:plc:aaa"), ("bluesky", "did:plc:bbb"))),
    ("bluesky-jetstream", {"dids": ["did:plc:aaa", "did:plc:aaa"]}, (("bluesky", "did:plc:aaa"),)),
    ("telegram-web", {"channel": "@floodwatch_demo"}, (("telegram", "floodwatch_demo"),)),
    ("telegram-web", {"url": "https://t.me/s/floodwatch_demo"}, (("telegram", "floodwatch_demo"),)),
    ("youtube", {"mode": "channel", "channel_id": CHANNEL_ID}, (("youtube", CHANNEL_ID),)),
    ("youtube", {"channel_id": CHANNEL_ID}, (("youtube", CHANNEL_ID),)),  # channel is the default mode
    ("youtube", {"mode": "search", "query": "flood warning"}, ()),
    ("tiktok-research", {"keywords": ["flood"], **TIKTOK}, ()),
    ("tiktok-research", {"hashtags": ["#flood"], "usernames": ["@river_news", "cityhall"], **TIKTOK},
     (("tiktok", "river_news"), ("tiktok", "cityhall"))),
    ("mastodon", {**MASTODON, "hashtag": "flood"}, ()),
    ("mastodon", {"instance": "https://mastodon.example", "timeline": "local"}, ()),
    ("mastodon-stream", {**MASTODON, "streams": ["public", "hashtag:flood", "public:local"]}, ()),
    ("reddit", {"subreddits": ["askreddit", "worldnews"], **REDDIT}, ()),
    ("reddit", {"subreddits": ["askreddit", "u_someone"], **REDDIT}, (("reddit", "someone"),)),
    ("rss", {"url": "https://example.org/news/feed.xml"}, ()),
    ("rss", {"url": "https://www.reddit.com/r/worldnews/.rss"}, ()),
    ("rss", {"url": "https://mastodon.example/tags/flood.rss"}, ()),
    ("rss", {"url": f"https://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL_ID}"},
     (("youtube", CHANNEL_ID),)),
    ("rss", {"url": "https://www.youtube.com/feeds/videos.xml?playlist_id=UU_x5XG1OV2P6uZZ5FSM9Ttw"},
     (("youtube", CHANNEL_ID),)),
    ("rss", {"url": "https://www.youtube.com/feeds/videos.xml?playlist_id=PLabc"}, ()),
    ("rss", {"url": "https://mastodon.example/@Alice.rss"}, (("mastodon", "Alice@mastodon.example"),)),
    ("rss", {"url": "https://mastodon.example/users/alice.rss"}, (("mastodon", "alice@mastodon.example"),)),
    ("rss", {"url": "https://mastodon.example/@alice/tagged/flood.rss"},
     (("mastodon", "alice@mastodon.example"),)),
    ("rss", {"url": "https://old.reddit.com/user/someone/submitted/.rss"}, (("reddit", "someone"),)),
    ("rss", {"url": "https://www.reddit.com/r/u_someone/.rss"}, (("reddit", "someone"),)),
    ("rss", {"url": "https://bsky.app/profile/alice.bsky.social/rss"}, (("bluesky", "alice.bsky.social"),)),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "config", "accounts"), TABLE)
def test_each_kind_names_the_accounts_its_settings_target(
    kind: str, config: dict[str, Any], accounts: tuple[tuple[str, str], ...]
) -> None:
    assert registry.named_accounts(kind, config) == accounts


def test_the_table_covers_every_kind() -> None:
    assert {kind for kind, _, _ in TABLE} == set(registry.KINDS)


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("mastodon-stream", {**MASTODON, "streams": ["hashtag:flood", "list:42"]}, "list:42 streams"),
        ("telegram-web", {}, "channel is required"),
        ("youtube", {"mode": "channel", "channel_id": "someone"}, "needs channel_id"),
        ("reddit", {"subreddits": ["u/someone"], **REDDIT}, "is a user profile"),
        ("rss", {"url": "ftp://example.org/feed"}, "http(s) feed address"),
        ("nowhere", {}, "unknown source kind"),
    ],
)  # fmt: skip
def test_settings_it_cannot_name_accounts_for_are_refused(
    kind: str, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.named_accounts(kind, config)
