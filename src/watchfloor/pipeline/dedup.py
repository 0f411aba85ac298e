"""Stage 4: the keys that let the store group exact and near-duplicate posts.

A watch floor sees the same message many times — reposts, copy-paste campaigns, "RT @x:" chains — and
an analyst needs them as one cluster with a count, not a thousand alerts. This stage computes two keys
per post and stores nothing; the store puts a post in the cluster of any earlier post that shares its
content hash or any one band key.

* ``content_hash``: 16-byte BLAKE2b of the post's tokens (``query.tokens``: NFKC, case-folded, Latin
  diacritics dropped, punctuation and whitespace gone) joined by spaces. Posts differing only in case,
  punctuation, accents or spacing are exact duplicates. ``b""`` when the post has no tokens.
* ``band_keys``: locality-sensitive hashing of a MinHash signature over the post's *set of words*, so
  posts whose word sets have a high Jaccard similarity share at least one key with high probability.
  The words are the tokens of the text *without URLs, @mentions and the retweet marker "rt"*: a link
  wrapper, an addressee or "RT" is not the message, and their tokens ("https t co …", "rt user 123")
  are shared by unrelated posts. (The content hash keeps them: the same words with another link are
  not an *exact* duplicate.) Posts with fewer than ``MIN_TOKENS`` such tokens get no band keys: on a
  four-word post one changed word is a different message ("vote yes today" / "vote no today"), and
  greetings and emoji-only replies would chain thousands of unrelated posts together. Short posts
  therefore cluster only exactly.

Why word sets, 5 bands × 8 rows (decision record: ``docs/decisions/0004-near-duplicate-keys.md``):
the store pays for every band key — one B-tree lookup and, when new, one insert per key per post — so
the design is the one with the fewest keys that keeps near-dup recall ≥ 0.9 at precision ≥ 0.95 on
the benchmark with a margin. One word added, removed or replaced changes one or two elements of a
word set but two or three of its word 3-grams (most of a short post's), so near-duplicates are far
more similar as sets (planted ones: median Jaccard 0.94, against 0.77 over 3-grams) and many rows per band
can be afforded. Two posts become candidates with probability 1 − (1 − J⁸)⁵: 0.003 at J = 0.4,
0.08 at 0.6, 0.60 at 0.8, 0.94 at 0.9 (threshold ≈ 0.82). Unrelated posts share common words, which
8 rows are needed to shut out: at 5 × 7 precision is 0.84. On 100,000 generated posts
(``benchmarks/bench_dedup.py``) 5 × 8 gives near recall 0.93 at precision 0.98 with 5 keys per post;
version 1 (3-grams, 20 × 4) gave 0.92 and 0.99 with 20; 4 × 8 gives only 0.905. Dropping a stop-word
list as well lets fewer rows pass on generated posts but loses precision on real tweets.

Known limit: the threshold is on word-set similarity, ≈ 0.82, so variants that differ in several
words (J ≈ 0.7–0.8: the same headline with other tag hashtags, a sentence added) are found about
half the time per pair, where version 1 found nearly all of them. On 200,000 real tweets, 16% of the
pairs version 1 joined with 3-gram Jaccard ≥ 0.5 do not end up in one cluster (mostly campaign
headlines re-tagged per account); in exchange fewer dissimilar posts are joined.

How it is made fast: everything after tokenising is numpy over the whole batch, with no Python per
shingle. The space-joined token string of each post (already built for the content hash) is UTF-8
encoded and concatenated; a shingle — ``shingle`` consecutive tokens, one word in production — is
then a byte range of that buffer, and its id is a polynomial hash of those bytes read off prefix sums
(mod 2⁶⁴, odd base, SplitMix64 finaliser). The MinHash permutations are multiply-add-shift universal
hashes (``(a·x + b) mod 2⁶⁴ >> 32`` over 32-bit shingle ids), evaluated a cache-sized block at a time.
A word repeated in a post is one element of its set: the minimum does not see repeats.

Stability: every constant is derived from BLAKE2b of a fixed label — never ``hash()`` (salted per
process) or numpy's random generators (whose streams may change between releases) — so keys stored
today match keys computed by another process or a later release. Changing ``BANDS``, ``ROWS``,
``SHINGLE``, ``MIN_TOKENS``, ``DROPPED_TOKEN`` or a constant changes keys: bump ``VERSION`` and
rebuild stored band keys (version 1 was word 3-grams, 20 × 4). The polynomial shingle hash is not
collision-resistant against an adversary (crafted texts can collide); the worst case is two crafted
posts sharing a cluster, which copying a text achieves anyway.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from watchfloor.pipeline.text import message_text
from watchfloor.query.tokens import tokenize

NAME = "dedup"
VERSION = "2"

BANDS = 5
ROWS = 8
NUM_PERM = BANDS * ROWS  # only the values that are banded are computed
SHINGLE = 1  # words per shingle: a post's near-dup view is its set of words
MIN_TOKENS = 5  # message tokens (without URLs, mentions, DROPPED_TOKEN) needed for band keys
DROPPED_TOKEN = b"rt"  # the retweet marker is not the message

_BLOCK = 256  # shingles per (shingles × permutations) block: 80 KB of uint64 at 40, fits in L2

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def _constants(label: str, count: int, *, odd: bool = False) -> U64:
    """Return ``count`` fixed pseudo-random uint64 constants derived from ``label`` with BLAKE2b."""
    values = [
        int.from_bytes(hashlib.blake2b(f"watchfloor-dedup:{label}:{i}".encode(), digest_size=8).digest())
        for i in range(count)
    ]
    array = np.array(values, dtype=np.uint64)
    return array | np.uint64(1) if odd else array


_BASE = int(_constants("poly-base", 1, odd=True)[0])
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31, _S32 = (np.uint64(s) for s in (27, 30, 31, 32))
_SPACE = ord(" ")


class DedupKeys(NamedTuple):
    """The two deduplication keys of one post."""

    content_hash: bytes
    band_keys: tuple[int, ...]


def joined_tokens(text: str) -> tuple[bytes, int]:
    """Return ``" ".join(tokenize(text))`` UTF-8 encoded, and the token count."""
    tokens = tokenize(text)
    return " ".join(tokens).encode(), len(tokens)


def content_hash(tokens: Sequence[str]) -> bytes:
    """Return the exact-duplicate key of a token list: 16-byte BLAKE2b of the tokens joined by spaces."""
    if not tokens:
        return b""
    return hashlib.blake2b(" ".join(tokens).encode(), digest_size=16).digest()


def _mix(x: U64) -> U64:
    """Scramble uint64 values in place (the SplitMix64 finaliser): every input bit moves every output bit."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


