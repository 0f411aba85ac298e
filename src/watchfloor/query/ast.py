"""The query AST: the contract between the parser and every backend (SQLite, PostgreSQL, matcher).

Nodes are immutable and hashable so compiled forms can be cached. Words inside ``Term`` and ``Phrase``
are already normalised by :func:`watchfloor.query.tokens.normalise_token` (NFKC, casefold, Latin
diacritics removed), so backends compare them directly with indexed tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

# Canonical field names after alias resolution (from:/author: -> "from", language: -> "lang", ...).
FieldName = Literal[
    "from",  # author handle or id (case-insensitive); "@list-name" values are account lists (rules)
    "platform",
    "lang",
    "hashtag",  # value without '#', casefolded
    "mention",  # value without '@', casefolded
    "domain",  # registrable domain or host suffix, casefolded
    "url",  # substring of a normalised URL
    "has",  # media | links | geo
    "is",  # reply | repost | quote
    "since",  # ISO date or datetime, inclusive
    "until",  # ISO date or datetime, exclusive
    "image",  # words (space-joined tokens) in the text read from the post's images
    "text",  # words in the post's own title and text (not its image text)
    "imagehash",  # "~name": an image within the match distance of a known-image list (rules only)
]

FIELD_NAMES: tuple[str, ...] = (
    "from",
    "platform",
    "lang",
    "hashtag",
    "mention",
    "domain",
    "url",
    "has",
    "is",
    "since",
    "until",
    "image",
    "text",
    "imagehash",
)


@dataclass(frozen=True, slots=True)
class Term:
    """One word; ``prefix=True`` for ``flood*`` (matches any token starting with ``word``)."""

    word: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words in order: ``"water rising"``. The last word may be a prefix (``"water ris*"``)."""

    words: tuple[str, ...]
    last_prefix: bool = False


@dataclass(frozen=True, slots=True)
class Regex:
    """A linear-time (RE2) regular expression over the post text: ``/pattern/``. Rules only."""

    pattern: str


@dataclass(frozen=True, slots=True)
class Field:
    """A structured filter such as ``lang:en`` or ``#flood``; ``value`` is already validated/normalised."""

    name: FieldName
    value: str


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    """``a NEAR/n b``: some match of ``left`` within ``distance`` tokens of some match of ``right``.

    Distance counts tokens between the end of one match and the start of the other, plus one, as in
    Brandwatch: ``NEAR/1`` means adjacent. ``ordered=True`` (``NEAR/nf``) requires left before right.
    Operands may be Term, Phrase, or an Or of those.
    """

    left: Node
    right: Node
    distance: int
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty query (only filters given elsewhere): matches every post."""


Node = Term | Phrase | Regex | Field | And | Or | Not | Near | MatchAll


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query with its original text (kept for audit and for "why this alert")."""

    source: str
    root: Node


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it, depth first."""
    yield node
    if isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, Near):
        yield from walk(node.left)
        yield from walk(node.right)
