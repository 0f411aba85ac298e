"""Language identification: offline, batched, and silent when unsure."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from tests.pipeline.posts import make_post
from watchfloor.pipeline import language
from watchfloor.pipeline.language import detect_batch, detect_languages, detection_input, to_iso


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    language.clear_cache()
    yield
    language.clear_cache()


SENTENCES = {
    "en": "The council has closed the bridge until engineers finish checking the damage from the storm.",
    "es": "El ayuntamiento ha cerrado el puente hasta que los ingenieros revisen los daños de la tormenta.",
    "ar": "أغلقت البلدية الجسر حتى ينتهي المهندسون من فحص الأضرار الناجمة عن العاصفة.",
    "de": "Die Stadt hat die Brücke gesperrt, bis Ingenieure die Sturmschäden geprüft haben.",
}


def test_clear_sentences_are_detected_in_one_batch() -> None:
    codes = list(SENTENCES)
    assert detect_languages([SENTENCES[c] for c in codes]) == codes


def test_urls_mentions_hashtags_and_shouting_do_not_decide() -> None:
    text = "@BBCBreaking #breaking https://t.co/abc DIE STADT HAT DIE BRÜCKE GESPERRT, BIS INGENIEURE PRÜFEN"
    assert detect_languages([text]) == ["de"]


def test_posts_get_detected_language_with_its_source() -> None:
    [out] = detect_batch([make_post(SENTENCES["es"])])
    assert out.langs == ("es",)
    assert out.lang_source == "detected"


def test_platform_languages_are_kept_and_marked() -> None:
    [out] = detect_batch([make_post(SENTENCES["es"], langs=("pt",))])  # even when it looks wrong
    assert out.langs == ("pt",)
    assert out.lang_source == "platform"


def test_a_prepared_post_is_left_alone() -> None:
    post = make_post(SENTENCES["en"], langs=("en",), lang_source="detected")
    assert detect_batch([post])[0] is post


@pytest.mark.parametrize("text", ["ok", "👍🔥", "@someone https://t.co/x #tag", "12345 678", "", "a b"])
def test_too_little_text_gets_no_language_not_und(text: str) -> None:
    [out] = detect_batch([make_post(text or None)])
    assert out.langs == ()
    assert out.lang_source is None


def test_detection_input_is_one_line_without_hashtags() -> None:
    line = detection_input("Line one\nLine TWO #Tag")
    assert line == "line one line two  \n"
    assert detection_input("#only #tags") is None


def test_detection_input_is_cut_at_a_word_boundary() -> None:
    line = detection_input("word " * 100)
    assert line is not None
    assert len(line) <= language.MAX_CHARS + 1
    assert line.rstrip("\n").endswith("word")


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("__label__en", "en"),
        ("__label__arz", "ar"),
        ("__label__yue", "zh"),
        ("__label__als", "gsw"),
        ("ceb", "ceb"),
    ],
)
def test_labels_map_to_stored_codes(label: str, code: str) -> None:
    assert to_iso(label) == code


def test_lone_surrogates_do_not_crash_detection() -> None:
    assert detect_languages(["The council closed the bridge after the storm \ud800 damaged it badly."]) == [
        "en"
    ]


def test_repeated_texts_are_answered_identically() -> None:
    texts = [SENTENCES["en"], SENTENCES["de"], SENTENCES["en"]]
    first = detect_languages(texts)
    assert first == ["en", "de", "en"]
    assert detect_languages(texts) == first  # second time from memory, same answers


def test_model_loads_and_detects_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    language._model.cache_clear()  # force a fresh load under the ban
    try:
        assert detect_languages([SENTENCES["en"]]) == ["en"]
        assert language.model_path().name == "lid.176.ftz"
    finally:
        language._model.cache_clear()
