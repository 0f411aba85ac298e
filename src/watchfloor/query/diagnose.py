"""Turn lark's lexer and parser failures into errors an analyst can act on.

lark knows *where* parsing stopped; this module works out *why* from the tokens around that point
(a dangling AND, an unclosed parenthesis, a '-' followed by a space) and says what to write instead.
Errors raised while building the AST (bad field values, NEAR operands) are made in ``parser.py``.
"""

from __future__ import annotations

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from watchfloor.domain.errors import QuerySyntaxError

_BINARY = {"_AND": "AND", "_OR": "OR", "NEAR": "NEAR"}
_NEAR_SIDES = "NEAR needs a word, phrase, prefix or (a OR b) group on both sides"


def error_at(text: str, pos: int, message: str, hint: str) -> QuerySyntaxError:
    """Return a QuerySyntaxError for 0-based character offset ``pos`` (reported 1-based)."""
    return QuerySyntaxError(message, query=text, column=max(1, min(pos, len(text)) + 1), hint=hint)


def diagnose(text: str, exc: UnexpectedInput, tokens: list[Token], *, allow_regex: bool) -> QuerySyntaxError:
    """Explain ``exc`` raised by lark for ``text``; ``tokens`` is the text lexed up to the failure."""
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(text, exc.pos_in_stream or 0, allow_regex=allow_regex)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        index = next((i for i, t in enumerate(tokens) if t.start_pos == exc.token.start_pos), len(tokens))
        return _bad_token(text, tokens, index)
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        return _bad_token(text, tokens, len(tokens))
    return error_at(text, 0, "This query cannot be read", "See docs/query-language.md for the syntax.")


def _bad_character(text: str, pos: int, *, allow_regex: bool) -> QuerySyntaxError:
    char = text[pos]
    if char == '"':
        return error_at(text, pos, "This quote is never closed", 'Add the closing " or remove this one.')
    if char == "-":
        return error_at(
            text,
            pos,
            "A '-' must be attached to what it excludes",
            "Write -word, -\"a phrase\", -lang:en or -(a OR b) with no space after the '-'.",
        )
    if char in "#@":
        what = "hashtag" if char == "#" else "account handle"
        return error_at(
            text,
            pos,
            f"'{char}' must be followed directly by the {what}",
            f"Write {char}{'flood' if char == '#' else 'alice'} with no space.",
        )
    if char == "/":
        if not allow_regex:
            return regex_not_allowed(text, pos)
        return error_at(
            text,
            pos,
            "This regular expression is never closed",
            "End it with '/'; write \\/ for a slash inside it, e.g. /water\\s+ris(ing|es)/.",
        )
    return error_at(text, pos, f"Unexpected character '{char}'", "See docs/query-language.md for the syntax.")


def regex_not_allowed(text: str, pos: int) -> QuerySyntaxError:
    """Return the error for a ``/regex/`` in a query that may not use them (search)."""
    return error_at(
        text,
        pos,
        "Regular expressions are only allowed in rules",
        'To search for text containing "/", put it in quotes: "/r/flood".',
    )


def _bad_token(text: str, tokens: list[Token], index: int) -> QuerySyntaxError:
    """Explain why the token at ``index`` (``len(tokens)`` for the end of the query) cannot stand there."""
    current = tokens[index] if index < len(tokens) else None
    previous = tokens[index - 1] if index > 0 else None
    kind = current.type if current is not None else "$END"
    prev_kind = previous.type if previous is not None else None
    unclosed = _unclosed_parens(tokens[:index])

    if kind == "_RPAR" and not unclosed:
        assert current is not None
        return error_at(
            text,
            current.start_pos or 0,
            "This ')' has no matching '('",
            "Remove it, or add '(' where the group starts.",
        )
    if kind == "_RPAR" and prev_kind == "LPAR":
        assert previous is not None
        return error_at(
            text,
            previous.start_pos or 0,
            "These parentheses are empty",
            "Put something between ( and ), or remove them.",
        )
    if previous is not None and prev_kind in ("_AND", "_OR", "NEAR", "NOT", "NEG"):
        if kind in ("$END", "_RPAR", "_AND", "_OR", "NEAR"):
            return _operator_error(text, previous)
        if prev_kind == "NEAR":  # NOT, '-' after NEAR
            assert current is not None
            return error_at(
                text,
                current.start_pos or 0,
                "NEAR works only on words, phrases, prefixes or (a OR b) groups",
                "Put the exclusion outside: (flood NEAR/3 water) -rain.",
            )
    if current is not None and kind in _BINARY:
        return _operator_error(text, current)
    if kind == "$END" and unclosed:
        return error_at(
            text, unclosed[-1], "This '(' is never closed", "Add ')' where the group ends, or remove '('."
        )
    if current is None:
        return error_at(
            text, len(text), "The query ends too early", "See docs/query-language.md for the syntax."
        )
    return error_at(
        text,
        current.start_pos or 0,
        f"Unexpected '{current}'",
        "Check the operators and parentheses around here.",
    )


def _operator_error(text: str, token: Token) -> QuerySyntaxError:
    kind = token.type
    if kind == "NEAR":
        return error_at(
            text,
            token.start_pos or 0,
            _NEAR_SIDES,
            'Write flood NEAR/5 water or "need rescue" NEAR/3 flood*.',
        )
    if kind in ("NOT", "NEG"):
        what = "NOT" if kind == "NOT" else "'-'"
        return error_at(
            text,
            token.start_pos or 0,
            f"{what} needs something after it",
            "Write NOT rain or -rain; NOT never ends a group.",
        )
    word = _BINARY[kind]
    return error_at(
        text,
        token.start_pos or 0,
        f"{word} needs something on both sides",
        f"Write flood {word} water, or remove {word}. Lowercase '{word.lower()}' searches for the word.",
    )


def _unclosed_parens(tokens: list[Token]) -> list[int]:
    stack: list[int] = []
    for token in tokens:
        if token.type == "LPAR":
            stack.append(token.start_pos or 0)
        elif token.type == "_RPAR" and stack:
            stack.pop()
    return stack
