"""Text normalisation: one Unicode spelling, no control characters, nothing else changed."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from tests.pipeline.posts import make_post
from watchfloor.pipeline.normalise import clean_text, normalise_post

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_text_title_and_author_name_become_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Bogotá café")
    out = normalise_post(make_post(decomposed, title=decomposed, author_name=decomposed), now=NOW)
    assert out.text == out.title == out.author_name == "Bogotá café"


def test_case_and_compatibility_characters_are_kept() -> None:
    text = "ＦＵＬＬ width ﬁne ALL CAPS"
    assert normalise_post(make_post(text), now=NOW).text == text


def test_control_characters_go_but_newlines_and_tabs_stay() -> None:
    assert clean_text("a\x00b\x07c\td\ne\x1bf\x7fg") == "abc\td\nefg"
    assert clean_text("one\r\ntwo\rthree") == "one\ntwo\nthree"
    assert clean_text("broken \ud83d escape") == "broken \ufffd escape"
    assert clean_text("two  spaces\n\n\nkept") == "two  spaces\n\n\nkept"


def test_empty_text_is_absent() -> None:
    assert normalise_post(make_post("\x00\x01"), now=NOW).text is None
    assert normalise_post(make_post("", title=""), now=NOW).title is None


def test_collected_at_is_filled_only_when_missing() -> None:
    assert normalise_post(make_post("x"), now=NOW).collected_at == NOW
    earlier = datetime(2026, 11, 1, tzinfo=UTC)
    assert normalise_post(make_post("x", collected_at=earlier), now=NOW).collected_at == earlier


def test_hashtags_and_mentions_lose_case_insensitive_duplicates() -> None:
    out = normalise_post(
        make_post("x", hashtags=("Flood", "flood", "FLOOD", "Storm"), mentions=("Bob", "bob")), now=NOW
    )
    assert out.hashtags == ("Flood", "Storm")
    assert out.mentions == ("Bob",)


def test_a_normalised_post_comes_back_as_the_same_object() -> None:
    once = normalise_post(make_post("fine text", hashtags=("a", "b")), now=NOW)
    assert normalise_post(once, now=NOW) is once
