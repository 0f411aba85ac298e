"""Near-duplicate clustering: a new post joins the cluster of any stored post it shares a key with.

Keys are the exact content key (from the pipeline's content hash) and the LSH band keys the pipeline
computed. A cluster is named by the content key of the post that founded it, so replaying a batch
assigns the same ids without needing database-generated row ids first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from watchfloor.domain.post import Prepared
from watchfloor.store.rows import content_key

Lookup = Callable[[list[int]], dict[int, int]]


def assign_clusters(
    items: Sequence[Prepared], *, lookup_content: Lookup, lookup_bands: Lookup
) -> tuple[list[int | None], dict[int, int]]:
    """Return a cluster id per item and the new band-key -> cluster rows to store.

    ``lookup_*`` answer from the database for keys stored before this batch; keys first seen earlier
    in the batch are resolved here. Posts without text get no cluster (``None``).
    """
    keys = [content_key(i.content_hash) for i in items]
    known_content = lookup_content(list({k for k in keys if k is not None}))
    known_bands = lookup_bands(list({b for i in items for b in i.band_keys}))
    new_bands: dict[int, int] = {}
    clusters: list[int | None] = []
    for item, key in zip(items, keys, strict=True):
        if key is None:
            clusters.append(None)
            continue
        cluster = known_content.get(key)
        if cluster is None:
            cluster = next((known_bands[b] for b in item.band_keys if b in known_bands), key)
        known_content.setdefault(key, cluster)
        for band in item.band_keys:
            if band not in known_bands:
                known_bands[band] = cluster
                new_bands[band] = cluster
        clusters.append(cluster)
    return clusters, new_bands
