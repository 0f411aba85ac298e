"""Near-duplicate clusters when several workers store at once (PostgreSQL, scale-out mode).

``clusters.assign_clusters`` sees what was committed before its batch. Two workers storing two
near-duplicates at the same moment do not see each other, so each would found a cluster of its own and
a rule would raise two alerts where one worker raises one. The band keys settle it: ``dedup_bands`` is
unique by band key, the insert waits for a concurrent transaction that inserted the same key and then
keeps that one's row (ON CONFLICT DO NOTHING ... RETURNING), and keys are inserted in sorted order (no
deadlock). A new key the insert did not return went to a concurrent writer: only those are read back,
and :func:`settle_band_races` merges the cluster this batch *founded* into the winner's: this
batch's posts and band rows are renamed to it, in this transaction, before any alert is raised (so
the match groups the post into the winner's alert, as one worker would). A cluster that existed before
the batch keeps its posts (a post that joined it stays; the other worker's post keeps its own cluster,
as it would have had it been stored first).

SQLite has one writer: no race, nothing to settle.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, exists, select, update

from watchfloor.store.schema import dedup_bands, posts


def settle_band_races(
    conn: Connection,
    stored_bands: dict[int, int],
    new_bands: dict[int, int],
    inserted_ids: Sequence[int],
    inserted_clusters: Sequence[int | None],
) -> list[int | None]:
    """Merge this batch's founded clusters that lost a band key race; return the posts' final clusters.

    ``stored_bands`` is what ``dedup_bands`` holds for the keys of ``new_bands`` this batch could not
    insert (a concurrent writer's); ``inserted_ids``/``inserted_clusters`` are this batch's stored posts.
    """
    lost = {
        ours: stored_bands[band] for band, ours in new_bands.items() if stored_bands.get(band, ours) != ours
    }
    if not lost:
        return list(inserted_clusters)
    ids = list(inserted_ids)
    merged: dict[int, int] = {}
    for ours, theirs in sorted(lost.items()):
        older = conn.execute(
            select(exists().where(posts.c.cluster_id == ours, posts.c.id.not_in(ids)))
        ).scalar_one()
        if older:  # the cluster was there before this batch: its posts stay in it
            continue
        merged[ours] = theirs
        conn.execute(
            update(posts).where(posts.c.cluster_id == ours, posts.c.id.in_(ids)).values(cluster_id=theirs)
        )
        ours_bands = [band for band, cluster in new_bands.items() if cluster == ours]
        conn.execute(
            update(dedup_bands)
            .where(dedup_bands.c.cluster_id == ours, dedup_bands.c.band_key.in_(ours_bands))
            .values(cluster_id=theirs)
        )
    return [merged.get(c, c) if c is not None else None for c in inserted_clusters]
