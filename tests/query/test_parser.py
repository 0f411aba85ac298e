"""The house query language: what analysts write, what it means, and the errors they see."""

from __future__ import annotations

import pytest

from watchfloor.domain.errors import QuerySyntaxError
from watchfloor.query.ast import FIELD_NAMES, And, Field, MatchAll, Near, Node, Not, Or, Phrase, Regex, Term
from watchfloor.query.fields import FIELD_KEYS
from watchfloor.query.parser import MAX_DEPTH, parse_query


def parse(text: str, **flags: bool) -> Node:
    return parse_query(text, **flags).root


def fail(text: str, **flags: bool) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text, **flags)
    return caught.value


def t(word: str, prefix: bool = False) -> Term:
    return Term(word, prefix)


# -- the examples from the issue ----------------------------------------------------------------------


def test_sandy_query_from_the_issue() -> None:
    text = 'lang:en (flood OR "water rising") -#prayers since:2012-10-29'
    query = parse_query(text)
    assert query.source == text
    assert query.root == And(
        (
            Field("lang", "en"),
            Or((t("flood"), Phrase(("water", "rising")))),
            Not(Field("hashtag", "prayers")),
            Field("since", "2012-10-29"),
        )
    )


def test_rescue_near_query_from_the_issue() -> None:
    root = parse('("trapped" OR "need rescue" OR "stranded") NEAR/5 (flood* OR water)')
    assert root == Near(
        Or((t("trapped"), Phrase(("need", "rescue")), t("stranded"))),
        Or((t("flood", prefix=True), t("water"))),
        distance=5,
    )


# -- words, phrases, wildcards --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_query_matches_everything(text: str) -> None:
    assert parse(text) == MatchAll()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Flood", t("flood")),
        ("Bogotá", t("bogota")),
        ("STRAẞE", t("strasse")),
        ("flood*", t("flood", prefix=True)),
        ('"water rising"', Phrase(("water", "rising"))),
        ('"water ris*"', Phrase(("water", "ris"), last_prefix=True)),
        ('"Trapped"', t("trapped")),  # a one-word phrase is just the word
        ('"ris*"', t("ris", prefix=True)),
        ("covid-19", Phrase(("covid", "19"))),  # one typed word, several tokens: a phrase
        ("e-mail", Phrase(("e", "mail"))),
        ("covid-19*", Phrase(("covid", "19"), last_prefix=True)),
        ('"f*ck"', Phrase(("f", "ck"))),  # inside quotes a non-final '*' is punctuation
        ("10:30", Phrase(("10", "30"))),  # a digit before ':' is not a field
        ("ANDROID", t("android")),
        ("NEARBY", t("nearby")),
    ],
)
def test_words_and_phrases(text: str, expected: Node) -> None:
    assert parse(text) == expected


def test_lowercase_operators_are_words() -> None:
    assert parse("rock and roll or not") == And(tuple(t(w) for w in ("rock", "and", "roll", "or", "not")))


def test_implicit_and_explicit_and_are_the_same_and_flatten() -> None:
    expected = And((t("a"), t("b"), t("c"), t("d")))
    assert parse("a b c d") == expected
    assert parse("a AND b AND (c d)") == expected
    assert parse("((a b)) (c AND d)") == expected


def test_or_flattens() -> None:
    assert parse("a OR (b OR c) OR d") == Or((t("a"), t("b"), t("c"), t("d")))


# -- precedence: NEAR > NOT > AND > OR -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a OR b c", Or((t("a"), And((t("b"), t("c")))))),
        ("a b OR c", Or((And((t("a"), t("b"))), t("c")))),
        ("a AND b OR c AND d", Or((And((t("a"), t("b"))), And((t("c"), t("d")))))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ("NOT a b", And((Not(t("a")), t("b")))),
        ("-a OR b", Or((Not(t("a")), t("b")))),
        ("NOT a NEAR/3 b", Not(Near(t("a"), t("b"), 3))),
        ("a NEAR/3 b c", And((Near(t("a"), t("b"), 3), t("c")))),
        ("x -(a OR b)", And((t("x"), Not(Or((t("a"), t("b"))))))),
        ("NOT NOT a", Not(Not(t("a")))),
        ("--a", Not(Not(t("a")))),
    ],
)
def test_precedence(text: str, expected: Node) -> None:
    assert parse(text) == expected


