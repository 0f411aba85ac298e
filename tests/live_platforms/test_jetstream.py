"""Bluesky Jetstream live connector against a loopback fake Jetstream replaying recorded frames."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.live_platforms.conftest import FakeJetstream, time_us
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.bluesky.mapping import map_jetstream_event
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.jetstream import JetstreamConnector
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Post

ALL = "app.bsky.*,fm.teal.*"  # every collection the recording holds


def connector(fake: FakeJetstream, **config: object) -> JetstreamConnector:
    built = registry.build("bluesky-jetstream", {"url": fake.url, "max_seconds": 0.3, **config})
    assert isinstance(built, JetstreamConnector)
    return built


def importer_posts(frames: list[bytes]) -> list[Post]:
    """What ``watchfloor import`` maps the same frames to (the importer's own mapper)."""
    posts: list[Post] = []
    for frame in frames:
        for item in map_jetstream_event(frame, Location(source="file"), MapOptions()):
            if isinstance(item, Envelope) and item.post is not None:
                posts.append(item.post)
    return posts


def drain(
    source: JetstreamConnector, cursor: str | None = None, *, until: int
) -> tuple[list[Batch], str | None]:
    """Fetch like the runner does (committing each cursor) until ``until`` frames came, then once more."""
    batches: list[Batch] = []
    frames = idle = 0
    while frames < until and idle < 3 and len(batches) < 100:
        batch = source.fetch(cursor)
        batches.append(batch)
        frames += len(batch.envelopes) + len(batch.quarantined)
        idle = idle + 1 if empty(batch) else 0
        cursor = batch.next_cursor or cursor
    batches.append(source.fetch(cursor))  # nothing more arrives: an empty batch, cursor unchanged
    return batches, cursor


def empty(batch: Batch) -> bool:
    return not batch.envelopes and not batch.quarantined and batch.next_cursor is None


def posts_of(batches: list[Batch]) -> list[Post]:
    return [e.post for b in batches for e in b.envelopes if e.post is not None]


def test_posts_equal_the_file_importers_mapping_of_the_same_frames(jetstream: FakeJetstream) -> None:
    source = connector(jetstream)
    batches, cursor = drain(source, until=25)
    source.close()

    assert jetstream.connections[0].params["wantedCollections"] == ["app.bsky.feed.post"]
    assert len(jetstream.sent) == 25  # 22 posts and updates, a delete, an identity and an account event
    assert "cursor" not in jetstream.connections[0].params
    assert posts_of(batches) == importer_posts(jetstream.sent)
    assert len(posts_of(batches)) == 22
    assert cursor == str(max(time_us(f) for f in jetstream.sent))
    assert empty(batches[-1])  # an idle stream returns an empty batch and leaves the cursor alone


def test_every_kind_of_frame_is_accounted_for(jetstream: FakeJetstream) -> None:
    source = connector(jetstream, collections=ALL)
    batches, _ = drain(source, until=len(jetstream.frames))
    source.close()

    envelopes = [e for b in batches for e in b.envelopes]
    assert len(envelopes) == len(jetstream.frames)  # nothing silently dropped
    assert len([e for e in envelopes if e.deletion is not None]) == 2  # a post delete, a repost delete
    reasons = Counter(e.skipped_reason for e in envelopes if e.post is None and e.deletion is None)
    assert reasons["app.bsky.feed.like is not a post"] == 105
    assert reasons["identity event (handle or DID document change) is not a post"] == 1
    assert reasons["account event (active) is not a post"] == 1
    assert [e.raw for e in envelopes] == jetstream.sent  # the payload is kept exactly as received
    assert source.counts["frames"] == len(jetstream.frames)


def test_batches_respect_max_frames_and_the_cursor_only_moves_forward(jetstream: FakeJetstream) -> None:
    source = connector(jetstream, collections=ALL, max_frames=40)
    batches, _ = drain(source, until=len(jetstream.frames))
    source.close()

    cursors = [int(b.next_cursor) for b in batches if b.next_cursor is not None]
    assert all(len(b.envelopes) + len(b.quarantined) <= 40 for b in batches)
    assert len(cursors) >= 4
    assert cursors == sorted(cursors)
    assert len(jetstream.connections) == 1  # batch after batch on the same socket


def test_resume_after_a_disconnect_mid_stream_loses_nothing(jetstream: FakeJetstream) -> None:
    jetstream.drop_after = {0: 60}
    source = connector(jetstream, collections=ALL, rewind_seconds=0)
    batches, _ = drain(source, until=len(jetstream.frames) + 1)
    source.close()

    first, second = jetstream.connections
    assert len(first.sent) == 60
    assert second.cursor == time_us(first.sent[-1])  # reconnected from the committed cursor
    keys = [e.raw for b in batches for e in b.envelopes]
    assert set(keys) == set(jetstream.frames)
    assert len(keys) == len(jetstream.frames) + 1  # only the frame at the cursor itself came twice


def test_reconnect_rewinds_the_cursor_so_out_of_order_frames_are_not_missed(jetstream: FakeJetstream) -> None:
    jetstream.drop_after = {0: 60}
    source = connector(jetstream, collections=ALL)  # default rewind: 5 seconds
    drain(source, until=len(jetstream.frames) + 60)
    source.close()

    first, second = jetstream.connections[:2]
    assert second.cursor == time_us(first.sent[-1]) - 5_000_000


def test_a_disconnect_before_any_frame_is_transient(jetstream: FakeJetstream) -> None:
    jetstream.drop_after = {0: 0}
    source = connector(jetstream)
    with pytest.raises(Transient, match="closed the connection"):
        source.fetch(None)
    batch = source.fetch(None)  # the runner retries later; the next fetch reconnects
    source.close()
    assert len(jetstream.connections) == 2
    assert batch.envelopes


def test_malformed_frames_are_quarantined_and_the_stream_goes_on(jetstream: FakeJetstream) -> None:
    jetstream.inject = {
        3: [b'{"did":"did:plc:x","time_us":17831758', b"[1, 2, 3]"],
        10: [b'{"did":"did:plc:x","time_us":1783175888200000,"kind":"telepathy"}'],
    }
    source = connector(jetstream, collections=ALL)
    batches, cursor = drain(source, until=len(jetstream.frames) + 3)
    source.close()

    quarantined = [q for b in batches for q in b.quarantined]
    assert [q.reason for q in quarantined][1:] == [
        "expected a JSON object, got list",
        "unknown Jetstream event kind 'telepathy'",
    ]
    assert quarantined[0].reason.startswith("not valid JSON")
    assert quarantined[0].raw == b'{"did":"did:plc:x","time_us":17831758'
    assert sum(len(b.envelopes) for b in batches) == len(jetstream.frames)
    assert cursor == str(time_us(jetstream.frames[-1]))


def test_slow_frames_come_in_small_batches_on_one_connection(jetstream: FakeJetstream) -> None:
    jetstream.delay = 0.02
    source = connector(jetstream, max_seconds=0.05)
    batches, _ = drain(source, until=25)
    source.close()

    assert len(jetstream.connections) == 1  # waiting out the time budget is not a reason to reconnect
    assert len(batches) > 3
    assert posts_of(batches) == importer_posts(jetstream.sent)


def test_a_cursor_older_than_the_server_keeps_is_noted(jetstream: FakeJetstream) -> None:
    frames = jetstream.frames
    jetstream.floor_us = time_us(frames[-5])
    source = connector(jetstream, collections=ALL, gap_seconds=10)
    batch = source.fetch(str(time_us(frames[0])))
    source.close()

    assert [e.raw for e in batch.envelopes] == frames[-5:]  # it starts where the server can
    assert len(source.notes) == 1
    assert source.notes[0].startswith("cursor too old or gap")
    assert source.counts["gaps"] == 1


def test_a_cursor_the_server_still_has_is_not_noted(jetstream: FakeJetstream) -> None:
    source = connector(jetstream, collections=ALL, gap_seconds=10)
    source.fetch(str(time_us(jetstream.frames[20])))
    source.close()
    assert source.notes == []


def test_a_cursor_other_than_the_one_returned_reconnects_from_it(jetstream: FakeJetstream) -> None:
    source = connector(jetstream, collections=ALL, rewind_seconds=0, max_frames=30)
    first = source.fetch(None)
    source.fetch(first.next_cursor)  # read on, but "the runner could not commit" this one
    again = source.fetch(first.next_cursor)
    source.close()

    assert len(jetstream.connections) == 2
    assert jetstream.connections[1].cursor == int(first.next_cursor or "0")
    assert again.envelopes[0].raw == first.envelopes[-1].raw


def test_dids_filter_is_sent_to_the_server(jetstream: FakeJetstream) -> None:
    did = "did:plc:wfconstructedauthor0001a"
    source = connector(jetstream, collections=ALL, dids=[did])
    batch = source.fetch(None)
    source.close()
    assert jetstream.connections[0].params["wantedDids"] == [did]
    assert batch.envelopes
    assert {e.post.author_id for e in batch.envelopes if e.post is not None} == {did}


def test_an_unreachable_server_is_transient() -> None:
    source = registry.build("bluesky-jetstream", {"url": "ws://127.0.0.1:9/subscribe"})
    with pytest.raises(Transient, match="could not connect"):
        source.fetch(None)


def test_a_stored_cursor_that_is_not_a_number_is_permanent(jetstream: FakeJetstream) -> None:
    with pytest.raises(Permanent, match="not a Jetstream time_us"):
        connector(jetstream).fetch("yesterday")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"compress": "true"}, "compress=true"),
        ({"url": "https://jetstream.example/subscribe"}, "must start with wss://"),
        ({"max_frames": "many"}, "max_frames must be a number"),
        ({"max_seconds": 0}, "max_seconds must be at least"),
        ({"wantedCollections": "x"}, "unknown setting"),
        ({"collections": 3}, "collections must be a list"),
    ],
)
def test_bad_configuration_says_what_to_fix(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.build("bluesky-jetstream", config)


def test_comma_separated_settings_and_defaults() -> None:
    config = {"collections": "app.bsky.feed.post, app.bsky.feed.repost", "every": 300}  # every: ignored
    source = registry.build("bluesky-jetstream", config)
    assert isinstance(source, JetstreamConnector)
    assert source.url == "wss://jetstream2.us-east.bsky.network/subscribe"
    assert source.subscribe_url("1783175888085434") == (
        "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
        "&wantedCollections=app.bsky.feed.repost&cursor=1783175883085434"
    )
    assert source.max_frames == 500
    assert source.max_seconds == 1.0
