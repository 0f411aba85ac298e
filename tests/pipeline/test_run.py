"""prepare_batch: the composed pipeline is ordered, traceable and idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pipeline.posts import make_post
from watchfloor.domain.post import Post, Prepared
from watchfloor.pipeline import prepare_batch
from watchfloor.query.tokens import index_text

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_posts_come_back_enriched_in_input_order_with_provenance() -> None:
    posts = [
        make_post(
            "Evacuation ordered for the river district tonight: https://Example.com/a?utm_source=x #Flood",
            native_id="a",
        ),
        make_post("ok", native_id="b", langs=("en",)),
        make_post(None, native_id="c"),
    ]
    out = prepare_batch(posts, now=NOW)
    assert [p.post.native_id for p in out] == ["a", "b", "c"]
    first = out[0]
    assert isinstance(first, Prepared)
    assert first.post.urls == ("https://example.com/a",)
    assert first.post.domains == ("example.com",)
    assert first.post.hashtags == ("Flood",)
    assert first.post.langs == ("en",)
    assert first.post.collected_at == NOW
    assert len(first.content_hash) == 16
    assert first.band_keys
    assert first.enrichers == ("normalise@1", "selectors@1", "language@1", "dedup@2")
    assert out[1].post.lang_source == "platform"
    assert out[1].band_keys == ()  # too short for near-duplicates
    assert out[2].content_hash == b""
    assert out[2].enrichers == ("normalise@1",)  # only collected_at was filled


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        prepare_batch([make_post("x")], now=datetime(2026, 11, 30))  # naive: the point of the test


def test_empty_batch() -> None:
    assert prepare_batch([], now=NOW) == []


_pieces = st.sampled_from(
    [
        "storm", "Bridge", "closed", "río", "Bogota\u0301", "puente", "cerrado", "الجسر", "مغلق", "Brücke",
        "gesperrt", "the", "and", "@Alice", "@bob.bsky.social", "#Flood", "#flood", "https://Example.com/x?utm_source=a",
        "www.bbc.co.uk/news.", "Tips@Example.org", "+44 20 7946 0958", "\x00", "\r\n", "\t", "!!!", "😂", "(",
        ")", "ＦＵＬＬ",
    ]
)  # fmt: skip
_texts = st.lists(_pieces, max_size=30).map(" ".join) | st.none()


@st.composite
def _posts(draw: st.DrawFn) -> Post:
    return make_post(
        draw(_texts),
        native_id=str(draw(st.integers(0, 10**6))),
        title=draw(st.none() | _texts),
        langs=draw(st.sampled_from([(), ("es",)])),
        urls=draw(st.sampled_from([(), ("HTTPS://t.co/Abc#x",)])),
        hashtags=draw(st.sampled_from([(), ("Tag", "tag")])),
        collected_at=draw(st.sampled_from([None, datetime(2026, 11, 1, tzinfo=UTC)])),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_posts(), min_size=1, max_size=8))
def test_prepare_is_deterministic_and_idempotent(posts: list[Post]) -> None:
    first = prepare_batch(posts, now=NOW)
    assert prepare_batch(posts, now=NOW) == first
    again = prepare_batch([p.post for p in first], now=NOW)
    for before, after in zip(first, again, strict=True):
        assert after.post == before.post
        assert after.content_hash == before.content_hash
        assert after.band_keys == before.band_keys
        assert set(after.enrichers) <= {"dedup@2"}  # nothing left to change but the keys it derives


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_posts(), min_size=1, max_size=8), st.none() | _texts)
def test_index_text_is_what_the_store_would_tokenise(posts: list[Post], image_text: str | None) -> None:
    # The store indexes Prepared.index_text instead of re-tokenising the post, and removes a post from
    # the index by tokenising its stored text: the two must be equal or the removal leaves tokens behind.
    posts = [*posts, msgspec.structs.replace(posts[0], native_id="with-image-text", image_text=image_text)]
    for item in prepare_batch(posts, now=NOW):
        assert item.index_text == index_text(item.post.searchable_text())
