"""Waiting for SQLite's write lock while another process (an import) holds it.

In a process that prefers prompt writes (the console) a write transaction polls for the lock every
few milliseconds instead of in SQLite's growing sleeps, and gives up with a clear StoreError after the
wait runs out. Another connection stands in for the
other process: SQLite locks between connections exactly as between processes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchfloor.domain.errors import StoreError
from watchfloor.store import engine as store_engine
from watchfloor.store.engine import begin_immediate, open_store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_writer_waits_for_another_connection_then_commits(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "w.db"))
    store.prefer_prompt_writes()
    other = _hold_write_lock(tmp_path / "w.db")
    release = threading.Timer(0.3, other.commit)
    release.start()
    try:
        with store.transaction() as tx:
            assert other.in_transaction is False  # reached only once the other writer let go
            tx.add_handover_note(author="a", text="after the wait", at=NOW)
        with store.snapshot() as view:
            assert [n.text for n in view.handover_notes(since=NOW)] == ["after the wait"]
    finally:
        release.join()
        other.close()
        store.close()


def test_the_wait_for_the_write_lock_runs_out_with_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(str(tmp_path / "w.db"))
    store.prefer_prompt_writes()
    other = _hold_write_lock(tmp_path / "w.db")
    monkeypatch.setattr(store_engine, "BUSY_SECONDS", 0.2)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked"), store.transaction():
            pass
        assert time.monotonic() - started < 5
    finally:
        other.rollback()
        other.close()
        store.close()


def test_polling_puts_back_the_long_busy_timeout_for_other_statements(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.execute("PRAGMA busy_timeout=12345")
    begin_immediate(conn, wait=1.0)
    conn.rollback()
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (int(store_engine.BUSY_SECONDS * 1000),)
    conn.close()
