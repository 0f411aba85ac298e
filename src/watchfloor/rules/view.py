"""One post as the matcher sees it: its token string at once, everything else only when a rule asks.

Most posts match no rule, so what every post pays for must stay small: the text, its tokens and the
space-joined token string the prefilter scans. Folded field values and the positional
:class:`~watchfloor.query.evaluate.Document` are built on first use, once per post.

The field values here repeat a few lines of ``Document.from_post`` (languages, authors, hashtags,
mentions, has:, is:) because building a whole ``Document`` costs several times the scan; the property
tests hold the matcher to the reference evaluator on real posts, so a drift between the two fails there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from watchfloor.domain.post import Post
from watchfloor.query.evaluate import Document, scoped_words
from watchfloor.query.fields import fold_handle, fold_hashtag

# The shared tokeniser's token pattern. It is private there; the matcher needs the raw runs (see
# exact_tokens), and the property tests check the result against tokens.token_spans.
from watchfloor.query.tokens import _TOKEN, normalise_text, tokenize

AccountLists = Mapping[str, frozenset[str]]
_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")
_NONE: frozenset[str] = frozenset()


def exact_tokens(text: str) -> list[str]:
    """Return the tokens of ``text`` exactly as :meth:`Document.from_post` sees them, cheaply.

    Why not ``tokens.tokenize``: it normalises the whole text and then splits, while the reference
    evaluator (``tokens.token_spans``) splits the original text and then normalises each run. The two
    disagree where normalisation turns a separator into letters: "Brand™" is ``brandtm`` to the
    former and ``brand`` to the latter; "㋀" is ``1月`` or nothing. The matcher must agree with the
    evaluator to the token, so it splits first as well. Normalising the space-joined runs in one call
    equals normalising each run (a space never composes with its neighbours), which keeps this within
    ~1.4x the cost of ``tokenize`` instead of the ~6x of ``token_spans``.
    """
    return _split(text)[0]


def _split(text: str) -> tuple[list[str], str | None]:
    """Tokens, and the normalised space-joined runs when normalising could change them (else None)."""
    if text.isascii():
        return tokenize(text), None  # ASCII: both definitions reduce to "lowercase, split on non-alnum"
    runs = " ".join(_TOKEN.findall(text))
    if runs.isascii():  # English with emoji or curly quotes: the runs themselves are plain ASCII
        return runs.lower().split(), None
    normalised = normalise_text(runs)
    return _TOKEN.findall(normalised), normalised


def exact_spans(text: str, split: tuple[list[str], str | None] | None = None) -> list[tuple[int, int]]:
    """Return the character span of each of ``exact_tokens(text)``, as ``tokens.token_spans`` does.

    ``split`` is ``_split(text)`` when the caller has it already.
    """
    if text.isascii():
        return [match.span() for match in _ASCII_RUN.finditer(text)]
    tokens, normalised = split or _split(text)
    runs = list(_TOKEN.finditer(text))
    # Usually each run normalises to exactly one token, and the runs' spans are the answer. That holds
    # when the runs were plain ASCII, or when the normalised runs are exactly the tokens, one apiece.
    if normalised is None or (len(runs) == len(tokens) and normalised.split(" ") == tokens):
        return [match.span() for match in runs]
    spans: list[tuple[int, int]] = []
    for match in runs:  # a run that normalisation splits ("½" -> "1⁄2") gives each part its span
        parts = 1 if match.group().isascii() else len(_TOKEN.findall(normalise_text(match.group())))
        spans.extend([match.span()] * parts)
    return spans


class PostView:
    """A post prepared for candidate rules; field values and ``doc`` are computed on first use.

    Not thread-safe by itself (lazy values are filled in place); the matcher makes one per post per
    call, so one matcher can serve several threads.
    """

    __slots__ = ("_doc", "_fields", "_langs", "_normalised", "lists", "post", "text", "tokens", "tokstr")

    def __init__(self, post: Post, lists: AccountLists) -> None:
        self.post = post
        self.lists = lists
        self.text = post.searchable_text()
        self.tokens, self._normalised = _split(self.text)
        # " a b c ": a word is " w ", a prefix " w", a phrase " w1 w2 ", so substring tests and the
        # multi-pattern scan get exact token boundaries for free.
        self.tokstr = f" {' '.join(self.tokens)} "
        self._langs: frozenset[str] | None = None
        self._fields: Document | None = None
        self._doc: Document | None = None

    @property
    def langs(self) -> frozenset[str]:
        """Primary language subtags, folded: ``en-US`` -> ``en`` (as ``Document.langs``)."""
        if self._langs is None:
            # The part before the first '-' or '_', as Document's re.split(r"[-_]", lang)[0].
            self._langs = frozenset(
                lang.partition("-")[0].partition("_")[0].casefold() for lang in self.post.langs
            )
        return self._langs

    def authors(self) -> frozenset[str]:
        """Folded handle and id (as ``Document.authors``)."""
        post = self.post
        return frozenset(fold_handle(v) for v in (post.author_handle, post.author_id) if v)

    def hashtags(self) -> frozenset[str]:
        tags = self.post.hashtags
        return frozenset(fold_hashtag(tag) for tag in tags) if tags else _NONE

    def mentions(self) -> frozenset[str]:
        handles = self.post.mentions
        return frozenset(fold_handle(handle) for handle in handles) if handles else _NONE

    def has(self) -> frozenset[str]:
        post = self.post
        flags = (("media", post.has_media), ("links", post.has_links), ("geo", post.geo is not None))
        return frozenset(name for name, flag in flags if flag)

    def kinds(self) -> frozenset[str]:
        post = self.post
        flags = (("reply", post.is_reply), ("repost", post.is_repost), ("quote", post.is_quote))
        return frozenset(name for name, flag in flags if flag)

    @property
    def links(self) -> Document:
        """The reference field values, for ``domain:`` and ``url:`` (host parsing is left to it)."""
        if self._fields is None:
            self._fields = Document.from_post(msgspec.structs.replace(self.post, title=None, text=None))
        return self._fields

    @property
    def doc(self) -> Document:
        """The reference document (positions, spans, fields) for NEAR, spans and ``Match.fields``."""
        if self._doc is None:
            positions: dict[str, list[int]] = {}
            for index, token in enumerate(self.tokens):
                positions.setdefault(token, []).append(index)
            post = self.post
            linked = post.urls or post.domains
            spans = tuple(exact_spans(self.text, (self.tokens, self._normalised)))
            own_words, image_words = scoped_words(post, self.tokens, spans)
            self._doc = Document(
                text=self.text,
                tokens=tuple(self.tokens),
                spans=spans,
                positions={token: tuple(found) for token, found in positions.items()},
                vocabulary=tuple(sorted(positions)),
                platform=post.platform.casefold(),
                authors=self.authors(),
                langs=self.langs,
                hashtags=self.hashtags(),
                mentions=self.mentions(),
                hosts=self.links.hosts if linked else frozenset(),
                urls=self.links.urls if linked else (),
                has=self.has(),
                kinds=self.kinds(),
                created_at=post.created_at,
                own_words=own_words,
                image_words=image_words,
                image_hashes=post.image_hashes,
            )
        return self._doc
