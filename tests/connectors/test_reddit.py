"""Reddit importers on recorded PRAW cassette bodies: listings, post pages, dumps, detection, bad records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import zstandard
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
from watchfloor.connectors.files import read_sample
from watchfloor.connectors.reddit.mapping import map_dump, map_listing
from watchfloor.connectors.registry import detect_format
from watchfloor.domain.post import Envelope, Location, Quarantined

HERE = FIXTURE_ROOT / "reddit"
LOC = Location(source="test", line=1)


def _dump_line(obj: dict[str, object]) -> bytes:
    return orjson.dumps(obj)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("post_page.json", "reddit-listing"),
        ("listings.jsonl", "reddit-listing"),
        ("duplicates.json", "reddit-listing"),
        ("dump_sample.ndjson.zst", "reddit-dump"),
    ],
)
def test_detects_reddit_fixtures(name: str, expected: str) -> None:
    assert detected(HERE / name) == expected


def test_detects_pretty_printed_listing_as_document(tmp_path: Path) -> None:
    page = orjson.loads((HERE / "duplicates.json").read_bytes())
    path = tmp_path / "page.json"
    path.write_bytes(orjson.dumps(page, option=orjson.OPT_INDENT_2))
    fmt = detect_format(read_sample(path))
    assert fmt.name == "reddit-listing-document"
    posts = posts_by_id(import_file(path, fmt))
    assert set(posts) == {"t3_avj2v", "t3_avj32", "t3_avj2r", "t3_hk49g"}


def test_post_page_maps_submission_and_walks_the_comment_tree() -> None:
    items = import_file(HERE / "post_page.json", "reddit-listing")
    posts = posts_by_id(items)
    sub = posts["t3_3hahrw"]
    assert sub.title == "Ba Dum Tsss"
    assert sub.author_handle == "your_local_librarian"
    assert sub.created_at == datetime(2015, 8, 17, 7, 44, 40, tzinfo=UTC)
    assert sub.url == "https://www.reddit.com/r/funny/comments/3hahrw/ba_dum_tsss/"
    assert sub.conversation == "r/funny"
    assert sub.text is None  # a link post has an empty selftext
    assert sub.urls == ("http://i.imgur.com/eoF76hj.gifv",)
    assert sub.metrics is not None
    assert (sub.metrics.score, sub.metrics.replies) == (11702, 543)
    assert sub.media[0].kind == "video"
    assert sub.sensitive is False
    assert sub.source == "reddit-listing"
    assert sub.source_version == "1"
    # A reply three levels down keeps its parent and thread root as fullnames.
    reply = posts["t1_cu5u6mu"]
    assert reply.text == "Recorded direct to GIF"
    assert (reply.reply_to, reply.reply_root) == ("t1_cu5tkvm", "t3_3hahrw")
    assert posts["t1_cu5yghg"].reply_to == "t1_cu5y4ro"
    # Old comments carry no permalink; the url is the form Reddit resolves.
    assert reply.url == "https://www.reddit.com/comments/3hahrw/_/cu5u6mu/"
    assert posts["t1_cu5ujg2"].edited_at == datetime(2015, 8, 17, 15, 59, 21, tzinfo=UTC)
    assert posts["t1_cu5ujg2"].metrics is not None
    assert posts["t1_cu5ujg2"].metrics.score == 9


def test_post_page_deletions_more_stubs_and_locations() -> None:
    items = import_file(HERE / "post_page.json", "reddit-listing")
    assert all(isinstance(i, Envelope) for i in items)
    envelopes = [i for i in items if isinstance(i, Envelope)]
    deleted = {e.deletion.native_id for e in envelopes if e.deletion}
    assert deleted == {"t1_cu61rpx", "t1_cu5w5hz", "t1_cu5y4ro", "t1_cu60yyr", "t1_cu61dgb", "t1_cu61tk1"}
    assert all(e.post is None for e in envelopes if e.deletion)
    skipped = [e.skipped_reason for e in envelopes if e.skipped_reason]
    assert len(skipped) == 2
    assert all("'more' stub" in r for r in skipped)
    assert any("9 further comments" in r for r in skipped)
    # The account is gone but the comment is public: kept without an author.
    orphan = posts_by_id(items)["t1_cu5p1yt"]
    assert orphan.author_handle is None
    assert orphan.text is not None
    assert orphan.text.startswith("Wanted to repost this")
    # Every child gets its position in depth-first order and its own JSON as raw.
    assert [e.location.index for e in envelopes] == list(range(len(envelopes)))
    assert [e.location.line for e in envelopes] == [1] * len(envelopes)
    first_comment = orjson.loads(envelopes[1].raw)
    assert first_comment["data"]["name"] == "t1_cu5tkvm"
    assert "replies" not in first_comment["data"]  # the replies are their own envelopes
    assert orjson.loads(envelopes[2].raw)["data"]["name"] == "t1_cu5u6mu"


def test_listing_lines_skip_non_posts_and_map_flags() -> None:
    items = import_file(HERE / "listings.jsonl", "reddit-listing")
    envelopes = [i for i in items if isinstance(i, Envelope)]
    assert len(envelopes) == len(items)
    posts = posts_by_id(items)
    assert posts["t3_5dec10"].sensitive is True
    assert posts["t3_5dec10"].urls == ("http://i.imgur.com/BQUfBTw.png",)
    assert posts["t3_5dec10"].media[0].kind == "image"
    assert posts["t3_5dec04"].edited_at == datetime.fromtimestamp(1479363490, tz=UTC)
    assert posts["t3_5dec00"].urls == ()  # a self post links to itself, not to the web
    assert posts["t3_5dec00"].text is not None
    assert posts["t3_5dec00"].text.startswith("Is cs 105 worth it to take")
    assert posts["t3_5dec02"].media[0].kind == "link_card"
    assert "t3_5dec01" not in posts
    assert any(e.deletion and e.deletion.native_id == "t3_5dec01" for e in envelopes)
    subreddits = [e for e in envelopes if e.skipped_reason and "t5" in e.skipped_reason]
    assert len(subreddits) == 11
    assert all(e.location.line == 2 for e in subreddits)
    live = [e for e in envelopes if e.skipped_reason and "LiveUpdate" in e.skipped_reason]
    assert len(live) == 2
    assert live[0].location.line == 5
    comment = posts["t1_dbhn11c"]
    assert comment.author_handle == "Dorkchopqueen"
    assert (comment.reply_to, comment.reply_root) == ("t1_dbhl9sx", "t3_5jfjzu")
    assert comment.conversation == "r/popping"
    assert comment.sensitive is True
    assert comment.created_at == datetime.fromtimestamp(1482373040, tz=UTC)
    assert not any(e.location.line == 3 for e in envelopes)  # the empty page yields nothing


def test_dump_maps_submissions_comments_and_deletions() -> None:
    items = import_file(HERE / "dump_sample.ndjson.zst", "reddit-dump")
    assert [i.location.line for i in items] == list(range(1, 11))
    posts = posts_by_id(items)
    assert len(posts) == 8
    assert posts["t3_48dxvx"].title == "My game cam finally caught something cool."
    assert posts["t3_48dxvx"].source == "reddit-dump"
    assert posts["t1_dbhn11d"].text is not None
    assert posts["t1_dbhn11d"].text.startswith("1979 (Showa 54) 10 Yen (bronze)")
    assert posts["t1_d7ltv08"].author_handle is None
    deleted = [i.deletion.native_id for i in items if isinstance(i, Envelope) and i.deletion]
    assert deleted == ["t3_5dec01", "t1_cu61rpx"]
    first = items[0]
    assert isinstance(first, Envelope)
    assert orjson.loads(first.raw)["name"] == "t3_48dxvx"  # a dump line is kept verbatim


def _comment(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "abc123",
        "body": "a &amp; b &gt; c",
        "author": "someone",
        "created_utc": 1500000000,
        "link_id": "t3_xyz",
        "parent_id": "t3_xyz",
        "subreddit": "test",
    }
    base.update(fields)
    return base


def test_dump_unescapes_reddit_html_entities_but_raw_json_stays_literal() -> None:
    escaped = map_dump(_dump_line(_comment()), LOC, MapOptions())[0]
    assert isinstance(escaped, Envelope)
    assert escaped.post is not None
    assert escaped.post.text == "a & b > c"
    assert escaped.post.native_id == "t1_abc123"
    assert escaped.post.url == "https://www.reddit.com/comments/xyz/_/abc123/"
    literal = _comment(body="a &amp; b", body_html='<div class="md"><p>a &amp;amp; b</p></div>')
    kept = map_dump(_dump_line(literal), LOC, MapOptions())[0]
    assert isinstance(kept, Envelope)
    assert kept.post is not None
    assert kept.post.text == "a &amp; b"


def test_removed_text_becomes_none_and_hidden_score_is_absent() -> None:
    removed = _comment(body="[removed]", score=1, score_hidden=True, edited=False)
    env = map_dump(_dump_line(removed), LOC, MapOptions())[0]
    assert isinstance(env, Envelope)
    assert env.post is not None
    assert env.post.text is None
    assert env.post.author_handle == "someone"
    assert env.post.metrics is None
    assert env.post.edited_at is None


@pytest.mark.parametrize(
    ("line", "field", "reason_part"),
    [
        (b'{"id": "x", "body": "broken', None, "not valid JSON"),
        (_dump_line(_comment(created_utc=None)), "created_utc", "missing"),
        (_dump_line({k: v for k, v in _comment().items() if k != "created_utc"}), "created_utc", "missing"),
        (_dump_line(_comment(created_utc=99999999999999)), "created_utc", "impossible"),
        (_dump_line(_comment(created_utc="yesterday")), "created_utc", "epoch"),
        (_dump_line(_comment(body=["not", "text"])), "body", "expected a string"),
        (_dump_line(_comment(id=None)), "id", "no id"),
        (b'["a", "list"]', None, "expected a JSON object"),
        (_dump_line({"subreddit": "x", "score": 3}), "title", "neither"),
    ],
)
def test_dump_bad_records_are_quarantined_while_neighbours_map(
    tmp_path: Path, line: bytes, field: str | None, reason_part: str
) -> None:
    good = _dump_line(_comment(id="good1"))
    path = tmp_path / "dump.ndjson"
    path.write_bytes(b"\n".join([good, line, _dump_line(_comment(id="good2"))]) + b"\n")
    items = import_file(path, "reddit-dump")
    assert len(items) == 3
    bad = items[1]
    assert isinstance(bad, Quarantined)
    assert bad.field == field
    assert reason_part in bad.reason
    assert bad.location.line == 2
    assert bad.raw == line
    assert {i.post.native_id for i in items if isinstance(i, Envelope) and i.post} == {"t1_good1", "t1_good2"}


def test_bad_child_in_a_listing_is_quarantined_with_its_index() -> None:
    good = {"kind": "t1", "data": _comment(id="ok1")}
    bad = {"kind": "t1", "data": _comment(id="bad1", created_utc=-5e12)}
    listing = {"kind": "Listing", "data": {"children": [good, bad, "junk"]}}
    items = map_listing(orjson.dumps(listing), LOC, MapOptions())
    assert isinstance(items[0], Envelope)
    assert items[0].post is not None
    assert isinstance(items[1], Quarantined)
    assert (items[1].location.index, items[1].field) == (1, "created_utc")
    assert orjson.loads(items[1].raw)["data"]["id"] == "bad1"
    assert isinstance(items[2], Quarantined)
    assert items[2].location.index == 2


def test_a_line_that_is_not_a_listing_is_quarantined_whole(tmp_path: Path) -> None:
    path = tmp_path / "listings.jsonl"
    good = (HERE / "duplicates.json").read_bytes().strip()
    path.write_bytes(b'{"kind": "Listing", "data": {}}\n' + good + b"\n")
    items = import_file(path, "reddit-listing")
    assert isinstance(items[0], Quarantined)
    assert items[0].field == "data.children"
    assert len(posts_by_id(items[1:])) == 4


def test_sniffers_reject_other_formats(tmp_path: Path) -> None:
    samples = {
        "jetstream.jsonl": b'{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{}}\n',
        "statuses.json": b'[{"id":"1","created_at":"2024-01-01T00:00:00Z","content":"x","account":{}}]\n',
        "tweets.jsonl": b'{"created_at":"Wed Oct 10 20:19:24 +0000 2018","id_str":"1","user":{}}\n',
        "fourcat.csv": b'id,thread_id,body,author,subreddit,timestamp\n1,2,"x",a,b,2020-01-01\n',
        "youtube.json": b'{"kind": "youtube#videoListResponse", "items": []}\n',
    }
    assert_sniffers_reject(tmp_path, samples, ("reddit-listing", "reddit-listing-document", "reddit-dump"))


def test_zstd_dump_fixture_is_real_zstd() -> None:
    with (HERE / "dump_sample.ndjson.zst").open("rb") as handle:
        text = zstandard.ZstdDecompressor().stream_reader(handle).read()
    assert text.count(b"\n") == 10


_thing_keys = [
    "id", "name", "title", "body", "selftext", "author", "author_fullname", "created_utc", "edited",
    "score", "num_comments", "permalink", "url", "is_self", "over_18", "parent_id", "link_id", "subreddit",
    "preview", "media", "media_metadata", "post_hint", "is_video", "body_html", "crosspost_parent",
    "removed_by_category",
]  # fmt: skip
_valid_thing = {
    "id": "x1",
    "title": "t",
    "body": "b",
    "created_utc": 1500000000,
    "subreddit": "s",
    "url": "u",
}
# A valid thing with a few fields replaced by arbitrary JSON reaches the deep paths of the mapper.
_thing = st.one_of(
    st.fixed_dictionaries({}, optional=dict.fromkeys(_thing_keys, JSON)),
    st.builds(lambda extra: {**_valid_thing, **extra}, st.dictionaries(st.sampled_from(_thing_keys), JSON)),
)
_child = st.fixed_dictionaries({"kind": st.sampled_from(["t1", "t3", "t5", "more", "x"]), "data": _thing})
_listing = st.builds(lambda c: {"kind": "Listing", "data": {"children": c}}, st.lists(_child, max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, _thing, _listing, st.lists(_listing, max_size=2)))
def test_mappers_raise_only_bad_record_on_arbitrary_json(value: object) -> None:
    assert_only_bad_record((map_listing, map_dump), value, LOC)
