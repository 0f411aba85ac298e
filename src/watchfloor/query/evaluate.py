"""Decide exactly whether one post matches a query AST, and which parts of its text made it match.

This is the reference meaning of the language. Backends use it as a post-filter where SQL can only
approximate (PostgreSQL has no "within n words"), the rule matcher runs it on candidate rules, and
property tests use it as the oracle. It is pure: build a :class:`Document` once per post, then call
:func:`matches` or :func:`match_spans` for as many queries as needed.

Semantics, in the shared tokens of :mod:`watchfloor.query.tokens`:

- ``Term("flood")`` matches a token equal to ``flood``; with ``prefix=True`` any token starting with it.
- ``Phrase`` matches consecutive tokens in order; ``last_prefix`` makes the last one a prefix.
- ``Near(a, b, n)`` matches when some occurrence of ``a`` and some occurrence of ``b`` that do not
  overlap have fewer than ``n`` tokens *between* them. So for "water is rising fast":
  ``water NEAR/1 is`` (adjacent), ``water NEAR/2 rising`` (one token between), but not
  ``water NEAR/2 fast`` (two between; NEAR/3 matches). ``ordered=True`` also needs ``a`` first.
  The two sides need their own tokens: ``flood NEAR/5 flood`` needs "flood" twice.
- ``Regex`` is an RE2 search over the *original* text (title and text joined by a newline), not the
  tokens: case-insensitive unless the pattern starts with ``(?-i)``, but accents are not folded, so
  ``/bogota/`` does not find "Bogotá" (the word ``bogota`` does).
- Text read from the post's images (``Post.image_text``) is part of the searched text, after the
  title and text: plain words match it too. ``image:word`` (or ``image:"two words"``) asks for the
  words in the image text only, ``text:word`` in the post's own title and text only.
- ``imagehash:~name`` holds when one of the post's image hashes is within the match distance of one
  in known-image list ``name`` (``lists["~name"]``: "pdq:<hex>" / "phash:<hex>" values); distances
  are :data:`watchfloor.domain.media.PDQ_MATCH_DISTANCE` and ``PHASH_MATCH_DISTANCE``.
- ``since`` is inclusive and ``until`` exclusive; a bare date means 00:00 UTC on that day, so
  ``since:2012-10-29 until:2012-10-30`` is all of 29 October (UTC).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from watchfloor.domain.errors import NotFound
from watchfloor.domain.media import hashes_near
from watchfloor.domain.post import Post
from watchfloor.query.ast import And, Field, MatchAll, Near, Node, Not, Or, Phrase, Regex, Term
from watchfloor.query.fields import fold_handle, fold_hashtag, parse_instant
from watchfloor.query.regexes import compile_regex
from watchfloor.query.tokens import token_spans

AccountLists = Mapping[str, Collection[str]]
"""Account list name (without '@') -> folded handles and ids of its members (see ``fields.fold_handle``)."""

_Occurrence = tuple[int, int]  # token range [start, end)


@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """A post prepared for matching: its tokens with their character spans, and folded field values."""

    text: str
    tokens: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # character span in ``text`` of each token
    positions: Mapping[str, tuple[int, ...]]  # token -> ascending token positions
    vocabulary: tuple[str, ...]  # sorted distinct tokens, for prefix look-up
    platform: str
    authors: frozenset[str]  # folded handle (no '@') and id
    langs: frozenset[str]  # primary subtags: "en-US" -> "en"
    hashtags: frozenset[str]
    mentions: frozenset[str]
    hosts: frozenset[str]  # registrable domains and URL hosts
    urls: tuple[str, ...]  # folded
    has: frozenset[str]  # subset of {"media", "links", "geo"}
    kinds: frozenset[str]  # subset of {"reply", "repost", "quote"}
    created_at: datetime
    own_words: str = ""  # " tok tok ... ": the title and text tokens (text:)
    image_words: str = ""  # " tok tok ... ": the image-text tokens (image:)
    image_hashes: tuple[str, ...] = ()

    @classmethod
    def from_post(cls, post: Post) -> Document:
        """Tokenise ``post.searchable_text()`` once and fold every field a query can ask about."""
        text = post.searchable_text()
        tokens: list[str] = []
        spans: list[tuple[int, int]] = []
        positions: dict[str, list[int]] = {}
        for index, (token, start, end) in enumerate(token_spans(text)):
            tokens.append(token)
            spans.append((start, end))
            positions.setdefault(token, []).append(index)
        authors = {fold_handle(v) for v in (post.author_handle, post.author_id) if v}
        has = {name for name, flag in (("media", post.has_media), ("links", post.has_links)) if flag}
        if post.geo is not None:
            has.add("geo")
        kinds = {
            name
            for name, flag in (("reply", post.is_reply), ("repost", post.is_repost), ("quote", post.is_quote))
            if flag
        }
        own_words, image_words = scoped_words(post, tokens, spans)
        return cls(
            text=text,
            tokens=tuple(tokens),
            spans=tuple(spans),
            positions={token: tuple(found) for token, found in positions.items()},
            vocabulary=tuple(sorted(positions)),
            platform=post.platform.casefold(),
            authors=frozenset(authors),
            langs=frozenset(re.split(r"[-_]", lang)[0].casefold() for lang in post.langs),
            hashtags=frozenset(fold_hashtag(tag) for tag in post.hashtags),
            mentions=frozenset(fold_handle(handle) for handle in post.mentions),
            hosts=frozenset(_hosts(post)),
            urls=tuple(_fold(url) for url in post.urls),
            has=frozenset(has),
            kinds=frozenset(kinds),
            created_at=post.created_at,
            own_words=own_words,
            image_words=image_words,
            image_hashes=post.image_hashes,
        )


def scoped_words(post: Post, tokens: Sequence[str], spans: Sequence[tuple[int, int]]) -> tuple[str, str]:
    """``(" own tokens ", " image tokens ")`` of ``post.searchable_text()``'s tokens and spans.

    Image text comes last in ``searchable_text()``: tokens starting past the own text are image words.
    """
    if not post.image_text:
        return " " + " ".join(tokens) + " ", " "
    own_count = bisect.bisect_left([start for start, _ in spans], len(post.own_text()))
    return " " + " ".join(tokens[:own_count]) + " ", " " + " ".join(tokens[own_count:]) + " "


def matches(node: Node, doc: Document, *, lists: AccountLists | None = None) -> bool:
    """Return whether ``doc`` matches ``node``.

    ``lists`` resolves account lists (``Field("from", "@name")``, rules only); a list the query names
    but ``lists`` lacks raises :class:`NotFound` rather than silently matching nothing.
    """
    if isinstance(node, Term | Phrase):
        return next(_occurrences(node, doc), None) is not None
    if isinstance(node, And):
        return all(matches(child, doc, lists=lists) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, doc, lists=lists) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, doc, lists=lists)
    if isinstance(node, Near):
        return bool(_near_occurrences(node, doc, first_only=True))
    if isinstance(node, Regex):
        return compile_regex(node.pattern).search(doc.text) is not None
    if isinstance(node, Field):
        return _field(node, doc, lists)
    assert isinstance(node, MatchAll)
    return True


def match_spans(node: Node, doc: Document, *, lists: AccountLists | None = None) -> list[tuple[int, int]]:
    """Return the character spans of ``doc.text`` whose words made ``node`` match, merged and sorted.

    Only positive text matches count (terms, phrases, both sides of a satisfied NEAR, regex hits);
    excluded terms and field filters have no span. An empty list means no match, or a match on
    fields alone (``lang:en``), which :func:`matches` tells apart.
    """
    if not matches(node, doc, lists=lists):
        return []
    found: list[tuple[int, int]] = []
    _collect(node, doc, lists, found)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _collect(node: Node, doc: Document, lists: AccountLists | None, out: list[tuple[int, int]]) -> None:
    """Append the spans of ``node``, which is known to match."""
    if isinstance(node, Term | Phrase):
        out.extend(_char_span(doc, occurrence) for occurrence in _occurrences(node, doc))
    elif isinstance(node, Near):
        out.extend(
            _char_span(doc, occurrence) for occurrence in _near_occurrences(node, doc, first_only=False)
        )
    elif isinstance(node, Regex):
        hits = compile_regex(node.pattern).finditer(doc.text)
        out.extend(hit.span() for hit in hits if hit.end() > hit.start())
    elif isinstance(node, And | Or):
        for child in node.children:
            if isinstance(node, And) or matches(child, doc, lists=lists):
                _collect(child, doc, lists, out)


def _char_span(doc: Document, occurrence: _Occurrence) -> tuple[int, int]:
    start, end = occurrence
    return doc.spans[start][0], doc.spans[end - 1][1]


def _positions(word: str, prefix: bool, doc: Document) -> list[int]:
    """Ascending token positions of ``word`` (or of every token starting with it)."""
    if not prefix:
        return list(doc.positions.get(word, ()))
    lo = bisect.bisect_left(doc.vocabulary, word)
    found: list[int] = []
    for token in doc.vocabulary[lo:]:
        if not token.startswith(word):
            break
        found.extend(doc.positions[token])
    return sorted(found)


def _occurrences(node: Node, doc: Document) -> Iterator[_Occurrence]:
    """Yield the token ranges where a Term, Phrase or Or of those occurs (ascending per alternative)."""
    if isinstance(node, Term):
        yield from ((i, i + 1) for i in _positions(node.word, node.prefix, doc))
    elif isinstance(node, Phrase):
        *body, last = node.words
        size = len(node.words)
        for i in _positions(node.words[0], node.last_prefix and size == 1, doc):
            window = doc.tokens[i : i + size]
            if len(window) < size or list(window[: size - 1]) != body:
                continue
            if window[-1] == last or (node.last_prefix and window[-1].startswith(last)):
                yield (i, i + size)
    elif isinstance(node, Or):
        for child in node.children:
            yield from _occurrences(child, doc)
    else:  # the parser never puts anything else under NEAR
        raise ValueError(f"not a word, phrase or OR of those: {node!r}")


def _near_occurrences(node: Near, doc: Document, *, first_only: bool) -> list[_Occurrence]:
    """Return the occurrences of either side that take part in a pair satisfying ``node``.

    With ``first_only`` it stops at the first satisfying pair (enough for :func:`matches`). The work is
    O((L + R) log R) for L left and R right occurrences, however many pairs there are, so a long
    transcript repeating both words stays cheap to highlight.
    """
    rights = sorted(set(_occurrences(node.right, doc)))
    if not rights:
        return []
    by_end = sorted(rights, key=lambda r: r[1])
    starts = [r[0] for r in rights]
    ends = [r[1] for r in by_end]
    after = [0] * (len(rights) + 1)  # difference arrays marking index ranges of used rights
    before = [0] * (len(rights) + 1)
    used: list[_Occurrence] = []
    gap = node.distance - 1  # most tokens allowed between the two sides
    for left in sorted(set(_occurrences(node.left, doc))):
        # right after left: right.start in [left.end, left.end + gap]
        lo, hi = bisect.bisect_left(starts, left[1]), bisect.bisect_right(starts, left[1] + gap)
        after[lo] += 1
        after[hi] -= 1
        found = lo < hi
        if not node.ordered:  # right before left: right.end in [left.start - gap, left.start]
            lo, hi = bisect.bisect_left(ends, left[0] - gap), bisect.bisect_right(ends, left[0])
            before[lo] += 1
            before[hi] -= 1
            found = found or lo < hi
        if found:
            used.append(left)
            if first_only:
                return used
    for marks, ordered_rights in ((after, rights), (before, by_end)):
        depth = 0
        for index, right in enumerate(ordered_rights):
            depth += marks[index]
            if depth > 0:
                used.append(right)
    return used


def _field(node: Field, doc: Document, lists: AccountLists | None) -> bool:
    value = node.value
    name = node.name
    if name == "from":
        if value.startswith("@"):
            return not doc.authors.isdisjoint(_list_members(value[1:], lists))
        return value in doc.authors
    if name in ("since", "until"):
        instant = _instant(value)
        return doc.created_at >= instant if name == "since" else doc.created_at < instant
    if name == "domain":
        return any(host == value or host.endswith("." + value) for host in doc.hosts)
    if name == "url":
        return any(value in url for url in doc.urls)
    if name == "image":
        return f" {value} " in doc.image_words
    if name == "text":
        return f" {value} " in doc.own_words
    if name == "imagehash":
        return bool(doc.image_hashes) and hashes_near(doc.image_hashes, _list_members(value, lists))
    members: Collection[str] = {
        "platform": (doc.platform,),
        "lang": doc.langs,
        "hashtag": doc.hashtags,
        "mention": doc.mentions,
        "has": doc.has,
        "is": doc.kinds,
    }[name]
    return value in members


def _list_members(name: str, lists: AccountLists | None) -> Collection[str]:
    if lists is None or name not in lists:
        if name.startswith("~"):
            raise NotFound(f"Known-image list '{name[1:]}' was not found; create it or correct the rule.")
        raise NotFound(f"Account list '{name}' was not found; create it or correct the rule.")
    return lists[name]


@functools.lru_cache(maxsize=256)
def _instant(value: str) -> datetime:
    return parse_instant(value)


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()


def _hosts(post: Post) -> Iterator[str]:
    """Yield the folded link hosts of ``post`` (its own permalink ``post.url`` is not a link)."""
    for domain in post.domains:
        yield _fold(domain).rstrip(".")
    for url in post.urls:
        try:
            host = urlsplit(url if "//" in url else "//" + url).hostname
        except ValueError:  # a malformed URL has no host to match; the url: field still sees it
            continue
        if host:
            yield _fold(host).rstrip(".")