def _powers(base: int, count: int) -> U64:
    """Return ``base**k mod 2**64`` for k in 0..count-1."""
    out = np.full(count, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)


def _shingle_ids(joined: Sequence[bytes], counts: I64, shingle: int = SHINGLE) -> tuple[U64, I64]:
    """Return the 32-bit ids of every post's shingles, concatenated, and where each post's ids start.

    ``joined[i]`` is post i's space-joined UTF-8 tokens and ``counts[i]`` its token count (≥ 1); a
    shingle is ``shingle`` consecutive tokens (the benchmark compares sizes through this path).
    """
    sizes = np.fromiter(map(len, joined), dtype=np.int64, count=len(joined)) + 1  # + separator
    buffer = np.frombuffer(b" ".join(joined) + b" ", dtype=np.uint8)
    offsets = np.cumsum(sizes) - sizes
    relative = np.arange(len(buffer), dtype=np.int64) - np.repeat(offsets, sizes)
    longest = int(sizes.max())
    prefix = np.zeros(len(buffer) + 1, dtype=np.uint64)
    np.cumsum(buffer * _powers(_BASE, longest)[relative], out=prefix[1:])
    token_end = np.flatnonzero(buffer == _SPACE)  # every token, in order, ends at a space
    token_start = np.empty_like(token_end)
    token_start[0] = 0
    token_start[1:] = token_end[:-1] + 1
    # One window of `shingle` tokens per position; a shorter post is one window of all it has.
    windows = np.maximum(counts - (shingle - 1), 1)
    seg = np.cumsum(windows) - windows
    first_token = np.cumsum(counts) - counts
    first = np.arange(int(windows.sum()), dtype=np.int64) - np.repeat(seg - first_token, windows)
    last = np.minimum(first + (shingle - 1), np.repeat(first_token + counts - 1, windows))
    start, end = token_start[first], token_end[last]
    hashes = (prefix[end] - prefix[start]) * _powers(_BASE_INVERSE, longest)[relative[start]]
    return _mix(hashes) >> _S32, seg


@functools.cache
def _permutations(count: int) -> tuple[U64, U64]:
    # Prefix-stable: the first k of any count are the same k, so a benchmark may compute more.
    return _constants("perm-a", count, odd=True), _constants("perm-b", count)


