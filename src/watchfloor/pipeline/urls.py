"""Find URLs in post text and put every URL in one canonical form.

Two posts that link the same page should carry the same string, so that rules, search and the
"who shared this link" views agree; the same URL shared with and without ``?utm_source=…`` is one
link, not two. The normaliser is deliberately small and conservative: it only makes changes that
cannot point the URL at a different resource on any reasonable server.

What ``normalise_url`` does:

* lowercases the scheme and the host, removes a trailing dot from the host;
* converts an internationalised host to its ASCII (punycode) form with Python's ``idna`` codec
  (IDNA 2003: ``ß`` becomes ``ss``), because the ASCII form is what DNS resolves and it makes
  look-alike hosts (Cyrillic ``а`` in ``аpple.com``) visible to an analyst;
* removes the default port (``:80`` for http, ``:443`` for https) and leading zeros of other ports;
* gives an empty http(s) path its ``/``;
* drops the fragment (``#…``): it is never sent to the server;
* drops well-known tracking parameters: ``utm_*``, ``fbclid``, ``gclid``, ``dclid``, ``gbraid``,
  ``wbraid``, ``msclkid``, ``twclid``, ``ttclid``, ``yclid``, ``igshid``, ``mc_cid``, ``mc_eid``, and
  ``si`` on YouTube and Spotify hosts only (elsewhere ``si`` can be a real parameter).

What it does not do (each would need knowledge of the server or would be wrong somewhere):
it does not follow redirects or expand shorteners (``t.co``, ``bit.ly``); does not upgrade http to
https or strip ``www.``; does not re-encode, decode or case-normalise percent-escapes; does not remove
dot-segments or trailing slashes; does not sort or deduplicate the remaining query parameters; keeps
user-info; leaves URLs it cannot parse exactly as given.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit

_DEFAULT_PORT = {"http": "80", "https": "443"}
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "twclid",
        "ttclid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
    }
)
# ``si`` is a share-tracking id on these hosts; on other hosts it may carry meaning.
_SI_HOSTS = ("youtube.com", "youtu.be", "spotify.com")
_SI_SUFFIXES = tuple("." + h for h in _SI_HOSTS)

# A URL runs from its scheme or ``www.`` to whitespace or a character that cannot appear unescaped
# in a URL; trailing punctuation is trimmed afterwards. Where URLs may start is found with str.find
# (``"://"``, ``"www."``), which is ~10× cheaper than letting the regex scan every position.
_URL_BODY = re.compile(r"(?:https?://|www\.)[^\s<>\"'`{}|\\^\u2026\u00bb\u201d\u3002]+", re.I)
_WWW = ("www.", "WWW.", "Www.")
_GLUE = frozenset("_@/.:-")  # with letters and digits: a URL glued to these is part of something else
_TRAILING = frozenset(".,!?;:'\"*\u2019\u201d\u00bb\u2026\u3001\u3002\uff0c\uff01\uff1f")
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim(candidate: str) -> str:
    """Strip sentence punctuation glued to the end of a URL, keeping balanced closing brackets.

    ``(see https://en.wikipedia.org/wiki/Foo_(bar)).`` keeps the ``)`` of ``Foo_(bar)`` and drops
    the outer ``).``.
    """
    end = len(candidate)
    while end:
        char = candidate[end - 1]
        if char in _TRAILING:
            end -= 1
            continue
        opener = _CLOSERS.get(char)
        if opener is not None and candidate.count(opener, 0, end) < candidate.count(char, 0, end):
            end -= 1
            continue
        break
    return candidate[:end]


def _candidate_starts(text: str) -> list[int]:
    """Offsets where a URL may start: the scheme before each ``://`` and each ``www.``, ascending."""
    starts: list[int] = []
    at = text.find("://")
    while at != -1:
        if at >= 5 and text[at - 5 : at].lower() == "https":
            starts.append(at - 5)
        elif at >= 4 and text[at - 4 : at].lower() == "http":
            starts.append(at - 4)
        at = text.find("://", at + 3)
    if "ww." in text or "WW." in text:
        for marker in _WWW:
            at = text.find(marker)
            while at != -1:
                starts.append(at)
                at = text.find(marker, at + 4)
        starts.sort()  # positions from different markers never coincide
    return starts


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, url)`` for each URL written in ``text``, url as written (not normalised).

    A URL starts with ``http://`` or ``https://`` (any case) or a bare ``www.`` (in the three usual
    casings ``www.``, ``WWW.``, ``Www.``), not glued to a preceding letter, digit or ``_@/.:-``.
    Bare ``www.`` forms are returned with ``http://`` prepended, the scheme linkifiers assume.
    """
    if "://" not in text and "www." not in text and "WWW." not in text and "Www." not in text:
        return []  # the usual case, settled by four substring tests
    found: list[tuple[int, int, str]] = []
    covered = 0  # end of the last candidate: a "www." inside "http://www…" is not a second URL
    for start in _candidate_starts(text):
        if start < covered:
            continue
        if start and (text[start - 1].isalnum() or text[start - 1] in _GLUE):
            continue
        match = _URL_BODY.match(text, start)
        if match is None:
            continue
        covered = match.end()
        url = _trim(match.group())
        head = url[:8].lower()
        bare = head.startswith("www.")
        if not bare and not head.startswith(("http://", "https://")):
            continue  # trimming ate into the prefix ("www.:" -> "www")
        rest = url[4:] if bare else url.split("//", 1)[1]
        host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if "." not in host and not host.startswith("["):
            continue  # "www.foo" or "http://foo": a word, not a public host
        found.append((start, start + len(url), "http://" + url if bare else url))
    return found


def _canonical_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        # Labels longer than 63 characters, or characters IDNA 2003 prohibits: keep the Unicode form.
        return host


def _is_tracking(name: str, host: str) -> bool:
    key = unquote_plus(name).lower()
    if key.startswith("utm_") or key in _TRACKING:
        return True
    return key == "si" and (host in _SI_HOSTS or host.endswith(_SI_SUFFIXES))


def split_normalised(url: str) -> tuple[str, str | None]:
    """Return ``(normalised_url, host)``; ``host`` is None when the URL could not be parsed.

    The host is returned separately because selectors needs it for the registrable domain and
    parsing twice would double the cost.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return url, None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: [::1]:8080
        close = hostport.find("]")
        if close == -1:
            return url, None
        host, port = hostport[: close + 1].lower(), hostport[close + 1 :]
        if port and not port.startswith(":"):
            return url, None
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
        host = _canonical_host(host)
    if port:
        if not port.isdigit() or not port.isascii():
            return url, None
        port = str(int(port))
        if _DEFAULT_PORT.get(scheme) == port:
            port = ""
    if not host:
        return url, None
    netloc = f"{userinfo}{at}{host}{':' + port if port else ''}"
    path = parts.path or ("/" if scheme in _DEFAULT_PORT else "")
    query = parts.query
    if query:
        plain_host = host.strip("[]")
        query = "&".join(
            p for p in query.split("&") if p and not _is_tracking(p.split("=", 1)[0], plain_host)
        )
    normalised = f"{scheme}://{netloc}{path}{'?' + query if query else ''}"
    return normalised, host.strip("[]")


def normalise_url(url: str) -> str:
    """Return ``url`` in canonical form (see the module docstring); unparseable URLs come back as given."""
    return split_normalised(url)[0]
