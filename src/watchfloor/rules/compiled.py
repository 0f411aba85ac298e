"""Compile one rule version into what the matcher runs: a predicate and the keys that can trigger it.

The predicate decides exactly what :func:`watchfloor.query.evaluate.matches` decides, but reads the
post's token string with substring tests where it can (``" flood "`` in ``" water flood rising "``),
tests field filters on cheap folded values, and hands proximity and links to the reference evaluator.
The *cover* is a small set of keys of which every matching post must contain at least one; the
prefilter looks only for those, so a rule costs nothing on posts that cannot match it. Compiling is
done once per rule version and reused by every matcher built from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from watchfloor.domain.rules import RuleVersion, Severity, VolumeSpec
from watchfloor.query.ast import And, Field, MatchAll, Near, Node, Not, Or, Phrase, Query, Regex, Term
from watchfloor.query.evaluate import matches
from watchfloor.query.fields import parse_instant
from watchfloor.query.parser import parse_query
from watchfloor.query.regexes import compile_regex
from watchfloor.rules.view import PostView

Predicate = Callable[[PostView], bool]

Key = tuple[str, str]
"""What can trigger a rule: ``("text", " flood ")`` (a substring of the token string), ``("regex",
pattern)``, ``("from", handle)``, ``("list", name)``, ``("hashtag", tag)`` or ``("mention", handle)``."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    """One rule version ready for matching. Identity matters: the matcher tells versions apart by it."""

    rule_id: int
    version: int
    query: Query  # parsed with regexes and account lists allowed
    severity: Severity
    volume: VolumeSpec | None
    predicate: Predicate
    cover: frozenset[Key] | None  # None: no key is certain, evaluate the rule on every post
    lists: frozenset[str]  # account list names the rule reads (without '@')
    fields: tuple[Field, ...]  # positive field filters, reported in Match.fields when they hold


def compile_rule(version: RuleVersion) -> CompiledRule:
    """Parse and compile ``version``; raises ``QuerySyntaxError`` like the parser."""
    query = parse_query(version.query, allow_regex=True, allow_lists=True)
    return compile_query(query, rule_id=version.rule_id, version=version.version,
                         severity=version.severity, volume=version.volume)  # fmt: skip


def compile_query(
    query: Query,
    *,
    rule_id: int,
    version: int,
    severity: Severity = "medium",
    volume: VolumeSpec | None = None,
) -> CompiledRule:
    """Compile an already parsed query (back-tests and tests build rules this way)."""
    positive: list[Field] = []
    _positive_fields(query.root, positive)
    return CompiledRule(
        rule_id=rule_id,
        version=version,
        query=query,
        severity=severity,
        volume=volume,
        predicate=_predicate(query.root),
        cover=_cover(query.root),
        lists=frozenset(_list_key(f) for f in _all_fields(query.root) if _names_list(f)),
        fields=tuple(dict.fromkeys(positive)),
    )


def _is_list(node: Field) -> bool:
    return node.name == "from" and node.value.startswith("@")


def _names_list(node: Field) -> bool:
    return _is_list(node) or node.name == "imagehash"


def _list_key(node: Field) -> str:
    """The key in the matcher's lists: an account list's name, or "~name" for a known-image list."""
    return node.value if node.name == "imagehash" else node.value[1:]


def _all_fields(node: Node) -> list[Field]:
    if isinstance(node, Field):
        return [node]
    if isinstance(node, And | Or):
        return [f for child in node.children for f in _all_fields(child)]
    if isinstance(node, Not):
        return _all_fields(node.child)
    return []


def _positive_fields(node: Node, out: list[Field]) -> None:
    if isinstance(node, Field):
        out.append(node)
    elif isinstance(node, And | Or):
        for child in node.children:
            _positive_fields(child, out)


# -- predicates ------------------------------------------------------------------------------------


def _needle(node: Term | Phrase) -> str | None:
    """The substring of the token string that holds exactly when ``node`` occurs, if there is one."""
    words = (node.word,) if isinstance(node, Term) else node.words
    prefix = node.prefix if isinstance(node, Term) else node.last_prefix
    # The parser only makes non-empty single tokens; anything else is left to the reference evaluator.
    if not words or any(not w or any(c.isspace() for c in w) for w in words):
        return None
    return " " + " ".join(words) + ("" if prefix else " ")


def _predicate(node: Node) -> Predicate:
    if isinstance(node, Term | Phrase):
        needle = _needle(node)
        if needle is not None:
            return lambda view: needle in view.tokstr
    elif isinstance(node, Field):
        return _field_predicate(node)
    elif isinstance(node, Regex):
        search = compile_regex(node.pattern).search
        return lambda view: search(view.text) is not None
    elif isinstance(node, Near):
        # Both sides must occur somewhere before positions are worth computing.
        left, right = _predicate(node.left), _predicate(node.right)
        return lambda view: left(view) and right(view) and matches(node, view.doc)
    elif isinstance(node, Not):
        inner = _predicate(node.child)
        return lambda view: not inner(view)
    elif isinstance(node, And | Or):
        return _combine(tuple(_predicate(child) for child in node.children), every=isinstance(node, And))
    elif isinstance(node, MatchAll):
        return lambda view: True
    return lambda view: matches(node, view.doc, lists=view.lists)


def _combine(parts: tuple[Predicate, ...], *, every: bool) -> Predicate:
    """AND (``every``) or OR of ``parts``, short-circuiting; two or three parts avoid a generator."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        if every:
            return lambda view: a(view) and b(view)
        return lambda view: a(view) or b(view)
    if len(parts) == 3:
        a, b, c = parts
        if every:
            return lambda view: a(view) and b(view) and c(view)
        return lambda view: a(view) or b(view) or c(view)
    if every:
        return lambda view: all(part(view) for part in parts)
    return lambda view: any(part(view) for part in parts)


