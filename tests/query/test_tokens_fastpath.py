"""The ASCII fast path of the shared tokeniser agrees with the Unicode rules it shortcuts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watchfloor.query import tokens


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_fast_path_equals_the_unicode_tokeniser(text: str) -> None:
    assert tokens.tokenize(text) == tokens._TOKEN.findall(tokens.normalise_text(text))
    assert tokens.tokenize(text) == [t for t, _, _ in tokens.token_spans(text)]


@given(st.text(max_size=80))
def test_tokenize_is_idempotent_and_agrees_with_token_spans(text: str) -> None:
    once = tokens.tokenize(text)
    assert tokens.tokenize(" ".join(once)) == once
    assert [t for t, _, _ in tokens.token_spans(text)] == once
