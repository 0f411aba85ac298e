"""The reference evaluator: what a query matches in a post, and which spans of text made it match."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.query.strategies import near_operands, queries
from watchfloor.domain.errors import NotFound
from watchfloor.domain.post import Geotag, MediaRef, Post
from watchfloor.query.ast import And, Field, MatchAll, Near, Node, Not, Or, Phrase, Regex, Term
from watchfloor.query.evaluate import Document, match_spans, matches
from watchfloor.query.parser import parse_query
from watchfloor.query.tokens import tokenize

CREATED = datetime(2012, 10, 29, 23, 30, tzinfo=UTC)


def post(text: str | None = None, **fields: Any) -> Post:
    values: dict[str, Any] = {
        "platform": "twitter",
        "native_id": "1",
        "created_at": CREATED,
        "source": "test",
        "source_version": "1",
        "text": text,
    }
    values.update(fields)
    return Post(**values)


def hit(query: str, target: Post | str, **lists: Any) -> bool:
    doc = Document.from_post(target if isinstance(target, Post) else post(target))
    node = parse_query(query, allow_regex=True, allow_lists=True).root
    return matches(node, doc, lists=lists or None)


def spans(query: str, text: str) -> list[str]:
    node = parse_query(query, allow_regex=True).root
    return [text[a:b] for a, b in match_spans(node, Document.from_post(post(text)))]


# -- words, prefixes, phrases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("flood", "Flooding in the FLOOD zone", True),
        ("flood", "Flooding everywhere", False),
        ("flood*", "Flooding everywhere", True),
        ("flood*", "a flood", True),
        ("flood*", "deflooded", False),
        ("bogota", "Lluvias en Bogotá hoy", True),  # diacritics folded on both sides
        ("Bogotá", "BOGOTA rain", True),
        ("strasse", "Die Straße ist überflutet", True),
        ('"water rising"', "the water is rising", False),
        ('"water rising"', "Water, rising fast!", True),  # punctuation between words is not a token
        ('"water ris*"', "water risen above the wall", True),
        ('"water ris*"', "water fell, rising later", False),
        ("covid-19", "covid 19 cases", True),
        ("covid-19", "covid cases 19", False),
        ("sandy", "", False),
        ("storm", None, False),
    ],
)
def test_words(query: str, text: str | None, expected: bool) -> None:
    assert hit(query, post(text)) is expected


def test_title_is_searched_with_text() -> None:
    assert hit('"storm surge"', post("in the harbour", title="Storm surge")) is True
    # Title and text are one token stream, as in the full-text index: a phrase can run across the join.
    assert hit('"surge in"', post("in the harbour", title="Storm surge")) is True


def test_boolean_structure() -> None:
    text = "flood water near the station"
    assert hit("flood water", text)
    assert hit("flood OR fire", text)
    assert not hit("flood fire", text)
    assert hit("flood -fire", text)
    assert not hit("flood -water", text)
    assert hit("", text)
    assert hit("-fire", text)


# -- NEAR: "fewer than n tokens between" ---------------------------------------------------------------


@pytest.mark.parametrize("distance", [1, 2, 3, 5, 8])
def test_near_boundary(distance: int) -> None:
    # exactly distance-1 tokens between the two sides matches; distance tokens between does not
    inside = "alpha " + "x " * (distance - 1) + "omega"
    outside = "alpha " + "x " * distance + "omega"
    assert hit(f"alpha NEAR/{distance} omega", inside) is True
    assert hit(f"alpha NEAR/{distance} omega", outside) is False
    assert hit(f"omega NEAR/{distance} alpha", inside) is True  # unordered
    assert hit(f"omega NEAR/{distance}f alpha", inside) is False  # ordered: omega must come first
    assert hit(f"alpha NEAR/{distance}f omega", inside) is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("water NEAR/1 is", True),
        ("water NEAR/1 rising", False),
        ("water NEAR/2 rising", True),
        ("water NEAR/2 fast", False),
        ("water NEAR/3 fast", True),
        ('"water is" NEAR/1 rising', True),  # distance counts from the end of the phrase
        ('"is rising" NEAR/1 water', True),
        ("(fire OR fast) NEAR/2f ris*", False),
        ("ris* NEAR/2f (fire OR fast)", True),
        ("water NEAR/5 water", False),  # each side needs its own token
        ('"water is" NEAR/5 is', False),  # overlapping occurrences do not count
    ],
)
def test_near_examples(query: str, expected: bool) -> None:
    assert hit(query, "Water is rising fast") is expected


def test_near_repeated_word() -> None:
    assert hit("water NEAR/5 water", "water, more water") is True


# -- regular expressions -----------------------------------------------------------------------------


def test_regex_is_case_insensitive_unless_it_says_so() -> None:
    assert hit(r"/water\s+ris(ing|es)/", "WATER  RISING")
    assert not hit("/(?-i)NASA/", "nasa says")
    assert hit("/(?-i)NASA/", "NASA says")


def test_regex_reads_the_original_text() -> None:
    assert not hit("/bogota/", "Bogotá")  # no accent folding in regexes
    assert hit("/r\\/flood/", "see /r/flood for updates")


# -- fields -----------------------------------------------------------------------------------------


ACCOUNT = post("hi", author_handle="@Alice.bsky.social", author_id="did:plc:ABC", platform="bluesky")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from:alice.bsky.social", True),
        ("from:ALICE.bsky.social", True),
        ("from:did:plc:abc", True),
        ("from:alice", False),
        ("platform:bluesky", True),
        ("platform:twitter", False),
    ],
)
def test_author_and_platform(query: str, expected: bool) -> None:
    assert hit(query, ACCOUNT) is expected


def test_account_lists() -> None:
    assert hit("from:@desk", ACCOUNT, desk={"alice.bsky.social"})
    assert hit("list:desk", ACCOUNT, desk={"did:plc:abc"})
    assert not hit("list:desk", ACCOUNT, desk={"bob"})
    with pytest.raises(NotFound, match="desk"):
        hit("list:desk", ACCOUNT, other={"x"})


def test_lang_compares_primary_subtag() -> None:
    target = post("hi", langs=("en-US", "pt_BR"))
    assert hit("lang:en", target)
    assert hit("lang:pt", target)
    assert not hit("lang:es", target)


def test_hashtags_and_mentions() -> None:
    target = post("hi", hashtags=("Bogotá", "SANDY"), mentions=("Alice", "@bob.bsky.social"))
    assert hit("#sandy", target)
    assert hit("#bogota", target)
    assert hit("tag:BOGOTÁ", target)
    assert not hit("#flood", target)
    assert hit("@alice", target)
    assert hit("@bob.bsky.social", target)
    assert not hit("@carol", target)


def test_domain_and_url() -> None:
    target = post(
        "read",
        url="https://twitter.com/alice/status/1",  # the permalink is not a link in the post
        urls=("https://www.News.Example.co.uk/Sandy?id=7",),
        domains=("example.co.uk",),
    )
    assert hit("domain:example.co.uk", target)
    assert hit("domain:news.example.co.uk", target)
    assert hit("site:www.example.co.uk", target)
    assert not hit("domain:ample.co.uk", target)  # a suffix must start at a dot
    assert not hit("domain:twitter.com", target)
    assert hit("url:example.co.uk/sandy", target)
    assert not hit("url:status", target)


def test_has_and_is() -> None:
    media = post("x", media=(MediaRef(kind="image"),), urls=("https://a.org",), geo=Geotag(latitude=1.0))
    card = post("x", media=(MediaRef(kind="link_card"),), reply_to="9", repost_of="8", quote_of="7")
    assert hit("has:media has:links has:geo", media)
    assert not hit("has:media", card)
    assert not hit("has:geo", card)
    assert not hit("has:links", card)
    assert hit("is:reply is:repost is:quote", card)
    assert not hit("is:reply", media)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since:2012-10-29", True),  # created 2012-10-29 23:30 UTC
        ("since:2012-10-30", False),
        ("until:2012-10-30", True),  # exclusive: 00:00 UTC on the 30th
        ("until:2012-10-29", False),
        ("since:2012-10-29T23:30:00Z", True),  # inclusive
        ("until:2012-10-29T23:30:00Z", False),  # exclusive
        ("since:2012-10-30T01:00:00+02:00", True),  # 23:00 UTC on the 29th
        ("since:2012-10-29 until:2012-10-30", True),
    ],
)
def test_dates(query: str, expected: bool) -> None:
    assert hit(query, post("x")) is expected


# -- spans for highlighting and "why this alert" ----------------------------------------------------------


def test_spans_of_terms_phrases_and_near() -> None:
    text = "Flood! The water is rising near Bogotá; flooding again"
    assert spans('flood* "water is"', text) == ["Flood", "water is", "flooding"]
    assert spans("bogota -fire", text) == ["Bogotá"]
    assert spans("water NEAR/2 rising", text) == ["water", "rising"]
    assert spans("fire OR rising", text) == ["rising"]
    assert spans("fire", text) == []
    assert spans("lang:en OR bogota", text) == ["Bogotá"]
    assert spans(r"/ris\w+/", text) == ["rising"]


def test_overlapping_spans_merge() -> None:
    assert spans('water "water is"', "the water is high") == ["water is"]


def test_field_only_match_has_no_spans() -> None:
    doc = Document.from_post(post("anything", langs=("en",)))
    node = parse_query("lang:en").root
    assert matches(node, doc)
    assert match_spans(node, doc) == []


# -- property: agrees with a deliberately naive implementation -------------------------------------------


def naive_occurrences(node: Node, toks: list[str]) -> set[tuple[int, int]]:
    if isinstance(node, Term):
        return {
            (i, i + 1)
            for i, tok in enumerate(toks)
            if tok == node.word or (node.prefix and tok.startswith(node.word))
        }
    if isinstance(node, Phrase):
        size = len(node.words)
        found = set()
        for i in range(len(toks) - size + 1):
            window = toks[i : i + size]
            head_ok = window[:-1] == list(node.words[:-1])
            last = window[-1]
            last_ok = last == node.words[-1] or (node.last_prefix and last.startswith(node.words[-1]))
            if head_ok and last_ok:
                found.add((i, i + size))
        return found
    assert isinstance(node, Or)
    return set().union(*(naive_occurrences(child, toks) for child in node.children))


def naive(node: Node, toks: list[str]) -> bool:
    if isinstance(node, Term | Phrase):
        return bool(naive_occurrences(node, toks))
    if isinstance(node, And):
        return all(naive(child, toks) for child in node.children)
    if isinstance(node, Or):
        return any(naive(child, toks) for child in node.children)
    if isinstance(node, Not):
        return not naive(node.child, toks)
    if isinstance(node, MatchAll):
        return True
    assert isinstance(node, Near)
    return bool(naive_pairs(node, toks))


def naive_pairs(node: Near, toks: list[str]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    pairs = []
    for ls, le in naive_occurrences(node.left, toks):
        for rs, re_ in naive_occurrences(node.right, toks):
            if rs >= le:  # right after left
                between = rs - le
            elif re_ <= ls and not node.ordered:  # right before left
                between = ls - re_
            else:  # overlapping, or in the wrong order
                continue
            if between < node.distance:
                pairs.append(((ls, le), (rs, re_)))
    return pairs


VOCABULARY = ["a", "b", "ab", "abc", "ba", "c"]
_small_words = st.sampled_from(VOCABULARY)
_texts = st.lists(
    st.tuples(
        st.sampled_from([*VOCABULARY, "A", "Ab", "ÁB", "x"]), st.sampled_from([" ", ", ", "-", "\n", "! "])
    ),
    max_size=14,
).map(lambda parts: "".join(word + sep for word, sep in parts))


@settings(max_examples=400, deadline=None)
@given(queries(_small_words, with_fields=False, with_regex=False), _texts)
def test_evaluator_agrees_with_naive_brute_force(node: Node, text: str) -> None:
    doc = Document.from_post(post(text))
    assert matches(node, doc) is naive(node, tokenize(text))


@settings(max_examples=200, deadline=None)
@given(queries(_small_words, with_fields=False), _texts)
def test_spans_are_sorted_non_overlapping_and_only_for_matches(node: Node, text: str) -> None:
    doc = Document.from_post(post(text))
    found = match_spans(node, doc)
    if not matches(node, doc):
        assert found == []
    assert all(0 <= a < b <= len(text) for a, b in found)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(found))


def test_regex_node_against_naive_search() -> None:
    doc = Document.from_post(post("Water RISING"))
    assert matches(Regex("water rising"), doc)
    assert matches(Not(Regex("fire")), doc)
    assert not matches(Field("lang", "en"), doc)


@settings(max_examples=200, deadline=None)
@given(near_operands(_small_words), near_operands(_small_words), st.integers(1, 4), st.booleans(), _texts)
def test_near_spans_are_exactly_the_occurrences_in_satisfying_pairs(
    left: Node, right: Node, distance: int, ordered: bool, text: str
) -> None:
    node = Near(left, right, distance, ordered)
    doc = Document.from_post(post(text))
    used = {occurrence for pair in naive_pairs(node, tokenize(text)) for occurrence in pair}
    expected: list[tuple[int, int]] = []
    for start, end in sorted((doc.spans[s][0], doc.spans[e - 1][1]) for s, e in used):
        if expected and start < expected[-1][1]:
            expected[-1] = (expected[-1][0], max(end, expected[-1][1]))
        else:
            expected.append((start, end))
    assert match_spans(node, doc) == expected
