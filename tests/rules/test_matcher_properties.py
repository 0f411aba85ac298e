"""The matcher gives exactly the reference evaluator's answer, on real posts, for any rule set.

Brute force — :func:`watchfloor.query.evaluate.matches` of every rule on every post — is the oracle.
Rule sets are random boolean rules over words, prefixes, phrases, NEAR, fields, account lists and
regexes drawn from the posts themselves; edits through ``with_changes`` must give what a fresh build
gives.
"""

from __future__ import annotations

import functools
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rules.realposts import real_posts, vocabulary
from tests.rules.strategies import rule_texts
from watchfloor.query.evaluate import Document, matches
from watchfloor.query.parser import parse_query
from watchfloor.query.tokens import token_spans
from watchfloor.rules import CompiledRule, Matcher, compile_query
from watchfloor.rules import matcher as matcher_module
from watchfloor.rules.literal_index import ENGINES
from watchfloor.rules.view import exact_spans, exact_tokens

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def documents() -> tuple[Document, ...]:
    return tuple(Document.from_post(post) for post in real_posts())


def lists_from(members: list[str]) -> dict[str, frozenset[str]]:
    return {"watch": frozenset(members), "empty": frozenset()}


def compile_all(texts: list[str], version: int = 1, first_id: int = 1) -> list[CompiledRule]:
    return [
        compile_query(
            parse_query(text, allow_regex=True, allow_lists=True), rule_id=first_id + i, version=version
        )
        for i, text in enumerate(texts)
    ]


def brute_force(rules: list[CompiledRule], lists: dict[str, frozenset[str]]) -> list[list[int]]:
    return [
        sorted(rule.rule_id for rule in rules if matches(rule.query.root, doc, lists=lists))
        for doc in documents()
    ]


rule_sets = st.lists(rule_texts(), min_size=1, max_size=25)
members = st.lists(st.integers(0, 10**6).map(lambda i: vocabulary().authors[i % len(vocabulary().authors)]),
                   max_size=6)  # fmt: skip


@SETTINGS
@given(texts=rule_sets, watch=members, engine=st.sampled_from(ENGINES))
def test_matcher_equals_brute_force_on_real_posts(texts: list[str], watch: list[str], engine: str) -> None:
    rules = compile_all(texts)
    lists = lists_from(watch)
    matcher = Matcher.build(rules, lists, engine=engine)  # type: ignore[arg-type]
    expected = brute_force(rules, lists)
    assert matcher.match_ids(real_posts()) == expected
    assert [[m.rule_id for m in found] for found in matcher.match(real_posts())] == expected


@SETTINGS
@given(
    texts=rule_sets,
    edits=rule_sets,
    removed=st.lists(st.integers(1, 30), max_size=8),
    watch=members,
    new_watch=st.none() | members,
)
def test_with_changes_equals_a_fresh_build(
    texts: list[str], edits: list[str], removed: list[int], watch: list[str], new_watch: list[str] | None
) -> None:
    old = compile_all(texts)
    # Edits reuse ids: some replace existing rules (a new version), the rest are new rules.
    upsert = compile_all(edits, version=2, first_id=len(texts) // 2 + 1)
    lists = lists_from(watch)
    final_lists = lists if new_watch is None else lists_from(new_watch)
    final = {r.rule_id: r for r in old}
    final.update({r.rule_id: r for r in upsert})
    for rule_id in removed:
        final.pop(rule_id, None)
    expected = brute_force(list(final.values()), final_lists)
    for threshold in (1024, 1):  # 1: every edit spills over and merges the segments
        with mock.patch.object(matcher_module, "MIN_RECENT", threshold):
            base = Matcher.build(old, lists)
            changed = base.with_changes(
                upsert=upsert, remove=removed, lists=None if new_watch is None else final_lists
            )
            # Edit again on top of the edited matcher: the recent segment is rebuilt, not lost.
            again = changed.with_changes(upsert=[r for r in upsert[:2] if r.rule_id in final])
        assert len(changed) == len(final)
        assert changed.match_ids(real_posts()) == expected
        assert again.match_ids(real_posts()) == expected
        assert base.match_ids(real_posts()) == brute_force(old, lists)  # the old matcher is untouched
    fresh = Matcher.build(list(final.values()), final_lists)
    assert fresh.match_ids(real_posts()) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_exact_tokens_are_the_evaluators_tokens(text: str) -> None:
    assert exact_tokens(text) == [token for token, _, _ in token_spans(text)]
    assert exact_spans(text) == [(start, end) for _, start, end in token_spans(text)]


def test_exact_tokens_on_real_posts() -> None:
    for post, doc in zip(real_posts(), documents(), strict=True):
        assert exact_tokens(post.searchable_text()) == list(doc.tokens)
        assert exact_spans(post.searchable_text()) == list(doc.spans)