def test_only_negations_are_allowed() -> None:
    assert parse("-spam") == Not(t("spam"))
    assert parse("-spam -#ad") == And((Not(t("spam")), Not(Field("hashtag", "ad"))))


# -- NEAR ---------------------------------------------------------------------------------------------


def test_near_ordered_and_operands() -> None:
    assert parse("a NEAR/1f b") == Near(t("a"), t("b"), 1, ordered=True)
    assert parse('"need rescue" NEAR/10 flood*') == Near(Phrase(("need", "rescue")), t("flood", True), 10)
    assert parse("(a OR b) NEAR/2 (c)") == Near(Or((t("a"), t("b"))), t("c"), 2)


# -- fields ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from:alice", Field("from", "alice")),
        ("from:Alice", Field("from", "alice")),
        ("author:Alice.bsky.social", Field("from", "alice.bsky.social")),
        ("from:alice@mastodon.social", Field("from", "alice@mastodon.social")),
        ("from:did:plc:abc123", Field("from", "did:plc:abc123")),
        ("FROM:alice", Field("from", "alice")),
        ("platform:Bluesky", Field("platform", "bluesky")),
        ("platform:x", Field("platform", "twitter")),
        ("lang:EN", Field("lang", "en")),
        ("language:fil", Field("lang", "fil")),
        ("#Flood", Field("hashtag", "flood")),
        ("#Bogotá", Field("hashtag", "bogota")),
        ("#sandy_2012", Field("hashtag", "sandy_2012")),
        ("tag:flood", Field("hashtag", "flood")),
        ("@Alice", Field("mention", "alice")),
        ("mentions:@alice", Field("mention", "alice")),
        ("domain:www.Example.com", Field("domain", "example.com")),
        ("site:example.com.", Field("domain", "example.com")),
        ("url:Example.com/News", Field("url", "example.com/news")),
        ('url:"en.wikipedia.org/wiki/Sandy_(storm)"', Field("url", "en.wikipedia.org/wiki/sandy_(storm)")),
        ("has:media", Field("has", "media")),
        ("has:image", Field("has", "media")),
        ("has:video", Field("has", "media")),
        ("has:link", Field("has", "links")),
        ("has:geo", Field("has", "geo")),
        ("is:reply", Field("is", "reply")),
        ("is:retweet", Field("is", "repost")),
        ("is:quote", Field("is", "quote")),
        ("since:2012-10-29", Field("since", "2012-10-29")),
        ("after:2012-10-29", Field("since", "2012-10-29")),
        ("until:2012-11-01", Field("until", "2012-11-01")),
        ("before:2012-11-01", Field("until", "2012-11-01")),
        ("since:2012-10-29T14:30:00+02:00", Field("since", "2012-10-29T12:30:00+00:00")),
        ("until:2012-10-29T14:30Z", Field("until", "2012-10-29T14:30:00+00:00")),
    ],
)
def test_fields_and_aliases(text: str, expected: Field) -> None:
    assert parse(text) == expected


def test_negated_field() -> None:
    assert parse("-lang:en") == Not(Field("lang", "en"))


