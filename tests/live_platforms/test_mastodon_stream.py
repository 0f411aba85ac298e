"""Mastodon streaming connector against a loopback fake instance and streaming server (CC0 statuses)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.live_platforms.conftest import Reply
from tests.live_platforms.mastodon_stream_fake import TOKEN, FakeMastodonStreaming, streaming
from tests.people import make_basis
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.live import registry
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.mastodon_stream import MastodonStreamConnector
from watchfloor.connectors.mastodon.mapping import map_status_line
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Post
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import collect, rules, sources
from watchfloor.wiring import build_context

__all__ = ["streaming"]  # the fixture, imported so pytest finds it

ENV = "MASTODON_TOKEN"
TAG_STREAM = {"type": "subscribe", "stream": "hashtag", "tag": "flood"}


def connector(fake: FakeMastodonStreaming, **config: object) -> MastodonStreamConnector:
    settings = {"instance": fake.url, "streams": ["hashtag:flood"], "token_env": ENV, "max_seconds": 0.3}
    built = registry.build("mastodon-stream", {**settings, **config}, credentials={ENV: TOKEN})
    assert isinstance(built, MastodonStreamConnector)
    return built


def posts_of(batches: list[Batch]) -> list[Post]:
    return [e.post for b in batches for e in b.envelopes if e.post is not None]


def importer_posts(statuses: list[dict[str, object]]) -> list[Post]:
    """What ``watchfloor import`` maps the same statuses to, one per line (the importer's mapper)."""
    posts: list[Post] = []
    for status in statuses:
        for item in map_status_line(orjson.dumps(status), Location(source="file"), MapOptions()):
            if isinstance(item, Envelope) and item.post is not None:
                posts.append(item.post)
    return posts


def drain(
    source: MastodonStreamConnector, cursor: str | None, *, idle: int = 2
) -> tuple[list[Batch], str | None]:
    """Fetch as the runner does (committing each cursor) until ``idle`` empty batches in a row."""
    batches: list[Batch] = []
    empty = 0
    while empty < idle and len(batches) < 50:
        batch = source.fetch(cursor)
        batches.append(batch)
        nothing = not batch.envelopes and not batch.quarantined and batch.next_cursor is None
        empty = empty + 1 if nothing else 0
        cursor = batch.next_cursor or cursor
    return batches, cursor


def newest(cursor: str | None) -> str:
    assert cursor is not None
    value = orjson.loads(cursor)["hashtag:flood"]
    assert isinstance(value, str)
    return value


def test_the_first_fetch_subscribes_with_the_token_and_starts_from_the_newest_rest_page(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    batch = source.fetch(None)
    client = streaming.wait_subscribed(1)
    source.close()

    assert client.authorization == f"Bearer {TOKEN}"
    assert client.subscriptions == [TAG_STREAM]
    assert [r.path for r in streaming.requests] == ["/api/v2/instance", "/api/v1/timelines/tag/flood"]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in streaming.requests)
    assert {p.native_id for p in posts_of([batch])} == {
        p.native_id for p in importer_posts(streaming.statuses[:5])
    }
    assert newest(batch.next_cursor) == streaming.statuses[4]["id"]


def test_update_frames_map_like_the_importer_and_keep_the_status_json_raw(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    cursor = source.fetch(None).next_cursor
    streaming.wait_subscribed(1)
    new = streaming.post(3)  # a post, a direct message (skipped), a post
    batches, cursor = drain(source, cursor)
    source.close()

    envelopes = [e for b in batches for e in b.envelopes]
    assert posts_of(batches) == importer_posts(new)
    assert [e.raw for e in envelopes] == [orjson.dumps(s) for s in new]
    assert all(e.format == "mastodon-status" for e in envelopes)
    assert [e.skipped_reason for e in envelopes if e.post is None] == [
        "visibility 'direct' is not public; watchfloor imports public posts only"
    ]
    assert newest(cursor) == new[-1]["id"]


def test_an_edit_is_a_post_with_the_same_key_and_edited_at_and_leaves_the_cursor(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    cursor = source.fetch(None).next_cursor
    streaming.wait_subscribed(1)
    original = streaming.statuses[4]
    edited = dict(
        original, edited_at="2026-11-30T12:01:00.000Z", content="<p>Corrected: the bridge is open.</p>"
    )
    frame = {
        "stream": ["hashtag", "flood"],
        "event": "status.update",
        "payload": orjson.dumps(edited).decode(),
    }
    streaming.send(orjson.dumps(frame))
    batches, after = drain(source, cursor)
    source.close()

    (post,) = [p for p in posts_of(batches) if p.native_id == original["uri"]]
    assert post.text == "Corrected: the bridge is open."
    assert post.edited_at is not None and post.edited_at.isoformat() == "2026-11-30T12:01:00+00:00"
    assert after == cursor  # an edit of an old status does not move the cursor
    assert source.counts["edits"] == 1


def test_a_delete_of_a_status_read_becomes_a_deletion_by_uri_and_an_unknown_one_is_skipped(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    cursor = source.fetch(None).next_cursor
    streaming.wait_subscribed(1)
    for status_id in (str(streaming.statuses[4]["id"]), "99999"):
        streaming.send(
            orjson.dumps({"stream": ["hashtag", "flood"], "event": "delete", "payload": status_id})
        )
    batches, _ = drain(source, cursor)
    source.close()

    envelopes = [e for b in batches for e in b.envelopes]
    assert [e.deletion.native_id for e in envelopes if e.deletion is not None] == [
        streaming.statuses[4]["uri"]
    ]
    (skipped,) = [e for e in envelopes if e.deletion is None]
    assert (
        skipped.skipped_reason is not None
        and "'99999', which this connector has not read" in skipped.skipped_reason
    )


def test_malformed_frames_are_quarantined_with_the_reason_and_the_stream_goes_on(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    cursor = source.fetch(None).next_cursor
    streaming.wait_subscribed(1)
    no_uri = {k: v for k, v in streaming.statuses[5].items() if k != "uri"}
    for frame in (
        b'{"stream":["hashtag","flood"],"event":"update","payload":"{\\"id\\": \\"1',  # truncated
        b"[1, 2, 3]",
        b'{"stream":["hashtag","flood"],"payload":"{}"}',
        orjson.dumps({"stream": ["hashtag", "flood"], "event": "update", "payload": 42}),
        orjson.dumps({"stream": ["hashtag", "flood"], "event": "update", "payload": "{oops"}),
        orjson.dumps(
            {"stream": ["hashtag", "flood"], "event": "update", "payload": orjson.dumps(no_uri).decode()}
        ),
        orjson.dumps({"stream": ["hashtag", "flood"], "event": "filters_changed"}),
    ):
        streaming.send(frame)
    good = streaming.post(1)
    batches, after = drain(source, cursor)
    source.close()

    reasons = [q.reason for b in batches for q in b.quarantined]
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1:4] == [
        "expected a streaming event object, got list",
        "a streaming frame without an event name",
        "the update payload must be a Status as a JSON string, got int",
    ]
    assert reasons[4].startswith("the update payload is not valid JSON")
    assert reasons[5] == "missing or not a string"
    assert [q.field for b in batches for q in b.quarantined][5] == "uri"
    skipped = [e.skipped_reason for b in batches for e in b.envelopes if e.post is None]
    assert skipped == ["streaming event 'filters_changed' is not a status"]
    assert posts_of(batches) == importer_posts(good)  # the good frame after them still arrives
    assert newest(after) == good[0]["id"]


def test_a_disconnect_is_backfilled_over_rest_with_no_loss_and_no_duplicates(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    batches = [source.fetch(None)]
    cursor = batches[0].next_cursor
    streaming.wait_subscribed(1)
    streaming.post(2)
    more, cursor = drain(source, cursor)
    batches += more
    before_drop = newest(cursor)

    streaming.drop()
    streaming.post(4)  # posted while disconnected: on REST only
    with pytest.raises(Transient, match="closed the connection"):
        source.fetch(cursor)

    def overlap() -> None:  # one more status, posted after the new subscribe: on REST and on the stream
        streaming.wait_subscribed(2)
        streaming.post(1)

    streaming.on_timeline = overlap
    more, cursor = drain(source, cursor)
    batches += more
    streaming.post(1)  # and the stream goes on
    more, cursor = drain(source, cursor)
    batches += more
    source.close()

    backfill = [r for r in streaming.requests if r.path == "/api/v1/timelines/tag/flood"][1]
    assert backfill.params["min_id"] == before_drop  # REST read from the newest status seen
    # Every status once, nothing lost: the same posts as importing the 12 statuses once (two of them
    # embed the same original, which therefore comes twice there too).
    keys = Counter(p.native_id for p in posts_of(batches))
    assert keys == Counter(p.native_id for p in importer_posts(streaming.statuses))
    assert source.counts["duplicates"] >= 1  # the overlapping status came twice and was kept once
    assert newest(cursor) == streaming.statuses[-1]["id"]


def test_a_failed_backfill_is_transient_and_resumes_on_the_open_connection(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming)
    cursor = source.fetch(None).next_cursor
    streaming.wait_subscribed(1)
    streaming.drop()
    missed = streaming.post(3)
    with pytest.raises(Transient, match="closed the connection"):
        source.fetch(cursor)
    streaming.faults = [Reply(503, b"{}")]
    with pytest.raises(Transient, match="HTTP 503"):
        source.fetch(cursor)  # reconnected and subscribed; the REST backfill failed
    batches, after = drain(source, cursor)
    source.close()

    assert len(streaming.clients) == 2  # the backfill resumed on the same connection
    assert Counter(p.native_id for p in posts_of(batches)) == Counter(
        p.native_id for p in importer_posts(missed)
    )
    assert newest(after) == missed[-1]["id"]


def test_a_wrong_token_is_permanent(streaming: FakeMastodonStreaming) -> None:
    source = connector(streaming)
    source.credentials = {ENV: "revoked"}
    with pytest.raises(Permanent, match="HTTP 401"):
        source.fetch(None)  # the instance discovery request is refused

    direct = connector(streaming, streaming_url=streaming.ws_url)
    direct.credentials = {ENV: "revoked"}
    with pytest.raises(Permanent, match=f"HTTP 401 on connect; check the token in {ENV}"):
        direct.fetch(None)  # the WebSocket handshake is refused

    unset = connector(streaming)
    unset.credentials = {}
    with pytest.raises(Permanent, match=f"environment variable {ENV} .* is not set"):
        unset.fetch(None)


def test_a_refused_subscription_is_permanent(streaming: FakeMastodonStreaming) -> None:
    streaming.error_frame = b'{"error":"Stream not found","status":404}'
    source = connector(streaming, streams=["list:42"])
    source.fetch(None)  # connects, subscribes, reads the list's newest REST page
    with pytest.raises(Permanent, match="Stream not found"):
        source.fetch(source._position)
    source.close()


def test_streams_are_multiplexed_on_one_connection_each_with_its_rest_timeline(
    streaming: FakeMastodonStreaming,
) -> None:
    source = connector(streaming, streams="public, public:local,hashtag:#Flood , list:42")
    batch = source.fetch(None)
    client = streaming.wait_subscribed(1, streams=4)
    source.close()

    assert client.subscriptions == [
        {"type": "subscribe", "stream": "public"},
        {"type": "subscribe", "stream": "public:local"},
        TAG_STREAM,
        {"type": "subscribe", "stream": "list", "list": "42"},
    ]
    timelines = sorted((r.path, r.params.get("local", "")) for r in streaming.requests[1:])
    assert timelines == [
        ("/api/v1/timelines/list/42", ""),
        ("/api/v1/timelines/public", ""),
        ("/api/v1/timelines/public", "true"),
        ("/api/v1/timelines/tag/flood", ""),
    ]
    assert batch.next_cursor is not None
    assert sorted(orjson.loads(batch.next_cursor)) == ["hashtag:flood", "list:42", "public", "public:local"]
    assert len(streaming.clients) == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"token": "abc"}, "must not be written in the source's settings"),
        ({"token_env": None}, "token_env is required"),
        ({"token_env": "my token"}, "name of an environment variable"),
        ({"streams": ["home"]}, "'home' is not a stream"),
        ({"streams": "list:"}, "'list:' is not a stream"),
        ({"instance": "mastodon.social"}, "instance must be the instance's address"),
        ({"streaming_url": "https://streaming.example"}, "streaming_url must start with wss://"),
        ({"max_seconds": 0}, "max_seconds must be from 0.01"),
        ({"colour": "blue"}, "unknown setting"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(config: dict[str, object], message: str) -> None:
    base = {"instance": "https://mastodon.example", "token_env": ENV, "streams": ["public"]}
    with pytest.raises(ConfigError, match=message):
        registry.build("mastodon-stream", {k: v for k, v in {**base, **config}.items() if v is not None})


def test_building_touches_no_network_and_reads_no_token() -> None:
    built = registry.build(
        "mastodon-stream", {"url": "https://unreachable.invalid", "token_env": "NOT_SET_HERE"}
    )
    built.close()  # `sources add` builds and closes a connector to validate settings


def test_through_the_runner_posts_alerts_and_deletions_are_stored(
    streaming: FakeMastodonStreaming, tmp_path: Path
) -> None:
    ctx = build_context(Settings(database_url=str(tmp_path / "s.db")))
    sam = Actor(name="sam", roles=frozenset({"supervisor"}))
    basis = make_basis(ctx)
    rules.add_rule(
        ctx, actor=sam, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=basis)
    )
    config = {"instance": streaming.url, "streams": ["hashtag:flood"], "token_env": ENV, "max_seconds": 0.3}
    source = sources.add_source(
        ctx, actor=sam, name="flood-stream", kind="mastodon-stream", config=config, basis_id=basis
    )
    stream = connector(streaming)
    first = collect.run_once(ctx, source.id, stream)
    streaming.wait_subscribed(1)
    streaming.post(3)
    frame = {"stream": ["hashtag", "flood"], "event": "delete", "payload": str(streaming.statuses[4]["id"])}
    streaming.send(orjson.dumps(frame))
    second = collect.run_once(ctx, source.id, stream)
    stream.close()

    with ctx.store.snapshot() as tx:
        stored = tx.get_source(source.id)
        posts = tx.stats().posts
    ctx.store.close()
    assert first.inserted + second.inserted == len({p.key for p in importer_posts(streaming.statuses[:8])})
    assert posts == first.inserted + second.inserted - 1  # the deleted one is no longer counted
    assert second.deletions == 1
    assert first.alerts_raised + second.alerts_raised >= 1
    assert stored is not None and newest(stored.cursor) == streaming.statuses[7]["id"]
