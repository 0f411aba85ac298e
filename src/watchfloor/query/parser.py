"""Parse the house query language into the AST that search backends and the rule matcher share.

One parser for search and for standing rules means a rule back-tested in search matches exactly
what it will match live. The grammar is ``grammar.lark`` (LALR(1), basic lexer); this module turns
lark's tree into :mod:`watchfloor.query.ast` nodes, normalising words with the shared tokeniser and
checking every field value, and raises :class:`QuerySyntaxError` with a 1-based column and a hint.

Columns count characters from the start of the query, so for a rule written over several lines the
"column" is an offset into the whole text, not into its line.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import re2
from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedInput, VisitError

from watchfloor.domain.errors import QuerySyntaxError
from watchfloor.query.ast import And, Field, MatchAll, Near, Node, Not, Or, Phrase, Query, Regex, Term
from watchfloor.query.diagnose import diagnose, error_at, regex_not_allowed
from watchfloor.query.fields import (
    FIELD_KEYS,
    ValueProblem,
    is_list_value,
    normalise_list_name,
    normalise_value,
)
from watchfloor.query.regexes import compile_regex, unescape_slashes
from watchfloor.query.tokens import tokenize

MAX_NEAR_DISTANCE = 1000
# Depth of lark's tree (roughly two levels per bracket or NOT); deeper trees would exhaust Python's
# recursion limit in the transformer and in every recursive consumer of the AST.
MAX_DEPTH = 100

_LARK = Lark(
    files("watchfloor.query").joinpath("grammar.lark").read_text(encoding="utf-8"),
    parser="lalr",
    lexer="basic",
    maybe_placeholders=False,
)
_NEAR = re.compile(r"NEAR/([1-9][0-9]{0,3})(f?)")
_LOWERCASE_NEAR = re.compile(r"near/\S*", re.IGNORECASE)
_FIELD_EXAMPLES = {
    "from": "from:alice", "author": "author:alice", "list": "list:flood-desk", "platform": "platform:bluesky",
    "lang": "lang:en", "language": "language:en", "hashtag": "hashtag:flood", "tag": "tag:flood",
    "mention": "mention:alice", "mentions": "mentions:alice", "domain": "domain:example.com",
    "site": "site:example.com", "url": "url:example.com/news", "has": "has:media", "is": "is:reply",
    "since": "since:2012-10-29", "after": "after:2012-10-29", "until": "until:2012-11-01",
    "before": "before:2012-11-01", "image": "image:bitcoin", "text": "text:bitcoin",
    "imagehash": "imagehash:~scam-kit",
}  # fmt: skip


def parse_query(text: str, *, allow_regex: bool = False, allow_lists: bool = False) -> Query:
    """Parse ``text`` into a :class:`Query`; raise :class:`QuerySyntaxError` if it is not valid.

    ``allow_regex`` admits ``/pattern/`` terms and ``allow_lists`` admits ``from:@name`` account lists
    (``list:name`` is an older spelling of the same); both are for standing rules (search leaves them
    off). The empty query parses to ``MatchAll``.
    """
    try:
        tree = _LARK.parse(text)
    except UnexpectedInput as exc:
        raise diagnose(text, exc, _lex_prefix(text), allow_regex=allow_regex) from None
    _check_depth(text, tree)
    try:
        located = _Builder(text, allow_regex=allow_regex, allow_lists=allow_lists).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QuerySyntaxError):
            raise exc.orig_exc from None
        raise
    return Query(source=text, root=located.node if located is not None else MatchAll())


def _lex_prefix(text: str) -> list[Token]:
    """Return the tokens of ``text`` up to the first character the lexer cannot read."""
    out: list[Token] = []
    with contextlib.suppress(UnexpectedInput):
        out.extend(_LARK.lex(text))
    return out


def _check_depth(text: str, tree: Tree[Token]) -> None:
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            continue
        if depth > MAX_DEPTH:
            raise error_at(
                text,
                _pos(_first_token(node)),
                "The query is nested too deeply",
                "Remove redundant parentheses or NOTs, or split it into several rules.",
            )
        stack.extend((child, depth + 1) for child in node.children)


def _pos(token: Token) -> int:
    """Return the 0-based offset of ``token`` (lark types it optional; the basic lexer always sets it)."""
    return token.start_pos or 0


def _first_token(tree: Tree[Token]) -> Token:
    node: Tree[Token] | Token = tree
    while isinstance(node, Tree):
        node = node.children[0]
    return node


@dataclass(frozen=True, slots=True)
class _Located:
    """An AST node with the 0-based offset where its text starts, kept only while building."""

    node: Node
    pos: int


class _Builder(Transformer[Token, "_Located | None"]):
    """Build AST nodes bottom-up from lark's tree; every problem is raised with its position."""

    def __init__(self, text: str, *, allow_regex: bool, allow_lists: bool) -> None:
        super().__init__()
        self._text = text
        self._allow_regex = allow_regex
        self._allow_lists = allow_lists

    def _error(self, pos: int, message: str, hint: str) -> QuerySyntaxError:
        return error_at(self._text, pos, message, hint)

    # -- structure ---------------------------------------------------------------------------------

    def start(self, children: list[_Located]) -> _Located | None:
        return children[0] if children else None

    def or_expr(self, children: list[_Located]) -> _Located:
        parts = [p for c in children for p in (c.node.children if isinstance(c.node, Or) else (c.node,))]
        return _Located(Or(tuple(parts)), children[0].pos)

    def and_expr(self, children: list[_Located]) -> _Located:
        parts = [p for c in children for p in (c.node.children if isinstance(c.node, And) else (c.node,))]
        return _Located(And(tuple(parts)), children[0].pos)

    def negation(self, children: list[Any]) -> _Located:
        operator, operand = children
        return _Located(Not(operand.node), _pos(operator))

    def group(self, children: list[Any]) -> _Located:
        paren, inner = children
        return _Located(inner.node, _pos(paren))

    def near_expr(self, children: list[Any]) -> _Located:
        left: _Located = children[0]
        self._check_near_operand(left)
        for operator, right in zip(children[1::2], children[2::2], strict=True):
            if isinstance(left.node, Near):
                raise self._error(
                    _pos(operator),
                    "NEAR cannot be chained",
                    "Combine pairs with AND: (a NEAR/3 b) AND (b NEAR/3 c).",
                )
            distance, ordered = self._near_operator(operator)
            self._check_near_operand(right)
            left = _Located(Near(left.node, right.node, distance, ordered), left.pos)
        return left

    def _near_operator(self, token: Token) -> tuple[int, bool]:
        match = _NEAR.fullmatch(str(token))
        if match is None or int(match.group(1)) > MAX_NEAR_DISTANCE:
            raise self._error(
                _pos(token),
                f"'{token}' is not a valid proximity operator",
                f"Write NEAR/n with n from 1 to {MAX_NEAR_DISTANCE} (NEAR/1 = next to each other), "
                "or NEAR/nf when the left side must come first.",
            )
        return int(match.group(1)), match.group(2) == "f"

    def _check_near_operand(self, operand: _Located) -> None:
        node = operand.node
        simple = (Term, Phrase)
        if isinstance(node, simple) or (
            isinstance(node, Or) and all(isinstance(c, simple) for c in node.children)
        ):
            return
        raise self._error(
            operand.pos,
            "NEAR works only on words, phrases, prefixes or (a OR b) groups of those",
            "Move filters, AND and NOT outside the proximity: (flood* NEAR/5 water) lang:en -rain.",
        )

    # -- leaves ------------------------------------------------------------------------------------

    def word(self, children: list[Token]) -> _Located:
        token = children[0]
        raw, pos = str(token), _pos(token)
        if _LOWERCASE_NEAR.fullmatch(raw):
            raise self._error(pos, "Operators are written in capitals", f"Write {raw.upper()} for proximity.")
        return _Located(self._text_node(raw, pos, quoted=False), pos)

    def phrase(self, children: list[Token]) -> _Located:
        token = children[0]
        pos = _pos(token)
        body = str(token)[1:-1]
        if not body.strip():
            raise self._error(pos, "This phrase is empty", 'Put words between the quotes: "water rising".')
        return _Located(self._text_node(body, pos + 1, quoted=True), pos)

    def _text_node(self, body: str, pos: int, *, quoted: bool) -> Node:
        """Return a Term or Phrase for a bare word or phrase body that starts at offset ``pos``."""
        prefix = False
        trimmed = body.rstrip()
        if trimmed.endswith("*"):
            star = len(trimmed) - 1
            before = trimmed[star - 1] if star else ""
            # A combining mark continues the word before it (Tibetan "ཀྵ*"), though alone it is no token.
            if not before or not (tokenize(before) or unicodedata.category(before).startswith("M")):
                raise self._error(
                    pos + star,
                    "A wildcard must follow a letter or digit",
                    "Write flood* to match flood, floods, flooding.",
                )
            prefix, body = True, trimmed[:star]
        if not quoted and "*" in body:
            raise self._error(
                pos + body.index("*"),
                "A wildcard works only at the end of a word",
                'Write flood* for words starting with flood; to match text containing "*", quote it: "f*ck".',
            )
        words = tokenize(body)
        if not words:
            what = "This phrase" if quoted else f"'{body}'"
            raise self._error(
                pos - 1 if quoted else pos,
                f"{what} has no letters or digits",
                "Words are matched by their letters and digits; punctuation and emoji alone cannot be "
                "searched (a rule can use a /regex/).",
            )
        if len(words) == 1:
            return Term(words[0], prefix=prefix)
        return Phrase(tuple(words), last_prefix=prefix)

    def field(self, children: list[Token]) -> _Located:
        token = children[0]
        raw, pos = str(token), _pos(token)
        key, _, value = raw.partition(":")
        value_pos = pos + len(key) + 1
        if value.startswith('"'):
            value, value_pos = value[1:-1], value_pos + 1
        name = key.casefold()
        if name not in FIELD_KEYS:
            raise self._unknown_field(key, pos)
        if not value:
            raise self._error(
                pos,
                f"'{key}:' needs a value",
                f"Write the value right after the colon, with no space: {_FIELD_EXAMPLES[name]}.",
            )
        canonical = FIELD_KEYS[name]
        # from:@name (and the older list:name) names an account list; from:name is one account.
        # NFKC first, as handles are folded: a full-width '＠' is an '@' too.
        is_list = canonical is None or (canonical == "from" and is_list_value(value))
        if is_list and not self._allow_lists:
            raise self._error(
                pos,
                "Account lists are only allowed in rules",
                "account lists only work in rules; to search one account write from:handle",
            )
        if canonical == "imagehash" and not self._allow_lists:
            raise self._error(
                pos,
                "Known-image lists are only allowed in rules",
                "imagehash:~list works in rules; back-test the rule to find stored posts with those images",
            )
        try:
            if not is_list:
                assert canonical is not None
                return _Located(Field(canonical, normalise_value(canonical, value)), pos)
            if canonical is not None:  # from:@name: the list name starts after the '@'
                value, value_pos = value[1:], value_pos + 1
            return _Located(Field("from", normalise_list_name(value)), pos)
        except ValueProblem as problem:
            raise self._error(
                value_pos + min(problem.offset, len(value) - 1), problem.message, problem.hint
            ) from None

    def _unknown_field(self, key: str, pos: int) -> QuerySyntaxError:
        known = ", ".join(f"{k}:" for k in FIELD_KEYS)
        if key.casefold() in ("http", "https"):
            hint = "To match a link, write url:example.com/path or domain:example.com."
        else:
            close = difflib.get_close_matches(key.casefold(), list(FIELD_KEYS), n=1)
            guess = f"Did you mean {close[0]}:? " if close else ""
            hint = f'{guess}Fields are {known}. To search the words, quote them: "{key}: ...".'
        return self._error(pos, f"Unknown field '{key}:'", hint)

    def hashtag(self, children: list[Token]) -> _Located:
        return self._prefixed_field(children[0], "hashtag")

    def mention(self, children: list[Token]) -> _Located:
        return self._prefixed_field(children[0], "mention")

    def _prefixed_field(self, token: Token, name: Any) -> _Located:
        pos = _pos(token)
        try:
            return _Located(Field(name, normalise_value(name, str(token)[1:])), pos)
        except ValueProblem as problem:
            raise self._error(pos + 1 + problem.offset, problem.message, problem.hint) from None

    def regex(self, children: list[Token]) -> _Located:
        token = children[0]
        pos = _pos(token)
        if not self._allow_regex:
            raise regex_not_allowed(self._text, pos)
        pattern = unescape_slashes(str(token)[1:-1])
        try:
            compile_regex(pattern)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise self._error(
                pos,
                f"RE2 cannot use this regular expression: {reason}",
                "RE2 runs in linear time, so it has no look-around (?=...) and no back-references \\1.",
            ) from None
        return _Located(Regex(pattern), pos)
