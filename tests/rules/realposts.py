"""Real posts for the rule tests: the captured fixtures, mapped by the real importers and pipeline.

The matcher's property tests draw rule words from these posts, so rules actually hit (random words
would almost never occur) and the posts carry what real ones carry: several languages, hashtags,
mentions, links, replies, titles (Reddit), long texts (Telegram).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.files import iter_file, read_sample
from watchfloor.connectors.registry import detect_format, format_named
from watchfloor.domain.post import Envelope, Post
from watchfloor.pipeline import prepare_batch
from watchfloor.query.fields import fold_handle
from watchfloor.rules.view import exact_tokens

FIXTURES = Path(__file__).parent.parent / "fixtures"
_JSON_FILES = (
    "twitter/pheme_v1.jsonl",
    "twitter/twarc2_flat.jsonl.gz",
    "twitter/twarc2_geo_tweets.jsonl",
    "twitter/twarc2_media_tweet.jsonl",
    "bluesky/jetstream_v1.jsonl",
    "mastodon/statuses.jsonl",
    "telegram/ru_news_naked_science.json.gz",
    "reddit/listings.jsonl",
)
_CSV_FILES = {
    "generic_csv/crisislex_t26_colorado_floods_head.csv": {
        "native_id": "tweet id", "text": "tweet text", "created_at": "snowflake:tweet id",
    },
    "generic_csv/crisislex_t6_sandy_head.csv": {
        "native_id": "tweet id", "text": "tweet", "created_at": "snowflake:tweet id",
    },
}  # fmt: skip
# Text the tokeniser finds tricky, so the matcher is held to the evaluator on it too.
_TRICKY = ("Brand™ launch", "㋀ meeting", "İstanbul ﬁre ½ Straße", "don´t panic", "", "ＦＬＯＯＤ warning")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


@functools.cache
def real_posts() -> tuple[Post, ...]:
    """About 250 real posts after the pipeline (languages, hashtags, links filled), plus a few odd texts."""
    posts: list[Post] = []
    for name in _JSON_FILES:
        path = FIXTURES / name
        posts.extend(_posts(path, detect_format(read_sample(path)).name, MapOptions()))
    for name, column_map in _CSV_FILES.items():
        posts.extend(_posts(FIXTURES / name, "csv", MapOptions(platform="twitter", column_map=column_map)))
    template = posts[0]
    for index, text in enumerate(_TRICKY):
        posts.append(msgspec.structs.replace(template, native_id=f"tricky-{index}", text=text, title=None))
    return tuple(p.post for p in prepare_batch(posts, now=NOW))


def _posts(path: Path, fmt: str, options: MapOptions) -> list[Post]:
    found = iter_file(path, format_named(fmt), options)
    return [e.post for e in found if isinstance(e, Envelope) and e.post is not None]


class Vocabulary(msgspec.Struct, frozen=True):
    """What rules are written from: words, consecutive word pairs, and field values seen in the posts."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]
    authors: tuple[str, ...]
    langs: tuple[str, ...]
    domains: tuple[str, ...]


@functools.cache
def vocabulary() -> Vocabulary:
    words: dict[str, None] = {}
    phrases: dict[tuple[str, ...], None] = {}
    for post in real_posts():
        tokens = exact_tokens(post.searchable_text())
        words.update(dict.fromkeys(tokens))
        phrases.update(dict.fromkeys(tuple(tokens[i : i + 2]) for i in range(0, len(tokens) - 1, 3)))
        phrases.update(dict.fromkeys(tuple(tokens[i : i + 3]) for i in range(1, len(tokens) - 2, 7)))
    posts = real_posts()
    return Vocabulary(
        words=tuple(w for w in words if re.fullmatch(r"\w+", w)),
        phrases=tuple(phrases),
        hashtags=tuple(dict.fromkeys(t for p in posts for t in p.hashtags if re.fullmatch(r"\w+", t))),
        mentions=tuple(dict.fromkeys(m for p in posts for m in p.mentions if re.fullmatch(r"[\w.]+", m))),
        authors=tuple(
            dict.fromkeys(
                fold_handle(p.author_handle)
                for p in posts
                if p.author_handle and re.fullmatch(r"[\w.]+", fold_handle(p.author_handle))
            )
        ),
        langs=tuple(dict.fromkeys(lang.split("-")[0].lower() for p in posts for lang in p.langs)),
        domains=tuple(dict.fromkeys(d for p in posts for d in p.domains if re.fullmatch(r"[\w.-]+", d))),
    )
