"""Run one store operation from many threads at once, each in its own transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from watchfloor.store.engine import SqlStore
from watchfloor.store.sqlstore import SqlTx

T = TypeVar("T")


def race(store: SqlStore, n: int, work: Callable[[SqlTx, int], T]) -> list[T]:
    """Call ``work(tx, i)`` from ``n`` threads at (nearly) the same moment; results in thread order.

    On PostgreSQL the threads line up inside their open transactions, so all of them are running
    before any commits and a check-then-write bug lets several win. SQLite's BEGIN IMMEDIATE admits
    one write transaction at a time, so there they line up just before beginning (lining up inside
    would wait forever for threads stuck in BEGIN).
    """
    barrier = threading.Barrier(n, timeout=30)
    inside = store.dialect == "postgresql"

    def run(i: int) -> T:
        if not inside:
            barrier.wait()
        with store.transaction() as tx:
            if inside:
                tx.conn.exec_driver_sql("SELECT 1")
                barrier.wait()
            return work(tx, i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
