"""Render pure-text query subtrees as SQLite FTS5 and PostgreSQL tsquery expressions.

Both render the same shape: words and phrases quoted, AND/OR/NOT between them. The differences are
NEAR (FTS5 has an unordered ``NEAR(a b, N)``; tsquery only "exactly N apart", so it gets AND and the
store post-filters) and negation (FTS5's NOT is binary, so a negation needs a positive partner).
Words are already normalised tokens (letters, digits, marks) so quoting is defensive only.
"""

from __future__ import annotations

from itertools import product

from watchfloor.query.ast import And, Near, Node, Not, Or, Phrase, Term

MAX_NEAR_EXPANSION = 64  # (a OR b OR ...) NEAR (c OR ...) expands to at most this many NEAR groups


def _near_operands(node: Node) -> list[Term | Phrase] | None:
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, Or) and all(isinstance(c, Term | Phrase) for c in node.children):
        return [c for c in node.children if isinstance(c, Term | Phrase)]
    return None


def supports(node: Node) -> bool:
    """Whether ``node`` renders as a standalone full-text expression (no bare negation)."""
    if isinstance(node, Term | Phrase):
        return True
    if isinstance(node, Near):
        left, right = _near_operands(node.left), _near_operands(node.right)
        return left is not None and right is not None and len(left) * len(right) <= MAX_NEAR_EXPANSION
    if isinstance(node, And):
        positives = [c for c in node.children if not isinstance(c, Not)]
        negatives = [c.child for c in node.children if isinstance(c, Not)]
        return bool(positives) and all(supports(c) for c in (*positives, *negatives))
    if isinstance(node, Or):
        return all(not isinstance(c, Not) and supports(c) for c in node.children)
    return False


# -- SQLite FTS5 ------------------------------------------------------------------------------------


def _fts_quote(words: tuple[str, ...] | list[str], prefix: bool) -> str:
    text = " ".join(words).replace('"', '""')
    return f'"{text}"' + (" *" if prefix else "")


def _fts_atom(node: Term | Phrase) -> str:
    if isinstance(node, Term):
        return _fts_quote([node.word], node.prefix)
    return _fts_quote(node.words, node.last_prefix)


def fts5(node: Node) -> str:
    """FTS5 MATCH expression for a node for which :func:`supports` is true."""
    if isinstance(node, Term | Phrase):
        return _fts_atom(node)
    if isinstance(node, Near):
        lefts, rights = _near_operands(node.left) or [], _near_operands(node.right) or []
        # Our NEAR/n allows n-1 tokens between the two matches; FTS5's NEAR(.., N) allows N.
        groups = [
            f"NEAR({_fts_atom(a)} {_fts_atom(b)}, {max(node.distance - 1, 0)})"
            for a, b in product(lefts, rights)
        ]
        return groups[0] if len(groups) == 1 else "(" + " OR ".join(groups) + ")"
    if isinstance(node, And):
        positives = [fts5(c) for c in node.children if not isinstance(c, Not)]
        expr = "(" + " AND ".join(positives) + ")"
        for child in node.children:
            if isinstance(child, Not):
                expr = f"({expr} NOT {fts5(child.child)})"
        return expr
    if isinstance(node, Or):
        return "(" + " OR ".join(fts5(c) for c in node.children) + ")"
    raise ValueError(f"not a full-text node: {node!r}")


# -- PostgreSQL tsquery -----------------------------------------------------------------------------


def _ts_word(word: str, prefix: bool) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")


def _ts_atom(node: Term | Phrase) -> str:
    if isinstance(node, Term):
        return _ts_word(node.word, node.prefix)
    last = len(node.words) - 1
    parts = [_ts_word(w, node.last_prefix and i == last) for i, w in enumerate(node.words)]
    return "(" + " <-> ".join(parts) + ")"


def tsquery(node: Node) -> str:
    """A ``to_tsquery('simple', ...)`` expression; NEAR becomes AND (a superset, post-filtered)."""
    if isinstance(node, Term | Phrase):
        return _ts_atom(node)
    if isinstance(node, Near):
        lefts, rights = _near_operands(node.left) or [], _near_operands(node.right) or []
        left = " | ".join(_ts_atom(a) for a in lefts)
        right = " | ".join(_ts_atom(b) for b in rights)
        return f"(({left}) & ({right}))"
    if isinstance(node, And):
        parts = [tsquery(c) for c in node.children if not isinstance(c, Not)]
        parts += ["!" + tsquery(c.child) for c in node.children if isinstance(c, Not)]
        return "(" + " & ".join(parts) + ")"
    if isinstance(node, Or):
        return "(" + " | ".join(tsquery(c) for c in node.children) + ")"
    raise ValueError(f"not a full-text node: {node!r}")