def test_account_lists_are_for_rules() -> None:
    assert parse("list:Flood-Desk", allow_lists=True) == Field("from", "@flood-desk")
    error = fail("flood list:desk")
    assert (error.column, error.message) == (7, "Account lists are only allowed in rules")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from:@Flood-Desk", Field("from", "@flood-desk")),  # the issue's spelling of an account list
        ("author:@desk", Field("from", "@desk")),
        ('from:"@desk"', Field("from", "@desk")),
        ("from:\uff20desk", Field("from", "@desk")),  # a full-width '@' folds to '@', as in handles
        ("list:desk", Field("from", "@desk")),  # the older spelling
        ("from:desk", Field("from", "desk")),  # without '@' it is one account
    ],
)
def test_from_at_name_is_an_account_list_in_rules(text: str, expected: Field) -> None:
    assert parse(text, allow_lists=True) == expected


@pytest.mark.parametrize(("text", "column"), [("from:@desk", 1), ("flood from:@desk", 7), ("x author:@d", 3)])
def test_from_at_name_is_an_error_in_search(text: str, column: int) -> None:
    error = fail(text)
    assert (error.column, error.message) == (column, "Account lists are only allowed in rules")
    assert error.hint == "account lists only work in rules; to search one account write from:handle"


def test_regex_in_rules() -> None:
    assert parse(r"/water\s+ris(ing|es)/", allow_regex=True) == Regex(r"water\s+ris(ing|es)")
    assert parse(r"/r\/flood/", allow_regex=True) == Regex("r/flood")  # \/ is how a slash is written


