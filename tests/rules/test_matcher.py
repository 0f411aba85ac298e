"""What an analyst sees from the matcher: which rules fire on which posts, and the evidence why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchfloor.domain.errors import NotFound, QuerySyntaxError
from watchfloor.domain.post import MediaRef, Post
from watchfloor.domain.rules import RuleVersion, VolumeSpec
from watchfloor.rules import CompiledRule, Matcher, compile_rule

ISSUE_RULE = '("trapped" OR "need rescue" OR "stranded") NEAR/5 (flood* OR water)'
AT = datetime(2012, 10, 30, 2, 15, tzinfo=UTC)


def rule(rule_id: int, query: str, *, version: int = 1, volume: VolumeSpec | None = None) -> CompiledRule:
    return compile_rule(
        RuleVersion(rule_id=rule_id, version=version, name=f"rule {rule_id}", query=query, severity="high",
                    author="analyst", created_at=AT, volume=volume)
    )  # fmt: skip


def post(text: str, native_id: str = "1", **fields: object) -> Post:
    values: dict[str, object] = {
        "platform": "twitter",
        "author_handle": "someone",
        "langs": ("en",),
        **fields,
    }
    return Post(native_id=native_id, created_at=AT, source="test", source_version="1", text=text, **values)  # type: ignore[arg-type]


def spans_text(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[start:end] for start, end in spans]


# Worded like CrisisLex Sandy tweets (tests/fixtures/generic_csv), with the words the rule needs.
TRAPPED = "We are TRAPPED on the 2nd floor, flood water still rising in Hoboken #sandy"
RESCUE = "Need rescue at 12 Main St, floodwaters are up to the porch!! @NYCOEM"
FAR = "Stranded at the airport all night. Meanwhile our basement is a swimming pool of water"
DRY = "Power out across lower Manhattan, streets still dry"


def test_issue_rule_fires_with_spans_on_the_matched_words() -> None:
    matcher = Matcher.build([rule(7, ISSUE_RULE)], {})
    posts = [post(TRAPPED, "a"), post(RESCUE, "b"), post(FAR, "c"), post(DRY, "d")]
    found = matcher.match(posts)
    assert [[m.rule_id for m in per_post] for per_post in found] == [[7], [7], [], []]
    trapped, rescue = found[0][0], found[1][0]
    assert trapped.version == 1
    assert spans_text(TRAPPED, trapped.spans) == ["TRAPPED", "flood"]  # "water" is 5 words away
    assert spans_text(RESCUE, rescue.spans) == ["Need rescue", "floodwaters"]
    assert trapped.fields == ()  # a text-only rule has no field filters to report


def test_fields_that_held_are_listed_and_excluded_ones_are_not() -> None:
    matcher = Matcher.build([rule(1, "flood* lang:en (#sandy OR #nyc) -is:repost platform:twitter")], {})
    [[match]] = matcher.match([post(TRAPPED, hashtags=("Sandy",))])
    assert match.fields == ("lang:en", "#sandy", "platform:twitter")  # not #nyc (absent), not is:repost


def test_rule_of_fields_only_matches_without_any_word() -> None:
    matcher = Matcher.build([rule(3, "lang:en has:links")], {})
    with_link = post("Photos from the shore", urls=("https://example.com/shore",))
    found = matcher.match(
        [with_link, post("Photos from the shore"), post("Fotos", langs=("es",), urls=("x.org",))]
    )
    assert [[m.rule_id for m in per_post] for per_post in found] == [[3], [], []]
    assert found[0][0].spans == ()
    assert found[0][0].fields == ("lang:en", "has:links")


def test_account_list_rule_follows_the_list() -> None:
    watched = rule(4, "from:@watchlist (flood* OR evacuat*)")
    matcher = Matcher.build([watched], {"watchlist": frozenset({"nws", "did:plc:abc"})})
    by_handle = post("Flood warning for the coast", author_handle="@NWS")
    by_id = post("Evacuation ordered for zone A", "2", author_handle=None, author_id="did:plc:ABC")
    other = post("Flood warning for the coast", "3", author_handle="somebody")
    found = matcher.match([by_handle, by_id, other])
    assert [[m.rule_id for m in per_post] for per_post in found] == [[4], [4], []]
    assert found[0][0].fields == ("from:@watchlist",)
    # Membership changes take effect through with_changes, without touching the rule.
    moved = matcher.with_changes(lists={"watchlist": frozenset({"somebody"})})
    assert [[m.rule_id for m in per_post] for per_post in moved.match([by_handle, by_id, other])] == [
        [],
        [],
        [4],
    ]


def test_missing_account_list_is_refused_not_silently_empty() -> None:
    with pytest.raises(NotFound, match="watchlist"):
        Matcher.build([rule(4, "from:@watchlist")], {})
    matcher = Matcher.build([rule(4, "from:@watchlist")], {"watchlist": frozenset()})
    with pytest.raises(NotFound, match="watchlist"):
        matcher.with_changes(lists={})


def test_regex_rule_finds_phone_numbers_in_the_original_text() -> None:
    matcher = Matcher.build([rule(5, r"/\b\d{3}-\d{4}\b/")], {})
    text = "Shelter at PS 89 has room, call 555-0134 or 212-555-0199"
    found = matcher.match([post(text), post("call 5550134"), post("route 9-1234 closed")])
    assert [[m.rule_id for m in per_post] for per_post in found] == [[5], [], []]
    assert spans_text(text, found[0][0].spans) == ["555-0134", "555-0199"]


def test_paused_or_removed_rule_stops_and_the_old_matcher_keeps_working() -> None:
    flood, rescue = rule(1, "flood*"), rule(2, '"need rescue"')
    before = Matcher.build([flood, rescue], {})
    paused = before.with_changes(remove=[1])
    posts = [post(TRAPPED), post(RESCUE, "2")]
    assert paused.match_ids(posts) == [[], [2]]
    assert len(paused) == 1
    assert before.match_ids(posts) == [[1], [1, 2]]  # ingest can finish its batch on the old one
    resumed = paused.with_changes(upsert=[flood])
    assert resumed.match_ids(posts) == [[1], [1, 2]]


def test_an_edit_replaces_the_previous_version() -> None:
    matcher = Matcher.build([rule(1, "flood*")], {})
    edited = matcher.with_changes(upsert=[rule(1, "stranded", version=2)])
    posts = [post(TRAPPED), post(FAR, "2")]
    assert [[(m.rule_id, m.version) for m in per_post] for per_post in edited.match(posts)] == [[], [(1, 2)]]
    assert edited.rules[1].version == 2


def test_volume_rules_match_like_any_other() -> None:
    burst = rule(9, "#sandy", volume=VolumeSpec(threshold=50, window_minutes=10))
    found = Matcher.build([burst], {}).match([post(TRAPPED, hashtags=("sandy",)), post(TRAPPED, "2")])
    assert [[m.rule_id for m in per_post] for per_post in found] == [[9], []]
    assert burst.volume == VolumeSpec(threshold=50, window_minutes=10)


def test_prefilter_skips_rules_whose_words_are_absent() -> None:
    rules = [
        rule(1, "flood* lang:en"),
        rule(2, '"need rescue" -spam'),
        rule(3, "-spam"),
        rule(4, "#sandy OR @nycoem"),
        rule(5, r"/\b\d{3}-\d{4}\b/"),
        rule(6, "from:@watchlist"),
    ]
    matcher = Matcher.build(rules, {"watchlist": frozenset({"nws"})})
    assert [r.rule_id for r in matcher.candidates(post(DRY))] == [3]  # only the rule that needs no word
    rescue = post(RESCUE + " 555-0134", mentions=("NYCOEM",), author_handle="NWS")
    assert [r.rule_id for r in matcher.candidates(rescue)] == [1, 2, 3, 4, 5, 6]


def test_media_reply_and_title_are_seen() -> None:
    rules = [rule(1, "has:media is:reply"), rule(2, '"storm surge"')]
    reply = post("look", reply_to="99", media=(MediaRef(kind="image"),))
    titled = post("body text", "2", title="Storm surge map", platform="reddit")
    assert Matcher.build(rules, {}).match_ids([reply, titled]) == [[1], [2]]


def test_bad_rule_text_is_a_syntax_error_with_a_column() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        rule(1, "flood NEAR/3 (water lang:en)")
    assert caught.value.column == 14


def test_empty_matcher_matches_nothing() -> None:
    matcher = Matcher.build([], {})
    assert len(matcher) == 0
    assert matcher.match([post(TRAPPED)]) == [[]]
