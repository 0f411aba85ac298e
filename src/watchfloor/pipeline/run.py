"""Compose the enrichment stages over a batch of posts: what the store receives for each post.

``prepare_batch`` is the pipeline's one entry point. Every stage is a pure function of the post
(and, for normalise, of the injected ``now``), so replaying a batch gives equal output, and feeding a
prepared post back in changes nothing: the bus delivers at least once and the store upserts. The
per-post stages run in one Python loop; language identification and MinHash run once per batch,
because their native calls cost far less per post in bulk — batches of a few hundred posts or more
get the full benefit.

Provenance: ``Prepared.enrichers`` names (``"name@version"``) each stage that changed the post, plus
``dedup`` whenever it produced a content hash. A replayed post that is already prepared comes back
with only ``dedup`` listed — its other enrichments are already in the stored post — so the store
should merge provenance on upsert rather than overwrite it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchfloor.domain.post import Post, Prepared
from watchfloor.pipeline import dedup, language, normalise, selectors
from watchfloor.pipeline.text import message_text, searchable

_NORMALISE = f"{normalise.NAME}@{normalise.VERSION}"
_SELECTORS = f"{selectors.NAME}@{selectors.VERSION}"
_LANGUAGE = f"{language.NAME}@{language.VERSION}"
_DEDUP = f"{dedup.NAME}@{dedup.VERSION}"


def prepare_batch(posts: Sequence[Post], *, now: datetime) -> list[Prepared]:
    """Normalise, extract selectors, detect language and compute dedup keys; output in input order.

    ``now`` fills ``collected_at`` where the connector did not; it must be timezone-aware (UTC).
    """
    if now.tzinfo is None:
        raise ValueError("prepare_batch needs a timezone-aware 'now'; pass the injected clock's time")
    normalised = [normalise.normalise_post(p, now=now) for p in posts]
    # Title + text, and the same without URLs and mentions, built once: no stage changes them.
    texts = [searchable(p) for p in normalised]
    messages = [message_text(t) for t in texts]
    selected = [selectors.extract_selectors(p, t) for p, t in zip(normalised, texts, strict=True)]
    languaged = language.detect_batch(selected, texts, messages)
    # The tokens of each text come back too: the store's full-text index holds exactly those.
    keys, indexed = dedup.dedup_keys_and_tokens(texts, messages)
    prepared: list[Prepared] = []
    for raw, p1, p2, p3, (content_hash, band_keys), index_text in zip(
        posts, normalised, selected, languaged, keys, indexed, strict=True
    ):
        enrichers: list[str] = []
        if p1 is not raw:
            enrichers.append(_NORMALISE)
        if p2 is not p1:
            enrichers.append(_SELECTORS)
        if p3 is not p2:
            enrichers.append(_LANGUAGE)
        if content_hash:
            enrichers.append(_DEDUP)
        prepared.append(
            Prepared(
                post=p3,
                content_hash=content_hash,
                band_keys=band_keys,
                enrichers=tuple(enrichers),
                index_text=index_text,
            )
        )
    return prepared
