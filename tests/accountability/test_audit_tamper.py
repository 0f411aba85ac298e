"""Tamper drills: real SQL edits of the stored audit tables, then `audit verify` against a kept checkpoint.

Each drill runs at several positions (fixed seed) inside the part of the log the kept checkpoint
covers, on SQLite and PostgreSQL. Every tampering must be reported, with what was found; after the
tables are put back, the same verification must pass (no false alarms). The tamperer here is
capable: where a drill says "consistently", it rewrites leaves with watchfloor's own encoder and
recomputes their hashes, so only the Merkle root against the kept checkpoint can catch it.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import Connection, delete, select, update

from tests.accountability.conftest import AUDITOR, add_events, settings_for
from watchfloor.domain.audit import decode_leaf, encode_leaf, leaf_hash
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import Conflict
from watchfloor.services.audit import sign_checkpoint, verify_log
from watchfloor.services.context import ServiceContext
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import audit_checkpoints, audit_events
from watchfloor.wiring import build_context

KEPT_SIZE = 44  # 30 events, checkpoint, 12 events, checkpoint (kept by the auditor), then 6 more
POSITIONS = random.Random(20261130).sample(range(KEPT_SIZE - 1), 4)
Drill = Callable[[Connection, int], None]


def _build(ctx: ServiceContext) -> str:
    add_events(ctx, 30)
    sign_checkpoint(ctx, actor=AUDITOR)
    add_events(ctx, 12, start=30)
    kept = sign_checkpoint(ctx, actor=AUDITOR).checkpoint
    assert kept.size == KEPT_SIZE
    add_events(ctx, 6, start=42)  # newer than anything kept
    return kept.note


def _leaf(conn: Connection, seq: int) -> bytes:
    return bytes(conn.execute(select(audit_events.c.leaf).where(audit_events.c.seq == seq)).scalar_one())


def _write(conn: Connection, old_seq: int, new_seq: int, leaf: bytes, **columns: Any) -> None:
    """Store ``leaf`` (re-encoded for position ``new_seq``) at row ``old_seq``, hash and all."""
    event = msgspec.structs.replace(decode_leaf(leaf), seq=new_seq, **columns)
    fixed = encode_leaf(event)
    conn.execute(
        update(audit_events)
        .where(audit_events.c.seq == old_seq)
        .values(seq=new_seq, leaf=fixed, leaf_hash=leaf_hash(fixed), actor=event.actor, action=event.action)
    )


def _size(conn: Connection) -> int:
    return (
        int(conn.execute(select(audit_events.c.seq).order_by(audit_events.c.seq.desc())).scalars().first())
        + 1
    )


def edit_leaf(conn: Connection, pos: int) -> None:
    leaf = _leaf(conn, pos).replace(b'"outcome":"ok"', b'"outcome":"no"')
    conn.execute(update(audit_events).where(audit_events.c.seq == pos).values(leaf=leaf))


def edit_leaf_consistently(conn: Connection, pos: int) -> None:
    _write(conn, pos, pos, _leaf(conn, pos), purpose="nothing to see here")


def edit_hash(conn: Connection, pos: int) -> None:
    forged = hashlib.sha256(b"forged").digest()
    conn.execute(update(audit_events).where(audit_events.c.seq == pos).values(leaf_hash=forged))


def edit_column(conn: Connection, pos: int) -> None:
    conn.execute(update(audit_events).where(audit_events.c.seq == pos).values(actor="somebody-else"))


def delete_event(conn: Connection, pos: int) -> None:
    conn.execute(delete(audit_events).where(audit_events.c.seq == pos))


def delete_and_renumber(conn: Connection, pos: int) -> None:
    size = _size(conn)
    delete_event(conn, pos)
    for seq in range(pos + 1, size):
        _write(conn, seq, seq - 1, _leaf(conn, seq))


def insert_event(conn: Connection, pos: int) -> None:
    size = _size(conn)
    for seq in reversed(range(pos, size)):
        _write(conn, seq, seq + 1, _leaf(conn, seq))
    forged = msgspec.structs.replace(decode_leaf(_leaf(conn, pos + 1)), seq=pos, actor="ghost")
    leaf = encode_leaf(forged)
    conn.execute(
        audit_events.insert().values(
            seq=pos, at_us=0, actor="ghost", action=forged.action, leaf=leaf, leaf_hash=leaf_hash(leaf)
        )
    )
    conn.execute(update(audit_events).where(audit_events.c.seq == pos).values(at_us=_at_us(leaf)))


def _at_us(leaf: bytes) -> int:
    return to_micros(decode_leaf(leaf).at)


def reorder_naively(conn: Connection, pos: int) -> None:
    """Swap two whole rows (leaf, hash and columns) by swapping their sequence numbers."""
    for source, target in ((pos, -1), (pos + 1, pos), (-1, pos + 1)):
        conn.execute(update(audit_events).where(audit_events.c.seq == source).values(seq=target))


def reorder_consistently(conn: Connection, pos: int) -> None:
    other = (pos + 7) % KEPT_SIZE
    a, b = _leaf(conn, pos), _leaf(conn, other)
    _write(conn, pos, pos, b)
    _write(conn, other, other, a)


def truncate(conn: Connection, pos: int) -> None:
    conn.execute(delete(audit_events).where(audit_events.c.seq >= pos))
    conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.size > pos))


def truncate_and_rewrite(conn: Connection, pos: int) -> None:
    size = _size(conn)
    template = _leaf(conn, 0)
    truncate(conn, pos)
    for seq in range(pos, size + 3):
        leaf = encode_leaf(msgspec.structs.replace(decode_leaf(template), seq=seq, actor="rewriter"))
        conn.execute(
            audit_events.insert().values(
                seq=seq,
                at_us=_at_us(leaf),
                actor="rewriter",
                action="posts.view",
                leaf=leaf,
                leaf_hash=leaf_hash(leaf),
            )
        )


AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DRILLS: list[tuple[Drill, str]] = [
    (edit_leaf, "leaf {pos} does not match its stored hash"),
    (edit_leaf_consistently, "does not have the root of checkpoint kept"),
    (edit_hash, "leaf {pos} does not match its stored hash"),
    (edit_column, "event {pos}: its actor column says 'somebody-else'"),
    (delete_event, "event {pos} is missing (deleted?)"),
    (delete_and_renumber, "does not have the root of checkpoint kept"),
    (insert_event, "does not have the root of checkpoint kept"),
    (reorder_naively, "its leaf says it is event"),
    (reorder_consistently, "does not have the root of checkpoint kept"),
    (truncate, "is not consistent with checkpoint kept of size 44: rolled back"),
    (truncate_and_rewrite, "does not have the root of checkpoint kept"),
]


def _snapshot(ctx: ServiceContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with ctx.store.engine.connect() as conn:  # type: ignore[attr-defined]
        return (
            [dict(r._mapping) for r in conn.execute(select(audit_events))],
            [dict(r._mapping) for r in conn.execute(select(audit_checkpoints))],
        )


def _restore(ctx: ServiceContext, snapshot: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    with ctx.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(delete(audit_events))
        conn.execute(delete(audit_checkpoints))
        conn.execute(audit_events.insert(), snapshot[0])
        conn.execute(audit_checkpoints.insert(), snapshot[1])


def test_every_tampering_is_detected_and_untampered_logs_pass(audit_ctx: ServiceContext) -> None:
    kept = [("kept", _build(audit_ctx))]
    snapshot = _snapshot(audit_ctx)
    for drill, expected in DRILLS:
        for pos in POSITIONS:
            with audit_ctx.store.engine.begin() as conn:  # type: ignore[attr-defined]
                drill(conn, pos)
            report = verify_log(audit_ctx, actor=AUDITOR, checkpoints=kept)
            assert not report.ok, f"{drill.__name__} at {pos} went unnoticed"
            found = [p for p in report.problems if expected.format(pos=pos) in p]
            assert found, (drill.__name__, pos, report.problems)
            _restore(audit_ctx, snapshot)
            clean = verify_log(audit_ctx, actor=AUDITOR, checkpoints=kept)
            assert clean.ok, (drill.__name__, pos, clean.problems)  # no false alarm once restored
            _restore(audit_ctx, snapshot)


def test_restoring_an_older_sqlite_backup_is_detected(tmp_path: Path) -> None:
    """A file-level backup and restore (on PostgreSQL the truncate drill has the same effect)."""
    audit_ctx = build_context(settings_for(str(tmp_path / "floor.db"), tmp_path), clock=FrozenClock(AT))
    db = Path(audit_ctx.store.url)
    add_events(audit_ctx, 20)
    backup = tmp_path / "backup.db"
    source, target = sqlite3.connect(db), sqlite3.connect(backup)
    source.backup(target)  # an online backup, as an operator's nightly job would take
    source.close()
    target.close()
    add_events(audit_ctx, 15, start=20)
    kept = [("kept", sign_checkpoint(audit_ctx, actor=AUDITOR).checkpoint.note)]  # size 36
    audit_ctx.store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, db)
    restored = build_context(audit_ctx.settings, clock=audit_ctx.clock)  # the floor restarts on it

    report = verify_log(restored, actor=AUDITOR, checkpoints=kept)
    assert not report.ok
    assert any(
        "tree of size 20 is not consistent with checkpoint kept of size 36" in p for p in report.problems
    )
    add_events(restored, 30, actor="after-restore")  # and carries on
    report = verify_log(restored, actor=AUDITOR, checkpoints=kept)
    assert any(
        "tree of the first 36 events does not have the root of checkpoint kept" in p for p in report.problems
    )
    with pytest.raises(Conflict, match="first 36 events no longer hash"):
        sign_checkpoint(restored, actor=AUDITOR)  # the signer's memory file was not restored
    restored.store.close()