def _minhash(shingles: U64, seg: I64, num_perm: int = NUM_PERM) -> U64:
    """MinHash signatures, one row per segment of ``shingles`` starting at the offsets in ``seg``."""
    perm_a, perm_b = _permutations(num_perm)
    n, total = len(seg), len(shingles)
    signatures = np.empty((n, num_perm), dtype=np.uint64)
    # Posts whose first shingle falls in the same _BLOCK-sized window form one block: one pass over
    # the whole (shingles × permutations) matrix would stream tens of megabytes through memory.
    cuts = [0, *(np.flatnonzero(np.diff(seg // _BLOCK)) + 1).tolist(), n]
    seg_end = [*seg[1:].tolist(), total]
    widest = max(seg_end[b1 - 1] - int(seg[b0]) for b0, b1 in pairwise(cuts))
    scratch = np.empty((widest, num_perm), dtype=np.uint64)
    for b0, b1 in pairwise(cuts):
        s0, s1 = int(seg[b0]), seg_end[b1 - 1]
        block = scratch[: s1 - s0]
        np.multiply(shingles[s0:s1, None], perm_a, out=block)
        block += perm_b
        np.minimum.reduceat(block, seg[b0:b1] - s0, axis=0, out=signatures[b0:b1])
    # The minimum of the top 32 bits is the top 32 bits of the minimum: shift only the small result.
    signatures >>= _S32
    return signatures


def minhash_signatures(token_lists: Sequence[Sequence[str]]) -> U64:
    """Return the ``(len(token_lists), NUM_PERM)`` MinHash signatures of the lists' word sets.

    Every list must be non-empty; its tokens are used as given (nothing is dropped). Values are
    32-bit, held in uint64 for the banding arithmetic.
    """
    if not token_lists:
        return np.empty((0, NUM_PERM), dtype=np.uint64)
    counts = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    return _minhash(*_shingle_ids([" ".join(t).encode() for t in token_lists], counts))


@functools.cache
def _band_constants(bands: int, rows: int) -> tuple[U64, U64]:
    # Derived from the shape, so the benchmark's parameter sweep uses the production code path.
    label = f"band:{bands}x{rows}"
    return _constants(label + ":mul", bands * rows, odd=True).reshape(bands, rows), _constants(label, bands)


def band_keys_of(signatures: U64, *, bands: int = BANDS, rows: int = ROWS) -> I64:
    """Return the ``(n, bands)`` LSH band keys: one non-negative 63-bit integer per band of ``rows`` values.

    The band index is mixed into each key, so equal values in different bands never collide.
    """
    multipliers, offsets = _band_constants(bands, rows)
    grouped = signatures[:, : bands * rows].reshape(len(signatures), bands, rows)
    keys = (grouped * multipliers).sum(axis=2, dtype=np.uint64)
    keys += offsets
    return (_mix(keys) >> np.uint64(1)).astype(np.int64)


_DROPPED_FIRST = DROPPED_TOKEN + b" "
_DROPPED_LAST = b" " + DROPPED_TOKEN
_DROPPED_INSIDE = b" " + DROPPED_TOKEN + b" "


def _drop_token(joined: bytes, count: int) -> tuple[bytes, int]:
    """Return space-joined tokens and their count without ``DROPPED_TOKEN``."""
    if DROPPED_TOKEN not in joined or not (  # the usual case: one substring test
        joined.startswith(_DROPPED_FIRST)
        or _DROPPED_INSIDE in joined
        or joined.endswith(_DROPPED_LAST)
        or joined == DROPPED_TOKEN
    ):
        return joined, count
    kept = [t for t in joined.split(b" ") if t != DROPPED_TOKEN]
    return b" ".join(kept), len(kept)


class _Batch(NamedTuple):
    hashes: list[bytes]  # content hash per text
    tokens: list[bytes]  # per text: all its tokens, space-joined UTF-8 (what the content hash hashes)
    eligible: list[int]  # indexes of texts long enough for near-dup keys
    joined: list[bytes]  # per eligible text: its message tokens, space-joined UTF-8
    counts: list[int]  # per eligible text: its message token count


def _tokenise_batch(texts: Sequence[str | None], messages: Sequence[str] | None = None) -> _Batch:
    batch = _Batch([], [], [], [], [])
    for i, text in enumerate(texts):
        if not text:
            batch.hashes.append(b"")
            batch.tokens.append(b"")
            continue
        j, count = joined_tokens(text)
        batch.hashes.append(hashlib.blake2b(j, digest_size=16).digest() if j else b"")
        batch.tokens.append(j)
        if count < MIN_TOKENS:
            continue
        message = messages[i] if messages is not None else message_text(text)
        if message is not text:
            j, count = joined_tokens(message)
        j, count = _drop_token(j, count)
        if count < MIN_TOKENS:
            continue
        batch.eligible.append(i)
        batch.joined.append(j)
        batch.counts.append(count)
    return batch


def dedup_keys(texts: Sequence[str | None], messages: Sequence[str] | None = None) -> list[DedupKeys]:
    """Return the keys of each text (title and text joined, as ``Post.searchable_text`` does).

    ``messages`` are ``text.message_text(t)`` of each text when the caller already has them.
    """
    return dedup_keys_and_tokens(texts, messages)[0]


def dedup_keys_and_tokens(
    texts: Sequence[str | None], messages: Sequence[str] | None = None
) -> tuple[list[DedupKeys], list[str]]:
    """Return :func:`dedup_keys` and, per text, ``query.tokens.index_text(text)``.

    The content hash already tokenises every text; handing those tokens on lets the store fill its
    full-text index without tokenising the same text a second time (it cost about a fifth of the
    store's Python time per post).
    """
    batch = _tokenise_batch(texts, messages)
    keys: list[tuple[int, ...]] = [()] * len(texts)
    if batch.eligible:
        shingles, seg = _shingle_ids(batch.joined, np.array(batch.counts, dtype=np.int64))
        rows = band_keys_of(_minhash(shingles, seg)).tolist()
        for i, row in zip(batch.eligible, rows, strict=True):
            keys[i] = tuple(row)
    found = [DedupKeys(h, k) for h, k in zip(batch.hashes, keys, strict=True)]
    return found, [j.decode() for j in batch.tokens]
