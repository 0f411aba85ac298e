"""The one tokeniser shared by the search index, the query parser and the rule matcher.

Search and rules must agree on what a "word" is, or a rule back-test would disagree with live
matching. A token is a maximal run of letters, digits, combining marks and private-use characters
(the same classes SQLite FTS5's ``unicode61`` tokenizer is configured with in ``store/sqlite``), after
NFKC normalisation and case folding, with diacritics removed from Latin letters only (``Bogotá`` ->
``bogota``; Devanagari vowel signs are kept because they are part of the word).

Known limit: scripts written without spaces (Chinese, Japanese, Thai) come out as one token per run;
an ICU word breaker would fix that and is a documented follow-up.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import regex

TOKENIZER_VERSION = "1"

# A token starts with a letter, digit or private-use character; combining marks only continue one.
# (NFKC turns a spacing accent such as "´" into space + combining mark, which must not start a token,
# or "don´t" would tokenise differently before and after normalisation.)
_TOKEN = regex.compile(r"[\p{L}\p{N}\p{Co}][\p{L}\p{N}\p{M}\p{Co}]*")
_LATIN_MARKS = regex.compile(r"(?<=\p{Latin})\p{Mn}+")


def normalise_text(text: str) -> str:
    """Return ``text`` NFKC-normalised, case-folded, with diacritics stripped from Latin letters."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFD", folded)
    return unicodedata.normalize("NFC", _LATIN_MARKS.sub("", decomposed))


def normalise_token(word: str) -> str:
    """Normalise one query word exactly as the text it will be compared with."""
    return normalise_text(word)


# On ASCII text the rules above reduce to "lowercase, split on anything but [a-z0-9]" (NFKC is the
# identity, casefold is lower(), there are no marks or private-use characters): one bytes.translate
# and split does that 3-4x faster than the Unicode property regex. Property tests hold both equal.
_ASCII_FOLD = bytes(c if chr(c).isalnum() else ord(" ") for c in range(128)).lower() + b" " * 128


def tokenize(text: str) -> list[str]:
    """Split ``text`` into normalised tokens."""
    if text.isascii():
        return text.encode().translate(_ASCII_FOLD).decode("ascii").split()
    if unicodedata.is_normalized("NFKC", text):
        # Where NFKC changes nothing, normalising the whole text and then splitting it gives the
        # tokens of the per-token rule below, about twice as fast (IRA tweets that are not ASCII:
        # 20 -> 11 µs each). Tokens are separated by characters that are neither letters, digits
        # nor marks; case folding maps each character on its own, and mark removal and
        # recomposition never reach across such a separator, so no token grows, shrinks or joins
        # another. Property tests hold both equal.
        return _TOKEN.findall(normalise_text(text))
    # Tokens are found in the original text and then normalised, exactly as token_spans does, so the
    # index and the evaluator agree even on characters that NFKC expands (e.g. "㋀" -> "1月", a symbol
    # that is no token in the original and so none here either).
    return [part for match in _TOKEN.finditer(text) for part in _TOKEN.findall(normalise_text(match.group()))]


def token_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(token, start, end)`` with character offsets into the *original* ``text``.

    Offsets are found by tokenising the original text and normalising each token separately, which
    keeps them exact even when normalisation changes string length (``ﬁ`` -> ``fi``).
    """
    for match in _TOKEN.finditer(text):
        token = normalise_text(match.group())
        for part in _TOKEN.findall(token):
            yield part, match.start(), match.end()


def index_text(text: str) -> str:
    """Return the space-joined token string stored in the full-text index for ``text``."""
    return " ".join(tokenize(text))
