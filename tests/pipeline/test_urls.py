"""URL finding and normalisation: what an analyst pivoting on a link would notice if it were wrong."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchfloor.pipeline.urls import _trim, find_urls, normalise_url


def urls_in(text: str) -> list[str]:
    return [url for _, _, url in find_urls(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("read https://example.com/a.", ["https://example.com/a"]),
        ("(see https://example.com/a)", ["https://example.com/a"]),
        ("wow https://example.com/a?!", ["https://example.com/a"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar)).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("“https://example.com/x”", ["https://example.com/x"]),
        ("truncated https://t.co/abc…", ["https://t.co/abc"]),
        ("bare www.bbc.co.uk/news, then", ["http://www.bbc.co.uk/news"]),
        ("HTTPS://EXAMPLE.COM/A", ["HTTPS://EXAMPLE.COM/A"]),
        ("two: http://a.example/x https://b.example/y", ["http://a.example/x", "https://b.example/y"]),
        ("no host: http:// and www.foo and http://localhost", []),
        ("glued xhttps://example.com is not a link", []),
        ("www.: and https://. and www..", []),
    ],
)
def test_find_urls_trims_punctuation_and_skips_non_hosts(text: str, expected: list[str]) -> None:
    assert urls_in(text) == expected


def test_find_urls_reports_spans_in_the_original_text() -> None:
    text = "see https://example.com/a, ok"
    [(start, end, _)] = find_urls(text)
    assert text[start:end] == "https://example.com/a"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),  # path case is the server's business
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:0443/a", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=tw&utm_medium=social&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
        ("https://example.com/a?fbclid=IwAR0&gclid=1&igshid=2", "https://example.com/a"),
        ("https://youtu.be/dQw4w9WgXcQ?si=AbC&t=42", "https://youtu.be/dQw4w9WgXcQ?t=42"),
        ("https://www.youtube.com/watch?v=x&si=AbC", "https://www.youtube.com/watch?v=x"),
        ("https://example.com/search?si=keep", "https://example.com/search?si=keep"),  # si elsewhere is data
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),  # order kept
        ("https://example.com/a%2Fb?q=a%20b", "https://example.com/a%2Fb?q=a%20b"),  # escapes untouched
        ("https://bücher.de/katalog", "https://xn--bcher-kva.de/katalog"),
        ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
        ("https://xn--bcher-kva.de/", "https://xn--bcher-kva.de/"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("https://user@Example.com/", "https://user@example.com/"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("not a url", "not a url"),
        ("http://example.com:notaport/", "http://example.com:notaport/"),  # unparseable: as given
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


_hosts = st.from_regex(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?(?:\.[A-Za-z]{2,6}){1,2}", fullmatch=True
)
_urls = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    _hosts | st.sampled_from(["bücher.de", "例え.jp", "ÉCOLE.fr"]),
    st.sampled_from(["", ":80", ":443", ":8080", ":0080"]),
    st.from_regex(r"(/[A-Za-z0-9._~%-]{0,8}){0,3}", fullmatch=True),
    st.lists(
        st.sampled_from(["utm_source=x", "id=1", "si=2", "fbclid=3", "q=a+b", "", "UTM_TERM=y", "x"]),
        max_size=4,
    ).map(lambda ps: ("?" + "&".join(ps)) if ps else ""),
    st.sampled_from(["", "#top", "#"]),
)


@settings(max_examples=300, deadline=None)
@given(_urls)
def test_normalisation_is_idempotent_and_drops_what_it_promises(url: str) -> None:
    once = normalise_url(url)
    assert normalise_url(once) == once
    parts = urlsplit(once)
    assert "#" not in once
    assert parts.scheme in {"http", "https"}
    assert parts.netloc == parts.netloc.lower()
    assert parts.netloc.isascii()
    names = [p.split("=", 1)[0].lower() for p in parts.query.split("&") if p]
    assert not any(n.startswith("utm_") or n == "fbclid" for n in names)
    assert (parts.scheme, parts.port) not in {("http", 80), ("https", 443)}


_fragments = st.lists(
    st.sampled_from(
        [*"hts:/.wWaX?&=#@%[]0123456789-_~ üß()é+", "http://", "https://", "www.", "utm_", ".com"]
    ),
    max_size=25,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_fragments | st.text(max_size=40))
def test_any_text_is_handled_and_normalisation_is_stable(text: str) -> None:
    assert normalise_url(normalise_url(text)) == normalise_url(text)
    for _, _, url in find_urls(text):
        once = normalise_url(url)
        assert normalise_url(once) == once


# The straightforward definition find_urls implements with str.find for speed: one regex with a
# look-behind, scanned over every position.
_REFERENCE = re.compile(
    r"(?<![\w@/.:-])(?:[hH][tT][tT][pP][sS]?://|www\.|WWW\.|Www\.)[^\s<>\"'`{}|\\^\u2026\u00bb\u201d\u3002]+"
)


@settings(max_examples=500, deadline=None)
@given(_fragments)
def test_find_urls_agrees_with_the_single_regex_definition(text: str) -> None:
    expected = []
    for match in _REFERENCE.finditer(text):
        url = _trim(match.group())
        head = url[:8].lower()
        bare = head.startswith("www.")
        if not bare and not head.startswith(("http://", "https://")):
            continue
        host = (url[4:] if bare else url.split("//", 1)[1]).split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if "." in host or host.startswith("["):
            expected.append((match.start(), match.start() + len(url), "http://" + url if bare else url))
    assert find_urls(text) == expected
