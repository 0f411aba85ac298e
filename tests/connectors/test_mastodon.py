"""Mastodon Status import: documented Status JSON maps to the posts, reposts and skips a user expects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings

from tests.connectors.helpers import (
    FIXTURE_ROOT,
    assert_all_detected,
    fixture_files,
    import_file,
    json_lines,
    mutated,
)
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.files import read_sample
from watchfloor.connectors.mastodon import sniff_mastodon
from watchfloor.connectors.mastodon.mapping import html_to_text, map_status, map_status_line
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Metrics, Post, Quarantined

FIXTURES = FIXTURE_ROOT / "mastodon"
STATUSES = FIXTURES / "statuses.jsonl"
# The shared data folder beside the repository (../shared): GFDL pages, read in place, never copied.
DOCS = Path(__file__).resolve().parents[3] / "shared" / "data" / "protocol_mastodon_api_docs"
ALICE_1 = "https://mastodon.example/users/alice/statuses/113000000000000001"


def _import(name: str) -> list[Envelope | Quarantined]:
    return import_file(FIXTURES / name, "mastodon-status")


def _posts_on(items: list[Envelope | Quarantined], line: int) -> list[Post]:
    return [i.post for i in items if isinstance(i, Envelope) and i.post and i.location.line == line]


def test_detects_status_files() -> None:
    assert_all_detected([STATUSES, FIXTURES / "malformed.jsonl"], "mastodon-status")


@pytest.mark.parametrize("other", ["bluesky", "twitter"])
def test_sniffer_scores_zero_on_other_platforms_fixtures(other: str) -> None:
    for path in fixture_files(other):
        assert sniff_mastodon(read_sample(path)) == 0, path.name


def test_post_with_links_tags_mentions_and_card() -> None:
    (post,) = _posts_on(_import("statuses.jsonl"), 1)
    assert post.platform == "mastodon"
    assert post.native_id == ALICE_1
    assert post.url == "https://mastodon.example/@alice/113000000000000001"
    assert post.created_at == datetime(2026, 5, 1, 8, 15, 30, 123000, tzinfo=UTC)
    assert post.author_id == "https://mastodon.example/@alice"
    assert post.author_handle == "alice@mastodon.example"
    assert post.author_name == "Alice Example"
    assert post.text == (
        "Flooding on Main St this morning.\n"
        "Stay safe! https://news.example/2026/05/01/flood-warning #flood\n\n"
        "cc @bob @carol & friends"
    )
    assert post.title is None  # empty spoiler_text
    assert post.langs == ("en",)
    assert post.lang_source == "platform"
    assert post.hashtags == ("flood",)
    assert post.mentions == ("bob@mastodon.example", "carol@other.example")
    assert post.urls == ("https://news.example/2026/05/01/flood-warning",)
    (card,) = post.media
    assert (card.kind, card.url) == ("link_card", "https://news.example/2026/05/01/flood-warning")
    assert post.metrics == Metrics(likes=11, reposts=5, replies=2, quotes=1)
    assert post.source == "mastodon-status"
    assert post.source_version == "1"


def test_content_warning_reply_edit_and_media() -> None:
    (post,) = _posts_on(_import("statuses.jsonl"), 2)
    assert post.title == "Flood damage"
    assert post.sensitive is True
    assert post.langs == ("de",)
    assert post.edited_at == datetime(2026, 5, 1, 9, 5, tzinfo=UTC)
    # the author is local, so the instance that served the local reply id is known
    assert post.reply_to == "mastodon.example/113000000000000001"
    assert [(m.kind, m.alt_text) for m in post.media] == [
        ("image", "Water up to the railing of the bridge"),
        ("gif", None),
    ]
    assert post.media[0].preview_url is not None
    assert post.media[0].preview_url.endswith("/small/a.jpg")


def test_reblog_yields_the_original_and_a_repost() -> None:
    original, repost = _posts_on(_import("statuses.jsonl"), 3)
    assert original.native_id == "https://other.example/users/carol/statuses/110000000000000777"
    assert original.author_handle == "carol@other.example"
    assert original.author_name == "Carol ☂"
    assert original.text == "Evacuation route map (video) and the siren test recording."
    assert original.metrics == Metrics(likes=3, reposts=40, replies=0, quotes=0)
    assert [(m.kind, m.url) for m in original.media] == [
        ("video", "https://mastodon.example/system/cache/media_attachments/files/000/006/001/original/v.mp4"),
        ("audio", "https://other.example/media/siren.mp3"),  # url null: remote_url is used
        ("other", "https://other.example/media/route.gpx"),
    ]
    assert repost.native_id == "https://mastodon.example/users/bob/statuses/113000000000000003/activity"
    assert repost.repost_of == original.native_id
    assert repost.author_handle == "bob@mastodon.example"
    assert repost.author_name is None  # display_name was empty
    assert repost.created_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert repost.text is None
    assert repost.metrics is None
    assert repost.media == ()


def test_reply_by_remote_author_is_marked_without_guessing_the_instance() -> None:
    (post,) = _posts_on(_import("statuses.jsonl"), 4)
    assert post.is_reply
    assert post.reply_to == (
        "https://other.example/users/carol/statuses/110000000000000888#in_reply_to_id=113000000000000001"
    )
    assert post.mentions == ("alice@mastodon.example",)
    assert post.langs == ()
    assert post.lang_source is None


def test_quotes_point_at_the_quoted_status_and_embedded_quotes_are_posts() -> None:
    items = _import("statuses.jsonl")
    quoting, quoted = _posts_on(items, 5)
    assert quoting.quote_of == ALICE_1
    assert quoting.text == "Confirmed by the city."  # the "RE: link" fallback paragraph is dropped
    assert quoting.urls == ()
    assert quoted.native_id == ALICE_1
    (shallow,) = _posts_on(items, 6)
    assert shallow.quote_of == "mastodon.example/113000000000000001"


def test_direct_messages_are_skipped_as_not_public() -> None:
    (item,) = [i for i in _import("statuses.jsonl") if i.location.line == 7]
    assert isinstance(item, Envelope)
    assert item.post is None
    assert item.skipped_reason == "visibility 'direct' is not public; watchfloor imports public posts only"


def test_saved_page_array_maps_each_element_and_quarantines_bad_ones() -> None:
    items = [i for i in _import("statuses.jsonl") if i.location.line == 8]
    assert [(i.location.index, type(i).__name__) for i in items] == [
        (0, "Envelope"),
        (1, "Quarantined"),
        (2, "Quarantined"),
        (3, "Envelope"),
    ]
    bad_date, not_object = items[1], items[2]
    assert isinstance(bad_date, Quarantined)
    assert bad_date.field == "created_at"
    assert "2026-13-45" in bad_date.reason
    assert orjson.loads(bad_date.raw)["id"] == "113000000000000011"  # the element, not the whole page
    assert isinstance(not_object, Quarantined)
    assert not_object.reason == "expected a Status object, got str"
    assert isinstance(items[3], Envelope)
    assert items[3].post is not None
    assert items[3].post.text == "Roads open again."


def test_malformed_lines_are_quarantined_and_neighbours_still_map() -> None:
    items = _import("malformed.jsonl")
    assert [i.location.line for i in items if isinstance(i, Envelope)] == [1, 6]
    bad = {i.location.line: i for i in items if isinstance(i, Quarantined)}
    assert bad[2].reason.startswith("not valid JSON")
    assert (bad[3].field, bad[3].reason) == ("uri", "missing or not a string")
    assert bad[4].field == "created_at"
    assert (bad[5].field, bad[5].reason) == ("content", "expected an HTML string, got int")


def test_html_to_text_keeps_breaks_and_collects_plain_links_only() -> None:
    text, links = html_to_text(
        '<p>a<br />b &lt;3</p><p><a href="https://x.example/p" rel="nofollow">x</a> '
        '<a href="https://m.example/tags/t" class="mention hashtag" rel="tag">#t</a></p>'
    )
    assert text == "a\nb <3\n\nx #t"
    assert links == ["https://x.example/p"]
    assert html_to_text("<p></p>") == (None, [])


def test_other_json_is_a_bad_record() -> None:
    with pytest.raises(BadRecord):
        map_status_line(b'"just a string"', Location(source="t"), MapOptions())


def _doc_statuses() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every complete Status in the documentation's JSON examples (comment lines and ellipses removed)."""

    def walk(value: object) -> Iterator[dict[str, Any]]:
        if isinstance(value, str) and value.startswith("{"):  # streaming payloads are JSON in a string
            try:
                value = json.loads(value)
            except ValueError:
                return
        if isinstance(value, dict):
            if {"uri", "account", "content", "created_at"} <= value.keys():
                yield value
            for child in value.values():
                yield from walk(child)
        elif isinstance(value, list):
            for child in value:
                yield from walk(child)

    for page in sorted(DOCS.glob("*/*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = re.findall(r"```json\n(.*?)\n```", text, re.S) + re.findall(r"^data: (\{.*\})$", text, re.M)
        for block in blocks:
            block = re.sub(r"^\s*//.*$", "", block, flags=re.M)
            block = re.sub(r",(\s*[}\]])", r"\1", block)
            try:
                example = json.loads(block)
            except ValueError:
                continue  # elided examples ("[...]") are not complete payloads
            for status in walk(example):
                yield page.name, status


@pytest.mark.skipif(not DOCS.is_dir(), reason="Mastodon documentation examples (../shared) not present")
def test_mastodon_documentation_examples_map() -> None:
    statuses = list(_doc_statuses())
    assert len(statuses) >= 20
    mapped = 0
    for page, status in statuses:
        for envelope in map_status(status, orjson.dumps(status), Location(source=page)):
            if envelope.post is not None:
                mapped += 1
                assert envelope.post.native_id.startswith("http")
                assert envelope.post.created_at.tzinfo is not None
            else:
                assert envelope.skipped_reason is not None
    assert mapped >= 20


@settings(max_examples=400, deadline=None)
@given(mutated(json_lines(STATUSES)))
def test_mapper_raises_only_bad_record_on_mutated_statuses(status: object) -> None:
    raw = json.dumps(status).encode()  # stdlib: also writes integers beyond 64 bits
    try:
        result = map_status_line(raw, Location(source="t"), MapOptions())
    except BadRecord:
        return
    for item in result:
        assert isinstance(item, Envelope | Quarantined)
