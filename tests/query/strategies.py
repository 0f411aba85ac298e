"""Hypothesis strategies for query ASTs in the shape the parser produces (flattened, normalised)."""

from __future__ import annotations

from hypothesis import strategies as st

from watchfloor.query.ast import And, Near, Node, Not, Or, Phrase, Regex, Term
from watchfloor.query.parser import parse_query
from watchfloor.query.tokens import tokenize


def _single_token(text: str) -> str | None:
    found = tokenize(text)
    return found[0] if len(found) == 1 and tokenize(found[0]) == found else None


# Letters and digits from many scripts, plus combining marks: exercises normalisation.
_raw_words = st.text(st.characters(categories=("L", "N", "M")), min_size=1, max_size=6)
any_words = _raw_words.map(_single_token).filter(lambda w: w is not None).map(str)


def terms(words: st.SearchStrategy[str]) -> st.SearchStrategy[Term]:
    return st.builds(Term, words, st.booleans())


def phrases(words: st.SearchStrategy[str]) -> st.SearchStrategy[Phrase]:
    return st.builds(Phrase, st.lists(words, min_size=2, max_size=4).map(tuple), st.booleans())


_FIELD_TEXTS = [
    "from:alice", "from:did:plc:abc", "list:desk", "from:@desk", "platform:bluesky", "platform:rss",
    "lang:en", "lang:pt",
    "#flood", "#Bogotá", "@alice", "@bob.bsky.social", "domain:example.com", "url:example.com/a",
    'url:"x.org/a(b)"', "has:media", "has:links", "has:geo", "is:reply", "is:repost", "is:quote",
    "since:2012-10-29", "until:2012-11-01T12:00:00Z",
]  # fmt: skip
fields: st.SearchStrategy[Node] = st.sampled_from(
    [parse_query(text, allow_lists=True).root for text in _FIELD_TEXTS]
)
regexes = st.sampled_from([Regex(r"water\s+ris(ing|es)"), Regex("r/flood"), Regex("(?-i)NASA"), Regex("a|b")])


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    parts: list[Node] = []
    for child in children:
        parts.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(parts))


def near_operands(words: st.SearchStrategy[str]) -> st.SearchStrategy[Node]:
    simple = st.one_of(terms(words), phrases(words))
    return st.one_of(simple, st.lists(simple, min_size=2, max_size=3).map(lambda cs: _flat(Or, list(cs))))


def queries(
    words: st.SearchStrategy[str] = any_words, *, with_fields: bool = True, with_regex: bool = True
) -> st.SearchStrategy[Node]:
    """Random ASTs the parser could have produced, built from ``words``."""
    leaves: list[st.SearchStrategy[Node]] = [terms(words), phrases(words)]
    if with_fields:
        leaves.append(fields)
    if with_regex:
        leaves.append(regexes)
    near = st.builds(Near, near_operands(words), near_operands(words), st.integers(1, 6), st.booleans())
    base = st.one_of(*leaves, near)

    def extend(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        many = st.lists(inner, min_size=2, max_size=3)
        return st.one_of(
            many.map(lambda cs: _flat(And, cs)),
            many.map(lambda cs: _flat(Or, cs)),
            st.builds(Not, inner),
        )

    return st.recursive(base, extend, max_leaves=8)