def _field_predicate(node: Field) -> Predicate:
    """The test of ``evaluate._field`` for one filter, on the view's cheap field values."""
    name, value = node.name, node.value
    if name == "from" and _is_list(node):
        list_name = value[1:]  # present in view.lists: the matcher refuses rules naming missing lists
        return lambda view: not view.authors().isdisjoint(view.lists[list_name])
    if name in ("since", "until"):
        instant = parse_instant(value)
        if name == "since":
            return lambda view: view.post.created_at >= instant
        return lambda view: view.post.created_at < instant
    if name == "from":
        return lambda view: value in view.authors()
    if name == "lang":
        return lambda view: value in view.langs
    if name == "hashtag":
        return lambda view: value in view.hashtags()
    if name == "mention":
        return lambda view: value in view.mentions()
    if name == "has":
        return lambda view: value in view.has()
    if name == "is":
        return lambda view: value in view.kinds()
    if name == "platform":
        return lambda view: view.post.platform.casefold() == value
    if name == "imagehash":  # most posts have no image hashes: answer those without building a Document
        return lambda view: bool(view.post.image_hashes) and matches(node, view.doc, lists=view.lists)
    if name in ("image", "text"):
        return lambda view: f" {value} " in view.tokstr and matches(node, view.doc)
    # domain: and url: read hosts parsed from links; a post without links has none to match.
    return lambda view: bool(view.post.urls or view.post.domains) and matches(node, view.links)


# -- covers -----------------------------------------------------------------------------------------

# How selective a key is likely to be, higher is better. Without corpus statistics the length of a
# word is the usual stand-in (Luwak's default "term weightor" does the same): short words are common.
_FIELD_WEIGHT = {"from": 30.0, "list": 30.0, "mention": 12.0, "hashtag": 10.0}


def _weight(key: Key) -> float:
    kind, value = key
    if kind == "text":
        words = value.split()
        exact = value.endswith(" ")
        return sum(len(w) for w in words) + 4.0 * (len(words) - 1) - (0.0 if exact else 2.5)
    if kind == "regex":
        return 0.5  # the regex set runs over the whole text; use it only when nothing else is certain
    return _FIELD_WEIGHT[kind]


def _score(cover: frozenset[Key]) -> tuple[float, int]:
    return min(_weight(k) for k in cover), -len(cover)


def _cover(node: Node) -> frozenset[Key] | None:
    """Keys of which every post matching ``node`` has one, or None when no such set is known.

    The same idea as ``describe.requires_literal``, narrowed: an AND needs only its most selective
    child's keys, NEAR only one side's, and certain field filters (author, account list, hashtag,
    mention) are keys too. Anything under NOT, and filters such as ``lang:`` that most posts pass,
    give no key.
    """
    if isinstance(node, Term | Phrase):
        needle = _needle(node)
        return frozenset({("text", needle)}) if needle is not None else None
    if isinstance(node, Regex):
        return frozenset({("regex", node.pattern)})
    if isinstance(node, Field):
        if node.name == "from":
            return frozenset({("list", node.value[1:]) if _is_list(node) else ("from", node.value)})
        if node.name in ("hashtag", "mention"):
            return frozenset({(node.name, node.value)})
        if node.name in ("image", "text"):  # the words are in the token string either way
            return frozenset({("text", f" {node.value} ")})
        return None
    if isinstance(node, Near):
        sides = [c for c in (_cover(node.left), _cover(node.right)) if c is not None]
        return max(sides, key=_score) if sides else None
    if isinstance(node, And):
        options = [c for c in map(_cover, node.children) if c is not None]
        return max(options, key=_score) if options else None
    if isinstance(node, Or):
        union: set[Key] = set()
        for child in node.children:
            cover = _cover(child)
            if cover is None:
                return None
            union |= cover
        return frozenset(union)
    return None  # Not, MatchAll