# -- errors: column, message, hint ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    [
        ("(a OR b", 1, "This '(' is never closed", "Add ')'"),
        ("x ((a) b", 3, "This '(' is never closed", "Add ')'"),
        ('a "b c', 3, "This quote is never closed", 'closing "'),
        ('from:"x', 6, "This quote is never closed", 'closing "'),
        ("a)", 2, "This ')' has no matching '('", "Remove it"),
        ("()", 1, "These parentheses are empty", "Put something"),
        ("a AND", 3, "AND needs something on both sides", "flood AND water"),
        ("AND a", 1, "AND needs something on both sides", "flood AND water"),
        ("(a AND) b", 4, "AND needs something on both sides", "flood AND water"),
        ("a AND OR b", 3, "AND needs something on both sides", "flood AND water"),
        ("a OR", 3, "OR needs something on both sides", "Lowercase 'or'"),
        ("NOT", 1, "NOT needs something after it", "NOT rain"),
        ("a - b", 3, "A '-' must be attached to what it excludes", "no space"),
        ("a -", 3, "A '-' must be attached to what it excludes", "no space"),
        ("a NEAR/0 b", 3, "'NEAR/0' is not a valid proximity operator", "NEAR/n"),
        ("a NEAR/x b", 3, "'NEAR/x' is not a valid proximity operator", "NEAR/n"),
        ("a NEAR b", 3, "'NEAR' is not a valid proximity operator", "NEAR/n"),
        ("a NEAR/1001 b", 3, "'NEAR/1001' is not a valid proximity operator", "1 to 1000"),
        ("a near/3 b", 3, "Operators are written in capitals", "NEAR/3"),
        ("a NEAR/3", 3, "NEAR needs a word, phrase, prefix or (a OR b) group on both sides", "NEAR/5"),
        ("NEAR/3 a", 1, "NEAR needs a word, phrase, prefix or (a OR b) group on both sides", "NEAR/5"),
        ("a NEAR/3 b NEAR/3 c", 12, "NEAR cannot be chained", "AND"),
        ("(a b) NEAR/3 c", 1, "NEAR works only on words", "outside"),
        ("a NEAR/3 lang:en", 10, "NEAR works only on words", "outside"),
        ("a NEAR/3 -b", 10, "NEAR works only on words", "outside"),
        ("a NEAR/3 (b OR lang:en)", 10, "NEAR works only on words", "outside"),
        ("platform:myspace", 10, "Unknown platform 'myspace'", "bluesky, mastodon, twitter"),
        ("lang:english", 6, "'english' is not a language code", "lang:en"),
        ("lang:en-US", 6, "'en-US' is not a language code", "en-US"),
        ("since:2012-13-45", 7, "'2012-13-45' is not a real date", "YYYY-MM-DD"),
        ("x until:2012-02-30", 9, "'2012-02-30' is not a real date", "YYYY-MM-DD"),
        ("since:2012-10-29T25:00Z", 7, "is not a real date and time", "YYYY-MM-DD"),
        ("since:2012-10-29T10:00", 7, "has no time zone", "+02:00"),
        ("since:yesterday", 7, "'yesterday' is not a date", "YYYY-MM-DD"),
        ("frm:alice", 1, "Unknown field 'frm:'", "Did you mean from:?"),
        ("x langauge:en", 3, "Unknown field 'langauge:'", "Did you mean language:?"),
        ("note: flood", 1, "Unknown field 'note:'", "quote them"),
        ("https://example.com", 1, "Unknown field 'https:'", "url:"),
        ("from:", 1, "'from:' needs a value", "from:alice"),
        ("from: alice", 1, "'from:' needs a value", "no space"),
        ("from:@@x", 1, "Account lists are only allowed in rules", "from:handle"),
        ("mention:@@x", 10, "A mention cannot start with '@@'", "from:@name"),
        ("has:poll", 5, "Unknown value 'poll' for has:", "has:media"),
        ("is:like", 4, "Unknown value 'like' for is:", "is:reply"),
        ("domain:https://x.com/a", 14, "is not a host name", "url:"),
        ("domain:a..b", 8, "is not a host name", "example.com"),
        ("#", 1, "'#' must be followed directly by the hashtag", "#flood"),
        ("#foo!", 5, "'!' is not allowed in a hashtag", "letters, digits"),
        ("@", 1, "'@' must be followed directly by the account handle", "@alice"),
        ("@alice,", 7, "',' is not allowed in a mention", "Handles contain"),
        ("!!!", 1, "'!!!' has no letters or digits", "punctuation"),
        ('x "!!"', 3, "This phrase has no letters or digits", "punctuation"),
        ('""', 1, "This phrase is empty", "water rising"),
        ("fl*od", 3, "A wildcard works only at the end of a word", "flood*"),
        ("*flood", 1, "A wildcard works only at the end of a word", "flood*"),
        ('a "water *"', 10, "A wildcard must follow a letter or digit", "flood*"),
        ("/r/flood", 1, "Regular expressions are only allowed in rules", "quotes"),
    ],
)
def test_error_column_message_and_hint(text: str, column: int, message: str, hint: str) -> None:
    error = fail(text)
    assert error.column == column, error.render()
    assert message in error.message
    assert error.hint is not None
    assert hint in error.hint
    assert error.query == text


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("x /(a/", 3, "RE2 cannot use this regular expression: missing )"),
        ("/(?=a)b/", 1, "RE2 cannot use this regular expression"),
        (r"/(a)\1/", 1, "RE2 cannot use this regular expression"),
        ("x /abc", 3, "This regular expression is never closed"),
    ],
)
def test_regex_errors_in_rules(text: str, column: int, message: str) -> None:
    error = fail(text, allow_regex=True)
    assert (error.column, error.message[: len(message)]) == (column, message)
    assert error.hint


def test_error_renders_caret_under_the_column() -> None:
    error = fail("flood AND")
    assert error.render().splitlines()[1:3] == ["  flood AND", "        ^"]


def test_too_deep_nesting_is_an_error_not_a_crash() -> None:
    assert "nested" in fail("(" * (MAX_DEPTH + 5) + "a" + ")" * (MAX_DEPTH + 5)).message
    assert "nested" in fail("NOT " * 500 + "a").message
    assert parse("(" * 20 + "a" + ")" * 20) == t("a")


def test_long_flat_query_parses() -> None:
    words = [f"w{i}" for i in range(3000)]
    root = parse(" OR ".join(words))
    assert isinstance(root, Or)
    assert len(root.children) == 3000


def test_every_canonical_field_has_a_key() -> None:
    assert {name for name in FIELD_KEYS.values() if name is not None} == set(FIELD_NAMES)
