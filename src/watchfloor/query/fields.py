"""Field names, their aliases, and how each field's value is checked and normalised.

The parser, the evaluator and the store backends all need the same answer to "what does
``lang:EN-us`` or ``#Bogotá`` mean", so the rules live here once. Validation problems are raised as
:class:`ValueProblem` (offset relative to the value) and the parser turns them into a
``QuerySyntaxError`` with the column in the query.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

from watchfloor.query.ast import FieldName
from watchfloor.query.tokens import normalise_text, tokenize

PLATFORMS: tuple[str, ...] = (
    "bluesky", "mastodon", "twitter", "reddit", "youtube",
    "telegram", "tiktok", "facebook", "instagram", "rss",
)  # fmt: skip
_PLATFORM_ALIASES = {"x": "twitter"}

# Every key the parser accepts, mapped to its canonical field. "list" is the older account-list form of
# "from"; the parser also reads from:@name (a value starting with '@') as an account list.
FIELD_KEYS: dict[str, FieldName | None] = {
    "from": "from",
    "author": "from",
    "list": None,
    "platform": "platform",
    "lang": "lang",
    "language": "lang",
    "hashtag": "hashtag",
    "tag": "hashtag",
    "mention": "mention",
    "mentions": "mention",
    "domain": "domain",
    "site": "domain",
    "url": "url",
    "has": "has",
    "is": "is",
    "since": "since",
    "after": "since",
    "until": "until",
    "before": "until",
    "image": "image",
    "text": "text",
    "imagehash": "imagehash",
}

HAS_VALUES = {
    "media": "media",
    "image": "media",
    "video": "media",
    "links": "links",
    "link": "links",
    "geo": "geo",
}
IS_VALUES = {"reply": "reply", "repost": "repost", "retweet": "repost", "reblog": "repost", "boost": "repost",
             "quote": "quote"}  # fmt: skip

_LANG = re.compile(r"[a-z]{2,3}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_NO_ZONE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+")
# Characters allowed besides letters, digits and combining marks (Unicode categories L, N, M).
_HASHTAG_EXTRA = "_"
_HANDLE_EXTRA = "_.-@:"  # handles, Mastodon user@instance, Bluesky DIDs (did:plc:...)
_LIST_EXTRA = "_.-"
_HOST_EXTRA = "_-."


class ValueProblem(Exception):
    """A field value is not acceptable; ``offset`` is 0-based within the value."""

    def __init__(self, message: str, hint: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.offset = offset


def fold_handle(value: str) -> str:
    """Return an account handle, id or mention in the form every comparison uses (NFKC, casefold, no '@')."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return folded.removeprefix("@")


def fold_hashtag(value: str) -> str:
    """Return a hashtag as compared everywhere: the word normaliser's form, without '#'.

    Using :func:`normalise_text` (not a bare casefold) makes ``#Bogota`` find ``#Bogotá`` just as the
    word ``bogota`` finds "Bogotá". Stores must index hashtags through this function too.
    """
    return normalise_text(value.removeprefix("#"))


def parse_instant(value: str) -> datetime:
    """Return the aware UTC instant of a normalised ``since``/``until`` value (a date means 00:00 UTC)."""
    if _DATE.fullmatch(value):
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def normalise_value(name: FieldName, raw: str) -> str:
    """Check ``raw`` for field ``name`` and return its canonical form, or raise :class:`ValueProblem`."""
    if name == "from":
        return _handle(raw, what="an account handle or id")
    if name == "mention":
        return _handle(raw, what="a mention")
    if name == "hashtag":
        return _hashtag(raw)
    if name == "platform":
        value = raw.casefold()
        value = _PLATFORM_ALIASES.get(value, value)
        if value not in PLATFORMS:
            raise ValueProblem(f"Unknown platform '{raw}'", "Platforms are: " + ", ".join(PLATFORMS) + ".")
        return value
    if name == "lang":
        value = raw.casefold()
        if not _LANG.fullmatch(value):
            raise ValueProblem(
                f"'{raw}' is not a language code",
                "Use the two- or three-letter code (lang:en, lang:es, lang:fil); 'en' also finds en-US.",
            )
        return value
    if name == "domain":
        return _domain(raw)
    if name == "url":
        return _url(raw)
    if name in ("image", "text"):
        return _words(raw, name)
    if name == "imagehash":
        return _image_list(raw)
    if name == "has":
        return _choice(raw, HAS_VALUES, "has")
    if name == "is":
        return _choice(raw, IS_VALUES, "is")
    return _instant(raw)


def is_list_value(raw: str) -> bool:
    """Return whether a ``from:`` value names an account list (``from:@flood-desk``), not one account."""
    return unicodedata.normalize("NFKC", raw[:1]) == "@"


