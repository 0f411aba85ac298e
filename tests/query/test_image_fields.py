"""Image text and known-image hashes in the query language: image:, text:, imagehash:~list.

The same answers from the reference evaluator, the compiled rule matcher and the SQL stores (where the
full-text index holds the post's text and its image text together, and a post-filter tells them apart).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from watchfloor.domain.errors import NotFound, QuerySyntaxError
from watchfloor.domain.media import (
    PDQ_MIN_QUALITY,
    RegionHash,
    hash_distance,
    hashes_near,
    phash_informative,
    tagged_hashes,
)
from watchfloor.domain.post import MediaRef, Post
from watchfloor.domain.rules import RuleVersion
from watchfloor.query.describe import to_text
from watchfloor.query.evaluate import Document, match_spans, matches
from watchfloor.query.parser import parse_query
from watchfloor.rules import Matcher, compile_rule

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FLYER = "pdq:" + "f" * 32 + "0" * 32
FLYER_PHASH = "phash:ffff0000ffff0000"


def post(text: str, *, image_text: str | None = None, hashes: tuple[str, ...] = (), nid: str = "1") -> Post:
    return Post(
        platform="bluesky", native_id=nid, created_at=AT, source="test", source_version="1", text=text,
        image_text=image_text, image_hashes=hashes, media=(MediaRef(kind="image", url="https://x/a.jpg"),),
    )  # fmt: skip


SCAM = post("Look at this!", image_text="FREE BITCOIN giveaway\nsend 1 BTC get 2 back", hashes=(FLYER,))
PLAIN = post("free bitcoin for everyone", nid="2")


@pytest.mark.parametrize(
    ("query", "scam", "plain"),
    [
        ("bitcoin", True, True),  # plain words read the image text too
        ("image:bitcoin", True, False),
        ("text:bitcoin", False, True),
        ('image:"free bitcoin"', True, False),
        ('"free bitcoin"', True, True),
        ("look image:giveaway", True, False),
        ("-image:bitcoin", False, True),
        ("text:look", True, False),
        ("image:look", False, False),
    ],
)
def test_scoped_words_in_the_reference_evaluator(query: str, scam: bool, plain: bool) -> None:
    root = parse_query(query).root
    assert matches(root, Document.from_post(SCAM)) is scam
    assert matches(root, Document.from_post(PLAIN)) is plain


def test_spans_of_image_words_point_into_the_image_text() -> None:
    doc = Document.from_post(SCAM)
    spans = match_spans(parse_query("giveaway").root, doc)
    assert [doc.text[a:b] for a, b in spans] == ["giveaway"]
    assert spans[0][0] > len(SCAM.own_text())


def test_queries_round_trip_through_canonical_text() -> None:
    for text in ('image:"free bitcoin"', "text:flood", "imagehash:~scam-kit AND lang:en"):
        query = parse_query(text, allow_lists=True)
        assert parse_query(to_text(query.root), allow_lists=True).root == query.root


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("imagehash:~scam", "only allowed in rules"),
        ("image:!!!", "no letters or digits"),
    ],
)
def test_helpful_errors_in_search(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(query)


def test_imagehash_needs_the_tilde() -> None:
    with pytest.raises(QuerySyntaxError, match="not a known-image list"):
        parse_query("imagehash:scam", allow_lists=True)


def test_hash_distances() -> None:
    near = "pdq:" + "f" * 31 + "e" + "0" * 32  # one bit off
    far = "pdq:" + "0" * 64
    assert hash_distance(FLYER, near) == 1
    assert hash_distance(FLYER, FLYER_PHASH) is None  # different algorithms never compare
    assert hashes_near([near], [FLYER])
    assert not hashes_near([far], [FLYER])


def test_hashes_near_reads_a_known_set_the_same_way_every_time() -> None:
    """The parsed form of a list's frozenset is cached; answers match the uncached path."""
    known = frozenset({FLYER, FLYER_PHASH, "pdq:" + "0" * 64})
    near_phash = "phash:ffff0000ffff0001"
    far = "pdq:" + "0f" * 32
    for mine, expected in (([near_phash], True), ([far], False), ([far, FLYER], True), ([], False)):
        assert hashes_near(mine, known) is expected
        assert hashes_near(mine, list(known)) is expected  # not a frozenset: not cached
        assert hashes_near(mine, known) is expected


def _region(name: str, quality: int, pdq: str = "a" * 64, phash: str = "ffff0000ffff0000") -> RegionHash:
    return RegionHash(region=name, pdq=pdq, pdq_quality=quality, phash=phash)


def test_tagged_hashes_take_each_regions_reliable_hash() -> None:
    sharp = _region("centre_80", 100, pdq="b" * 64)
    smooth = _region("top_80", PDQ_MIN_QUALITY - 1, phash="0f0f0f0f0f0f0f0f")  # its PDQ is unreliable
    flat = _region("bottom_80", 0, phash="8000000000000000")  # nothing to compare at all
    got = tagged_hashes(pdq="c" * 64, pdq_quality=90, phash="ffff0000ffff0000", regions=(sharp, smooth, flat))
    assert got == ("pdq:" + "c" * 64, "phash:ffff0000ffff0000", "pdq:" + "b" * 64, "phash:0f0f0f0f0f0f0f0f")
    # The whole image's PDQ below the quality floor is left out; a partner's (quality unknown) is kept.
    assert tagged_hashes(pdq="c" * 64, pdq_quality=10, phash=None) == ()
    assert tagged_hashes(pdq="c" * 64, pdq_quality=None, phash=None) == ("pdq:" + "c" * 64,)
    # Every flat picture has the same pHash, whatever its colour: it would match every other one.
    assert not phash_informative("8000000000000000")
    assert phash_informative("ffff0000ffff0000")
    assert tagged_hashes(pdq=None, pdq_quality=None, phash="8000000000000000") == ()


def _rule(rule_id: int, query: str) -> RuleVersion:
    return RuleVersion(rule_id=rule_id, version=1, name=f"r{rule_id}", query=query, severity="high",
                       author="ana", created_at=AT)  # fmt: skip


def test_the_matcher_agrees_with_the_evaluator() -> None:
    lists = {"~scam-kit": frozenset({FLYER}), "~other": frozenset({"pdq:" + "0" * 64})}
    queries = ["image:bitcoin", "text:bitcoin", "giveaway", "imagehash:~scam-kit", "imagehash:~other",
               "imagehash:~scam-kit -image:giveaway", 'image:"send 1 btc"']  # fmt: skip
    matcher = Matcher.build([compile_rule(_rule(i, q)) for i, q in enumerate(queries, 1)], lists)
    for item in (SCAM, PLAIN, post("nothing here", nid="3")):
        found = {m.rule_id for m in matcher.match([item])[0]}
        expected = {
            i
            for i, q in enumerate(queries, 1)
            if matches(parse_query(q, allow_lists=True).root, Document.from_post(item), lists=lists)
        }
        assert found == expected, item.native_id
    assert {m.rule_id for m in matcher.match([SCAM])[0]} == {1, 3, 4, 7}


def test_a_rule_naming_a_missing_image_list_is_refused() -> None:
    with pytest.raises(NotFound, match="known-image list 'nope'"):
        Matcher.build([compile_rule(_rule(1, "imagehash:~nope"))], {})


def test_a_post_without_image_facts_is_unchanged_on_the_wire() -> None:
    bare = post("hello")
    assert b"image" not in msgspec.json.encode(msgspec.structs.replace(bare, media=()))
