"""Canonical query text round-trips through the parser; literal extraction feeds the prefilter."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.query.strategies import queries
from watchfloor.domain.errors import QuerySyntaxError
from watchfloor.query.ast import And, Field, MatchAll, Node, Term
from watchfloor.query.describe import literals, needs_post_filter, requires_literal, to_text
from watchfloor.query.parser import parse_query


def parse(text: str) -> Node:
    return parse_query(text, allow_regex=True, allow_lists=True).root


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ('lang:en (flood OR "water rising") -#prayers since:2012-10-29',
         'lang:en AND (flood OR "water rising") AND NOT #prayers AND since:2012-10-29'),
        ('("trapped" OR "need rescue") NEAR/5 (flood* OR water)',
         '(trapped OR "need rescue") NEAR/5 (flood* OR water)'),
        ("a OR b c", "a OR (b AND c)"),
        ("NOT a NEAR/3f b", "NOT a NEAR/3f b"),
        ("-(a OR b) -c", "NOT (a OR b) AND NOT c"),
        ("author:Alice site:www.BBC.co.uk list:Desk", "from:alice AND domain:bbc.co.uk AND from:@desk"),
        ("author:@Alice from:@Desk", "from:@alice AND from:@desk"),
        ('url:"x.org/a(b)" "water ris*"', 'url:"x.org/a(b)" AND "water ris*"'),
        (r"/r\/flood/", r"/r\/flood/"),
        ("since:2012-10-29T14:30+02:00", "since:2012-10-29T12:30:00+00:00"),
    ],
)  # fmt: skip
def test_canonical_text(text: str, canonical: str) -> None:
    assert to_text(parse(text)) == canonical


@settings(max_examples=150, deadline=None)
@given(queries())
def test_to_text_round_trips_through_the_parser(node: Node) -> None:
    assert parse(to_text(node)) == node


_PIECES = [*list(' ()"-*#@/:\\aábcx19'), "AND ", "OR ", "NOT ", "NEAR/2 ", "NEAR/1f ", "lang:", "from:", "en"]
_SYNTAX = st.lists(st.sampled_from(_PIECES), max_size=16).map("".join)


@settings(max_examples=200, deadline=None)
@given(_SYNTAX)
def test_whatever_parses_is_a_fixed_point_of_to_text(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError:
        return
    assert parse(to_text(node)) == node


def test_match_all_only_renders_as_a_whole_query() -> None:
    assert to_text(MatchAll()) == ""
    with pytest.raises(ValueError, match="MatchAll"):
        to_text(And((MatchAll(), Term("a"))))


def test_literals_skip_negations_and_fields() -> None:
    node = parse('(flood* OR "water ris*") NEAR/3 help -spam lang:en "need rescue" /sos+/ -(x y)')
    assert literals(node) == {
        ("prefix", "flood"),
        ("phrase_prefix", "water ris"),
        ("word", "help"),
        ("phrase", "need rescue"),
        ("regex", "sos+"),
    }


@pytest.mark.parametrize(
    ("text", "required"),
    [
        ("flood", True),
        ("flood lang:en -spam", True),
        ("flood OR water", True),
        ("flood OR #flood", False),
        ("lang:en", False),
        ("-spam", False),
        ("", False),
        ("(a OR lang:en) b", True),
        ("a NEAR/2 b", True),
        ("/x/ OR y", True),
    ],
)
def test_requires_literal(text: str, required: bool) -> None:
    assert requires_literal(parse(text)) is required


@pytest.mark.parametrize(
    ("text", "needed"),
    [("a b", False), ("a NEAR/2 b", True), ("x -(a NEAR/2 b)", True), ("/x/", True), ("#a OR b*", False)],
)
def test_needs_post_filter(text: str, needed: bool) -> None:
    assert needs_post_filter(parse(text)) is needed


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_raises_only_query_syntax_errors_on_any_text(text: str) -> None:
    _parse_quickly(text)


@settings(max_examples=300, deadline=None)
@given(_SYNTAX)
def test_parser_raises_only_query_syntax_errors_on_syntax_soup(text: str) -> None:
    _parse_quickly(text)


def _parse_quickly(text: str) -> None:
    for allow in (False, True):
        started = time.perf_counter()
        error: QuerySyntaxError | None = None
        try:
            parse_query(text, allow_regex=allow, allow_lists=allow)
        except QuerySyntaxError as raised:
            error = raised
        assert time.perf_counter() - started < 2.0  # generous: a loaded CI machine is not a bug
        if error is not None:
            assert 1 <= error.column <= len(text) + 1
            assert error.hint


def test_field_values_in_canonical_text_are_canonical_names() -> None:
    assert to_text(Field("lang", "en")) == "lang:en"
    assert to_text(Field("from", "@desk")) == "from:@desk"
