"""PostgreSQL: two writers storing near-duplicates at the same moment end in one cluster.

Transaction A stores a post and stays open; transaction B stores a near-duplicate (sharing a band key)
from another thread, and its band insert waits for A. When A commits, B finds A's cluster holding the
shared band and moves its own post into it before committing: one cluster, as one writer would make.
A post that joined a cluster stored before the race keeps it.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tests.store.helpers import make_post, prepared
from watchfloor.store.engine import SqlStore
from watchfloor.store.ports import WriteResult

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_store: SqlStore) -> SqlStore:
    return pg_store


def _clusters(store: SqlStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        found = conn.execute(text("SELECT native_id, cluster_id FROM posts")).all()
    return {str(n): int(c) for n, c in found}


def _race(
    store: SqlStore, first: tuple[str, str, tuple[int, ...]], second: tuple[str, str, tuple[int, ...]]
) -> WriteResult:
    """Store ``first`` in an open transaction, ``second`` from another thread, then commit the first."""
    started, results = threading.Event(), []

    def other() -> None:
        started.set()
        with store.transaction() as tx:
            native, body, bands = second
            results.append(
                tx.write_posts([prepared(make_post(native, body), band_keys=bands)], import_id=None)
            )

    with store.transaction() as tx:
        native, body, bands = first
        tx.write_posts([prepared(make_post(native, body), band_keys=bands)], import_id=None)
        thread = threading.Thread(target=other)
        thread.start()
        started.wait(10)
        thread.join(0.5)  # it blocks on the shared band key until this transaction ends
        assert thread.is_alive()
    thread.join(30)
    assert not thread.is_alive()
    return results[0]


def test_near_duplicates_stored_at_once_share_one_cluster(store: SqlStore) -> None:
    second = _race(
        store,
        ("a", "flood water rising on elm", (11, 12, 13)),
        ("b", "flood water rising on elm st", (13, 14, 15)),
    )
    clusters = _clusters(store)
    assert clusters["a"] == clusters["b"]
    assert second.inserted_clusters == [clusters["a"]]  # what the matcher groups alerts by
    with store.engine.connect() as conn:
        bands = dict(conn.execute(text("SELECT band_key, cluster_id FROM dedup_bands")).all())
    assert {int(k): int(v) for k, v in bands.items()} == dict.fromkeys((11, 12, 13, 14, 15), clusters["a"])


def test_a_post_that_joined_an_older_cluster_keeps_it(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.write_posts(
            [prepared(make_post("old", "an older post about roads"), band_keys=(21,))], import_id=None
        )
    # "b" joins "old"'s cluster through band 21 and also brings band 31, which "a" founds at the same time.
    _race(store, ("a", "a new post about bridges", (31,)), ("b", "the roads and the bridges", (21, 31)))
    clusters = _clusters(store)
    assert clusters["b"] == clusters["old"]
    assert clusters["a"] != clusters["old"]
