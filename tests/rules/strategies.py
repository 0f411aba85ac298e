"""Hypothesis strategies for rule texts written from the words and fields of real posts.

Rules are generated as *text* and parsed, as an analyst's would be, so the parser, the matcher and the
reference evaluator all see the same thing. Every text generated here is valid in a rule.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import strategies as st

from tests.rules.realposts import real_posts, vocabulary
from watchfloor.rules.view import exact_tokens

LISTS = ("watch", "empty")
REGEXES = (
    r"/\b\d{3}-\d{4}\b/", r"/https?:\/\//", r"/(?-i)[A-Z]{4,}/", r"/#\w+/", r"/!{2,}/", r"/x*/",
    r"/flood(ing|ed)?/", r"/\bthe\b.*\bof\b/", r"/[\x{0400}-\x{04FF}]+/", r"/😂|🔥/",
)  # fmt: skip
FIELD_WORDS = ("has:links", "has:media", "has:geo", "is:reply", "is:repost", "is:quote",
               "platform:twitter", "platform:reddit", "platform:bluesky", "since:2014-01-01",
               "until:2015-01-01T00:00Z")  # fmt: skip


def _pick(values: tuple[str, ...] | list[str]) -> st.SearchStrategy[str]:
    """``sampled_from`` without putting thousands of words into the strategy's repr."""
    items = tuple(values)
    return st.integers(0, len(items) - 1).map(items.__getitem__)


def _common_words() -> list[str]:
    counts: Counter[str] = Counter()
    for post in real_posts():
        counts.update(set(exact_tokens(post.searchable_text())))
    return [w for w, _ in counts.most_common(150) if w.isalnum()]


def _quote(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'


def near_operands() -> st.SearchStrategy[str]:
    """Words, prefixes, phrases, or (a OR b) of those: what NEAR accepts on each side."""
    vocab = vocabulary()
    words = st.one_of(_pick(vocab.words), _pick(_common_words()))
    single = st.one_of(
        words,
        words.filter(lambda w: len(w) > 2).map(lambda w: w[: max(2, len(w) - 2)] + "*"),
        st.integers(0, len(vocab.phrases) - 1).map(vocab.phrases.__getitem__).map(_quote),
        st.integers(0, len(vocab.phrases) - 1)
        .map(vocab.phrases.__getitem__)
        .map(lambda p: _quote(p)[:-1] + '*"' if len(p[-1]) > 1 else _quote(p)),
    )
    return st.one_of(
        single, st.lists(single, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")")
    )


def atoms() -> st.SearchStrategy[str]:
    vocab = vocabulary()
    fields = st.one_of(
        _pick(vocab.langs).map(lambda v: f"lang:{v}"),
        _pick(vocab.hashtags).map(lambda v: f"#{v}"),
        _pick(vocab.mentions).map(lambda v: f"@{v}"),
        _pick(vocab.authors).map(lambda v: f"from:{v}"),
        st.sampled_from(LISTS).map(lambda v: f"from:@{v}"),
        _pick(vocab.domains).map(lambda v: f"domain:{v}"),
        st.sampled_from(FIELD_WORDS),
    )
    near = st.builds(
        lambda a, n, f, b: f"{a} NEAR/{n}{'f' if f else ''} {b}",
        near_operands(), st.integers(1, 8), st.booleans(), near_operands(),
    )  # fmt: skip
    return st.one_of(near_operands(), near_operands(), fields, near, st.sampled_from(REGEXES))


def rule_texts() -> st.SearchStrategy[str]:
    """Boolean combinations of atoms with AND (space or written), OR, NOT, '-' and parentheses."""

    def combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = inner.map(lambda x: f"({x})")
        return st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(" ".join),
            st.lists(inner, min_size=2, max_size=3).map(" AND ".join),
            st.lists(group, min_size=2, max_size=3).map(" OR ".join),
            st.tuples(inner, group).map(lambda p: f"{p[0]} -{p[1]}"),
            group.map(lambda x: f"NOT {x}"),
        )

    return st.recursive(atoms(), combine, max_leaves=6)
