"""Selector extraction: the fields analysts pivot on (links, domains, tags, handles, addresses, numbers)."""

from __future__ import annotations

import socket
from typing import Any, NoReturn

import pytest
import tldextract

from tests.pipeline.posts import make_post
from watchfloor.pipeline import selectors
from watchfloor.pipeline.selectors import extract_selectors, find_emails, find_mentions, registrable_domain


def test_urls_are_found_normalised_and_merged_after_the_platforms() -> None:
    post = make_post(
        "Read this (https://Example.com/story?utm_source=tw#comments). Also www.bbc.co.uk/news!",
        urls=("https://t.co/xyz", "https://example.com/story"),
    )
    out = extract_selectors(post)
    assert out.urls == ("https://t.co/xyz", "https://example.com/story", "http://www.bbc.co.uk/news")
    assert out.domains == ("t.co", "example.com", "bbc.co.uk")


def test_urls_in_the_title_count_too() -> None:
    out = extract_selectors(make_post("body", title="Source: https://news.example.org/a"))
    assert out.urls == ("https://news.example.org/a",)
    assert out.domains == ("example.org",)


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("forums.news.bbc.co.uk", "bbc.co.uk"),
        ("www.example.com", "example.com"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("someone.blogspot.com", "someone.blogspot.com"),  # private suffix: the blog is the owner
        ("192.168.1.1", None),
        ("localhost", None),
    ],
)
def test_registrable_domain(host: str, domain: str | None) -> None:
    assert registrable_domain(host) == domain


def test_suffix_list_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # A fresh extractor built exactly as the module builds it must answer from the bundled snapshot.
    fresh = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    assert fresh.extract_str("forums.news.bbc.co.uk").top_domain_under_public_suffix == "bbc.co.uk"
    assert selectors._TLD.extract_str("a.b.example.co.jp").top_domain_under_public_suffix == "example.co.jp"


def test_hashtags_and_mentions_are_taken_from_text_when_the_platform_gave_none() -> None:
    out = extract_selectors(
        make_post("RT @Alice: #Flood in #Bogotá, #flood again #2024 &#39;s @bob.bsky.social")
    )
    assert out.hashtags == ("Flood", "Bogotá")  # case-insensitive duplicate and digits-only dropped
    assert out.mentions == ("Alice", "bob.bsky.social")


def test_platform_hashtags_and_mentions_are_authoritative() -> None:
    out = extract_selectors(make_post("#other @someone", hashtags=("given",), mentions=("given_user",)))
    assert out.hashtags == ("given",)
    assert out.mentions == ("given_user",)


def test_hashtags_keep_combining_marks() -> None:
    out = extract_selectors(make_post("आज #हिन्दी दिवस है"))
    assert out.hashtags == ("हिन्दी",)


def test_fragments_and_query_strings_inside_links_are_not_selectors() -> None:
    out = extract_selectors(make_post("see https://example.com/page?contact=a@b.example.org#section"))
    assert out.hashtags == ()
    assert out.emails == ()


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("mail john.doe@example.com now", []),
        ("@alice and @bob.", ["alice", "bob"]),
        ("cc @user@mastodon.social please", ["user@mastodon.social"]),
        ("price 10@5 each", []),
        ("(@carol)", ["carol"]),
    ],
)
def test_mentions_do_not_grab_email_addresses(text: str, mentions: list[str]) -> None:
    assert find_mentions(text) == mentions


@pytest.mark.parametrize(
    ("text", "emails"),
    [
        ("Write to John.Doe@Example.COM.", ["john.doe@example.com"]),
        ("a+tag@mail.example.co.uk, b@c.de", ["a+tag@mail.example.co.uk", "b@c.de"]),
        ("@user@mastodon.social is a handle", []),
        ("no domain a@b", []),
    ],
)
def test_emails(text: str, emails: list[str]) -> None:
    assert find_emails(text) == emails


def test_emails_merge_with_the_platforms_lowercased() -> None:
    out = extract_selectors(make_post("contact Press@Example.org", emails=("tips@example.org",)))
    assert out.emails == ("tips@example.org", "press@example.org")


def test_international_phone_numbers_become_e164() -> None:
    out = extract_selectors(make_post("Call +44 20 7946 0958 or +1 (415) 555-2671 today"))
    assert out.phones == ("+442079460958", "+14155552671")


def test_national_format_numbers_are_not_guessed() -> None:
    # Without a "+" the country is unknown; guessing it from language or place is wrong too often.
    assert extract_selectors(make_post("Call 020 7946 0958 or (415) 555-2671")).phones == ()


def test_plus_without_a_number_does_not_match() -> None:
    assert extract_selectors(make_post("+1 to this, and 2+2=4")).phones == ()


def test_unchanged_post_is_returned_as_is() -> None:
    post = make_post("nothing to extract here")
    assert extract_selectors(post) is post
    assert extract_selectors(make_post(None)) == make_post(None)
