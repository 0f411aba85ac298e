"""The fast paths of the shared tokeniser (ASCII text; text NFKC leaves as it is) agree with the
per-token Unicode rules they shortcut."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
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


def _per_token(text: str) -> list[str]:
    """The reference rule: find tokens in the original text, then normalise each one on its own."""
    return [t for t, _, _ in tokens.token_spans(text)]


# Letters with stacked or spacing diacritics, scripts whose marks are kept, case folding that grows
# a word, combining marks after separators, Hangul syllables and jamo, a private-use character.
_HARD = "aAİıßẞσςΣéèêǅᾈ\u0301\u0308\u0323\u093f\u0902\u064e\u0651 -_.,'’#@\u200d\ue000가각각ÅΩﬁ①"


@settings(max_examples=2000)
@given(st.text(alphabet=st.sampled_from(_HARD) | st.characters(), max_size=60))
def test_normalised_text_fast_path_equals_the_per_token_rule(text: str) -> None:
    assume(not text.isascii() and unicodedata.is_normalized("NFKC", text))
    assert tokens.tokenize(text) == _per_token(text)


@pytest.mark.parametrize(
    "text",
    [
        "Bogotá İstanbul STRASSE straße ΣΟΦΟΣ σοφός",
        "Việt Nam ở đâu? hiểu rồi",
        "क\u093fत\u093eब\u0947\u0902 पढ\u093c\u094b, ह\u093f\u0902द\u0940",
        "م\u064fح\u064eم\u064e\u0651د قال",
        "한국어 텍스트, 각",
        "Путин и Трамп, #выборы2016",
        "x\u0301y \u0301z",  # a mark after a separator starts no token
        "emoji 👍🏽 and ZWJ 👨\u200d👩",
        "㋀ meeting, Ⓐbc",  # NFKC makes tokens of symbols ("1月", "A"): not of the original text
    ],
)
def test_real_scripts_tokenise_as_the_per_token_rule(text: str) -> None:
    assert tokens.tokenize(text) == _per_token(text)
