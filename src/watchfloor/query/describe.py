"""Render a query AST back to canonical text, and list what a query needs, for people and for backends.

``to_text`` is what the console shows for a saved rule and what the audit log can quote: one spelling
per meaning (explicit ``AND``, ``NOT`` rather than ``-``, canonical field names), so two rules that
mean the same thing usually read the same. ``parse_query(to_text(node)).root == node`` holds for every
tree the parser can produce (property-tested). ``literals`` and ``requires_literal`` feed the rule
prefilter; ``needs_post_filter`` tells a SQL backend when its answer is only a superset.
"""

from __future__ import annotations

import re

from watchfloor.query.ast import And, Field, MatchAll, Near, Node, Not, Or, Phrase, Regex, Term
from watchfloor.query.regexes import escape_slashes

# Fields SQL answers only with a superset: image:/text: (the full-text index holds the post's own text and
# its image text together) and imagehash: (Hamming distances are computed in Python).
SCOPED_FIELDS = frozenset({"image", "text", "imagehash"})

Literal = tuple[str, str]
"""``(kind, value)`` with kind ``word``, ``prefix``, ``phrase``, ``phrase_prefix`` or ``regex``.

Phrase values are the words joined by one space; regex values are RE2 patterns (case-insensitive).
"""

_PLAIN_VALUE = re.compile(r'[^\s()"]+')
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4  # binding strength, loosest first (NEAR operands are atoms or groups)


def to_text(node: Node) -> str:
    """Return canonical query text for ``node``; ``MatchAll`` (the empty query) renders as ``""``."""
    if isinstance(node, MatchAll):
        return ""
    return _render(node)


def _strength(node: Node) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    if isinstance(node, Not | Near):
        return _NOT  # a Near is written "a NEAR/n b", which NOT/AND may hold but a Near operand may not
    return _ATOM


def _wrap(node: Node, minimum: int) -> str:
    text = _render(node)
    return f"({text})" if _strength(node) < minimum else text


def _render(node: Node) -> str:
    if isinstance(node, Term):
        return node.word + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + ("*" if node.last_prefix else "") + '"'
    if isinstance(node, Regex):
        return "/" + escape_slashes(node.pattern) + "/"
    if isinstance(node, Field):
        return _render_field(node)
    if isinstance(node, Or):
        # AND inside OR is bracketed although precedence makes it optional: readers should not need to know.
        return " OR ".join(_wrap(child, _NOT) for child in node.children)
    if isinstance(node, And):
        return " AND ".join(_wrap(child, _NOT) for child in node.children)
    if isinstance(node, Not):
        return "NOT " + _wrap(node.child, _NOT)
    if isinstance(node, Near):
        operator = f"NEAR/{node.distance}{'f' if node.ordered else ''}"
        return f"{_wrap(node.left, _ATOM)} {operator} {_wrap(node.right, _ATOM)}"
    raise ValueError("MatchAll can only be a whole query, not part of one")


def _render_field(node: Field) -> str:
    if node.name == "hashtag":
        return "#" + node.value
    if node.name == "mention":
        return "@" + node.value
    if node.name == "from" and node.value.startswith("@"):
        return "from:" + node.value  # an account list: from:@name
    value = node.value if _PLAIN_VALUE.fullmatch(node.value) else f'"{node.value}"'
    return f"{node.name}:{value}"


def literals(node: Node) -> set[Literal]:
    """Return the words, prefixes, phrases and regexes ``node`` looks for outside any NOT.

    When :func:`requires_literal` is true, a post can only match if it contains at least one of these;
    that is the guarantee a prefilter may rely on. Anything under NOT is left out on purpose.
    """
    found: set[Literal] = set()
    _literals(node, found)
    return found


def _literals(node: Node, found: set[Literal]) -> None:
    if isinstance(node, Term):
        found.add(("prefix" if node.prefix else "word", node.word))
    elif isinstance(node, Phrase):
        found.add(("phrase_prefix" if node.last_prefix else "phrase", " ".join(node.words)))
    elif isinstance(node, Regex):
        found.add(("regex", node.pattern))
    elif isinstance(node, Near):
        _literals(node.left, found)
        _literals(node.right, found)
    elif isinstance(node, And | Or):
        for child in node.children:
            _literals(child, found)


def requires_literal(node: Node) -> bool:
    """Return whether every post matching ``node`` contains at least one of ``literals(node)``.

    False for queries that can match on fields or exclusions alone (``lang:en``, ``-spam``,
    ``flood OR #flood``): a prefilter must evaluate those rules on every post.
    """
    if isinstance(node, Term | Phrase | Regex | Near):
        return True
    if isinstance(node, And):
        return any(requires_literal(child) for child in node.children)
    if isinstance(node, Or):
        return all(requires_literal(child) for child in node.children)
    return False


def needs_post_filter(node: Node) -> bool:
    """Return whether ``node`` has NEAR, a regex or an image field, which SQL can only approximate.

    A backend that translates such a query to SQL should run :func:`watchfloor.query.evaluate.matches`
    on the rows it gets back (SQLite FTS5 has unordered NEAR only; PostgreSQL has no "within n").
    """
    if isinstance(node, Near | Regex):
        return True
    if isinstance(node, Field):  # the index cannot tell image text from the post's own text
        return node.name in SCOPED_FIELDS
    if isinstance(node, And | Or):
        return any(needs_post_filter(child) for child in node.children)
    if isinstance(node, Not):
        return needs_post_filter(node.child)
    return False