def normalise_list_name(raw: str) -> str:
    """Return the ``from`` value for account list name ``raw``: ``Flood-Desk`` -> ``@flood-desk``."""
    value = unicodedata.normalize("NFKC", raw).casefold()
    _require_chars(value, _LIST_EXTRA, "a list name", "List names contain letters, digits, '_', '.' and '-'.")
    return "@" + value


def _handle(raw: str, *, what: str) -> str:
    value = fold_handle(raw)
    offset = 1 if raw.startswith("@") else 0
    if not value:
        raise ValueProblem(f"Expected {what} after '@'", "Write the handle right after '@', e.g. @alice.")
    if value.startswith("@"):
        raise ValueProblem(
            f"{what.capitalize()} cannot start with '@@'",
            "Write one '@' at most; an account list is written from:@name (rules only).",
            offset,
        )
    hint = "Handles contain letters, digits, '_', '.', '-', '@' (user@instance) and ':' (DIDs)."
    _require_chars(value, _HANDLE_EXTRA, what, hint, offset)
    return value


def _hashtag(raw: str) -> str:
    value = raw.removeprefix("#")
    offset = len(raw) - len(value)
    _require_chars(
        value, _HASHTAG_EXTRA, "a hashtag", "Hashtags contain letters, digits and '_' only.", offset
    )
    return fold_hashtag(value)


def _domain(raw: str) -> str:
    value = unicodedata.normalize("NFKC", raw).casefold().rstrip(".")
    if "/" in value:
        raise ValueProblem(
            f"'{raw}' is not a host name",
            "domain: takes a host such as example.com; use url: to match part of an address.",
            value.index("/"),
        )
    value = value.removeprefix("www.")
    hint = "Write a host such as example.com or news.example.org."
    _require_chars(value, _HOST_EXTRA, "a host name", hint)
    if "" in value.split("."):
        raise ValueProblem(f"'{raw}' is not a host name", hint)
    return value


def _words(raw: str, key: str) -> str:
    """``image:``/``text:`` values: one word or a quoted phrase, as space-joined normalised tokens."""
    words = tokenize(raw)
    if not words:
        raise ValueProblem(
            f"'{raw}' has no letters or digits",
            f'Write a word or a quoted phrase: {key}:flood or {key}:"water rising".',
        )
    return " ".join(words)


def _image_list(raw: str) -> str:
    """``imagehash:~name``: the '~' says "near", the name is a known-image list's."""
    if not raw.startswith("~"):
        raise ValueProblem(
            f"'{raw}' is not a known-image list",
            "Write imagehash:~list-name (the '~' means within the match distance of an image in the list).",
        )
    name = unicodedata.normalize("NFKC", raw[1:]).casefold()
    hint = "List names contain letters, digits, '_', '.' and '-'."
    _require_chars(name, _LIST_EXTRA, "a list name", hint, 1)
    return "~" + name


def _url(raw: str) -> str:
    if not raw or any(ch.isspace() for ch in raw):
        raise ValueProblem("Expected part of a URL", "Write url:example.com/path with no spaces.")
    return unicodedata.normalize("NFKC", raw).casefold()


def _choice(raw: str, choices: dict[str, str], key: str) -> str:
    value = choices.get(raw.casefold())
    if value is None:
        accepted = ", ".join(f"{key}:{c}" for c in choices)
        raise ValueProblem(f"Unknown value '{raw}' for {key}:", f"Use one of {accepted}.")
    return value


def _instant(raw: str) -> str:
    hint = "Write a date as YYYY-MM-DD or a time as 2012-10-29T14:00:00Z (with Z or an offset like +02:00)."
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueProblem(f"'{raw}' is not a real date", hint) from None
    if _DATETIME.fullmatch(raw):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueProblem(f"'{raw}' is not a real date and time", hint) from None
        return moment.astimezone(UTC).isoformat()
    if _NO_ZONE.fullmatch(raw):
        raise ValueProblem(f"'{raw}' has no time zone", "Add Z for UTC or an offset such as +02:00.")
    raise ValueProblem(f"'{raw}' is not a date", hint)


def _require_chars(value: str, extra: str, what: str, hint: str, offset: int = 0) -> None:
    """Raise unless ``value`` is non-empty and made of letters, digits, marks and ``extra`` characters."""
    if not value:
        raise ValueProblem(f"Expected {what}", hint, offset)
    for index, char in enumerate(value):
        if char not in extra and unicodedata.category(char)[0] not in "LNM":
            raise ValueProblem(f"'{char}' is not allowed in {what}", hint, offset + index)
