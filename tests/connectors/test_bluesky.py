"""Bluesky Jetstream import: real recorded events map to the posts, deletes and skips a user expects."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings

from tests.connectors.helpers import FIXTURE_ROOT, assert_all_detected, fixture_files, import_file, mutated
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.bluesky import sniff_jetstream
from watchfloor.connectors.bluesky.mapping import map_jetstream_event
from watchfloor.connectors.files import read_sample
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Post, Quarantined

FIXTURES = FIXTURE_ROOT / "bluesky"
REAL = FIXTURES / "jetstream_v1.jsonl"


def _import(name: str) -> list[Envelope | Quarantined]:
    return import_file(FIXTURES / name, "bluesky-jetstream")


def _posts(items: list[Envelope | Quarantined]) -> dict[int, Post]:
    return {i.location.line or 0: i.post for i in items if isinstance(i, Envelope) and i.post is not None}


def test_detects_jetstream_files() -> None:
    assert_all_detected([REAL, FIXTURES / "constructed.jsonl"], "bluesky-jetstream")


@pytest.mark.parametrize("other", ["mastodon", "twitter"])
def test_sniffer_scores_zero_on_other_platforms_fixtures(other: str) -> None:
    for path in fixture_files(other):
        assert sniff_jetstream(read_sample(path)) == 0, path.name


def test_every_real_event_is_accounted_for() -> None:
    items = _import("jetstream_v1.jsonl")
    assert len(items) == 152
    assert not [i for i in items if isinstance(i, Quarantined)]
    envelopes = [i for i in items if isinstance(i, Envelope)]
    posts = [e.post for e in envelopes if e.post is not None]
    assert len([p for p in posts if p.repost_of is None]) == 17
    assert len([p for p in posts if p.repost_of is not None]) == 15
    assert len([e for e in envelopes if e.deletion is not None]) == 1
    reasons = Counter(e.skipped_reason for e in envelopes if e.post is None and e.deletion is None)
    assert reasons["app.bsky.feed.like is not a post"] == 105
    assert reasons["app.bsky.graph.follow is not a post"] == 9
    assert reasons["app.bsky.graph.block is not a post"] == 1
    assert reasons["identity event (handle or DID document change) is not a post"] == 1
    assert reasons["account event (active) is not a post"] == 1
    assert sum(reasons.values()) == 152 - 17 - 15 - 1


def test_real_post_with_link_card_and_language() -> None:
    post = _posts(_import("jetstream_v1.jsonl"))[2]
    did = "did:plc:dclwtltrt2ggsryagfzk7dp4"
    assert post.platform == "bluesky"
    assert post.native_id == f"at://{did}/app.bsky.feed.post/3mptbyoeyc22k"
    assert post.url == f"https://bsky.app/profile/{did}/post/3mptbyoeyc22k"
    assert post.author_id == did
    assert post.author_handle is None
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 6, 240000, tzinfo=UTC)
    assert post.collected_at == datetime(2026, 7, 4, 14, 38, 8, 90631, tzinfo=UTC)
    assert post.text == "www.youtube.com/watch?v=V5lD..."
    assert post.langs == ("en",)
    assert post.lang_source == "platform"
    assert post.urls == ("https://www.youtube.com/watch?v=V5lDo-jw8mA",)
    assert [(m.kind, m.url) for m in post.media] == [
        ("link_card", "https://www.youtube.com/watch?v=V5lDo-jw8mA")
    ]
    assert post.source == "bluesky-jetstream"
    assert post.source_version == "1"
    assert post.domains == ()


def test_real_post_with_tags_image_and_two_languages() -> None:
    post = _posts(_import("jetstream_v1.jsonl"))[148]
    assert post.hashtags == ("talesatwonderworld", "balanwonderworldoc")
    assert post.langs == ("es", "en")
    assert post.urls == (
        "https://www.tumblr.com/tempo-tales/765681292369166336/"
        "behind-them-timmi-and-wankyu-follow-silently-but?source=share",
    )
    (image,) = post.media
    assert image.kind == "image"
    assert image.native_id == "bafkreidrnwt23f7wy7fyfex5acdkxh62wsgpg245ame4c4rogfwb3upyaa"
    assert image.mime_type == "image/jpeg"
    assert image.alt_text is None  # the author left the alt text empty
    assert post.has_media


def test_real_reply_keeps_parent_and_root_and_empty_text_is_absent() -> None:
    post = _posts(_import("jetstream_v1.jsonl"))[131]
    assert post.text is None
    assert post.reply_to == "at://did:plc:ippiobxpsddnkzd6ms2dbpcy/app.bsky.feed.post/3mptbvznwf22c"
    assert post.reply_root == "at://did:plc:ajg5c7huhiibhwandhdscpdq/app.bsky.feed.post/3mptb7zj4lc2q"
    assert post.is_reply


def test_real_post_without_langs_has_no_language() -> None:
    post = _posts(_import("jetstream_v1.jsonl"))[134]
    assert post.langs == ()
    assert post.lang_source is None
    assert post.text is not None
    assert post.text.startswith("denikn.cz/2113523\nV souvislosti")


def test_real_repost_points_at_the_reposted_post() -> None:
    post = _posts(_import("jetstream_v1.jsonl"))[18]
    assert post.native_id == "at://did:plc:5er4dj3kkwyj4cy5gdnzn56w/app.bsky.feed.repost/3mptbypowzs2e"
    assert post.repost_of == "at://did:plc:lthsfxxeghkgg44eummxtvbe/app.bsky.feed.post/3mpt6c57uy22u"
    assert post.text is None
    assert post.url is None
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 7, 594000, tzinfo=UTC)


def test_real_delete_is_recorded() -> None:
    (deleted,) = [i for i in _import("jetstream_v1.jsonl") if isinstance(i, Envelope) and i.deletion]
    assert deleted.location.line == 145
    assert deleted.deletion is not None
    assert deleted.deletion.platform == "bluesky"
    assert (
        deleted.deletion.native_id == "at://did:plc:4smmjsqf6l5jkzczvw6vsrqc/app.bsky.feed.post/3mpt73z3ejc2p"
    )
    assert deleted.deletion.deleted_at == datetime(2026, 7, 4, 14, 38, 8, 377628, tzinfo=UTC)


def test_raw_payload_is_the_line_verbatim() -> None:
    lines = REAL.read_bytes().splitlines()
    for item in _import("jetstream_v1.jsonl"):
        assert item.raw == lines[(item.location.line or 0) - 1]


def test_constructed_mentions_tags_quotes_and_media() -> None:
    posts = _posts(_import("constructed.jsonl"))
    first = posts[1]
    assert first.mentions == ("did:plc:wfconstructedmention001b",)
    assert first.hashtags == ("OSINT", "watchfloor")  # facet tag, then record.tags without repeats
    assert first.urls == ("https://example.org/report",)
    assert first.quote_of == "at://did:plc:wfconstructedquoted0001c/app.bsky.feed.post/3wfquoted001c"
    assert [(m.kind, m.alt_text) for m in first.media] == [("image", "A flooded street")]
    assert posts[2].quote_of == first.quote_of
    assert posts[2].media == ()
    (video,) = posts[3].media
    assert (video.kind, video.alt_text, video.mime_type) == (
        "video",
        "Drone footage of the bridge",
        "video/mp4",
    )
    assert posts[4].quote_of is None  # an embedded feed generator is not a quoted post


def test_update_keeps_the_native_id_and_marks_the_edit() -> None:
    posts = _posts(_import("constructed.jsonl"))
    assert posts[5].native_id == posts[2].native_id
    assert posts[5].text == "quoting a post (updated)"
    assert posts[5].edited_at == datetime(2026, 7, 4, 14, 38, 24, tzinfo=UTC)
    assert posts[2].edited_at is None


def test_repost_delete_is_a_deletion_of_the_repost() -> None:
    last = _import("constructed.jsonl")[-1]
    assert isinstance(last, Envelope)
    assert last.deletion is not None
    assert last.deletion.native_id.endswith("/app.bsky.feed.repost/3wfrepost001a")


def test_malformed_records_are_quarantined_and_neighbours_still_map() -> None:
    items = _import("malformed.jsonl")
    by_line = {i.location.line: i for i in items}
    assert [line for line, i in by_line.items() if isinstance(i, Envelope)] == [1, 6]
    bad = {line: i for line, i in by_line.items() if isinstance(i, Quarantined)}
    assert bad[2].reason.startswith("not valid JSON")
    assert (bad[3].field, bad[3].reason) == (
        "commit.record.createdAt",
        "missing, and the lexicon requires it",
    )
    assert bad[4].field == "commit.record.createdAt"
    assert "2026-13-45" in bad[4].reason
    assert (bad[5].field, bad[5].reason) == ("commit.record.text", "expected a string, got list")
    assert all(i.format == "bluesky-jetstream" for i in bad.values())


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"[1, 2]", None),
        (b'{"kind": "commit", "did": "did:plc:x", "time_us": 1783175888085434}', "commit"),
        (b'{"kind": "wobble", "did": "did:plc:x"}', "kind"),
        (
            b'{"kind": "commit", "did": "did:plc:x", "time_us": 1, "commit": {"collection": '
            b'"app.bsky.feed.post", "operation": "create", "rkey": "a", "record": {"createdAt": '
            b'"2026-07-04T14:38:06Z"}}}',
            "time_us",
        ),
    ],
)
def test_unreadable_events_raise_bad_record(line: bytes, field: str | None) -> None:
    with pytest.raises(BadRecord) as info:
        map_jetstream_event(line, Location(source="t"), MapOptions())
    assert info.value.field == field


# Real events whose deep branches (facets, embeds, replies, deletes) the mutations reach.
_BASES = [orjson.loads(line) for line in REAL.read_bytes().splitlines() if b"feed.post" in line[:400]]


@settings(max_examples=400, deadline=None)
@given(mutated(_BASES))
def test_mapper_raises_only_bad_record_on_mutated_events(event: object) -> None:
    raw = json.dumps(event).encode()  # stdlib: also writes integers beyond 64 bits
    try:
        result = map_jetstream_event(raw, Location(source="t"), MapOptions())
    except BadRecord:
        return
    assert len(result) == 1
    assert result[0].raw == raw
