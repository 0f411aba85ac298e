"""Near-duplicate clustering: a new post joins the cluster of any stored post it shares a key with.

Keys are the exact content hash and the LSH band keys the pipeline computed. A cluster is named by
the content hash of the post that founded it (as a signed 64-bit int), so replaying a batch assigns
the same ids without needing database-generated row ids first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from watchfloor.domain.post import Prepared


def cluster_name(content_hash: bytes) -> int:
    """A cluster id from a founding post's content hash."""
    return int.from_bytes(content_hash[:8], "big", signed=True)


def assign_clusters(
    items: Sequence[Prepared],
    *,
    lookup_hashes: Callable[[Iterable[bytes]], dict[bytes, int]],
    lookup_bands: Callable[[Iterable[int]], dict[int, int]],
) -> tuple[list[int | None], dict[int, int]]:
    """Return a cluster id per item and the new band-key -> cluster rows to store.

    ``lookup_*`` answer from the database for keys seen before this batch; keys seen earlier in the
    batch are resolved here. Posts without text get no cluster (``None``).
    """
    known_hashes = lookup_hashes({i.content_hash for i in items if i.content_hash})
    known_bands = lookup_bands({k for i in items for k in i.band_keys})
    new_bands: dict[int, int] = {}
    clusters: list[int | None] = []
    for item in items:
        if not item.content_hash:
            clusters.append(None)
            continue
        cluster = known_hashes.get(item.content_hash)
        if cluster is None:
            for key in item.band_keys:
                cluster = known_bands.get(key)
                if cluster is not None:
                    break
        if cluster is None:
            cluster = cluster_name(item.content_hash)
        known_hashes.setdefault(item.content_hash, cluster)
        for key in item.band_keys:
            if key not in known_bands:
                known_bands[key] = cluster
                new_bands[key] = cluster
        clusters.append(cluster)
    return clusters, new_bands
