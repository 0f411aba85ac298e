"""The audit log in SQL: the :class:`~watchfloor.store.ports.AuditTx` part of SqlTx.

Sequence numbers must be dense and gap-free: the Merkle tree has no holes, and a missing number is how
a deleted event shows. Each append therefore takes ``max(seq) + 1`` inside the caller's transaction, so
a rolled-back transaction leaves no gap. That read-then-insert is safe only with one appender at a
time. SQLite has that already (every write transaction starts with ``BEGIN IMMEDIATE``). On PostgreSQL
the append first takes a transaction-scoped advisory lock, held until commit or rollback: auditing
writers queue there, so appends are totally ordered, at the price of serialising every auditing
transaction from its append to its commit (which is why services record their event last). Under READ
COMMITTED the statement after the lock sees the previous holder's committed row. The primary key on
``seq`` stays as the last line of defence: a sequencing bug fails the transaction, never forks the log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, select

from watchfloor.domain.audit import AuditDraft, AuditEvent, Checkpoint, decode_leaf, encode_leaf, leaf_hash
from watchfloor.domain.errors import StoreError
from watchfloor.store.dialects import Dialect
from watchfloor.store.ports import AuditRecord
from watchfloor.store.rows import from_micros, to_micros
from watchfloor.store.schema import audit_checkpoints, audit_events

# An arbitrary constant naming "the audit log" among PostgreSQL advisory locks (ASCII "wfaudit1").
AUDIT_LOCK_KEY = 0x7766617564697431
_HASH = 32
# Built once: appends are on every audited request's path, and building statements costs more than
# running them (SQLAlchemy memoises a statement object's cache key).
_LOCK = select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY))
_SIZE = select(func.coalesce(func.max(audit_events.c.seq) + 1, 0))
_INSERT = audit_events.insert()


def _blob(value: object) -> bytes:
    """A BLOB column's bytes; text by its UTF-8 bytes (SQLite keeps whatever type was written, so an
    edited row may hold a string: the verifier must get to see it, not crash on it)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise StoreError(f"an audit row holds {type(value).__name__} where bytes belong; run `audit verify`")


def _checkpoint(row: Row[Any, Any, Any, Any, Any]) -> Checkpoint:
    blob = bytes(row.frontier)
    return Checkpoint(
        size=int(row.size),
        root=bytes(row.root),
        frontier=tuple(blob[i : i + _HASH] for i in range(0, len(blob), _HASH)),
        note=row.note,
        signed_at=from_micros(row.signed_us),  # type: ignore[arg-type]  # NOT NULL column
    )


class AuditSql:
    """Audit appends, reads and checkpoints, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    def append_audit(self, draft: AuditDraft) -> AuditEvent:
        """Append ``draft`` as the next leaf and return the sequenced event (see the module docstring)."""
        if self.dialect.name == "postgresql":
            self.conn.execute(_LOCK)
        event = draft.sequenced(self.audit_size())
        leaf = encode_leaf(event)
        row = {
            "seq": event.seq,
            "at_us": to_micros(event.at),
            "actor": event.actor,
            "action": event.action,
            "leaf": leaf,
            "leaf_hash": leaf_hash(leaf),
        }
        self.conn.execute(_INSERT, row)
        return event

    def audit_size(self) -> int:
        return int(self.conn.execute(_SIZE).scalar_one())

    def audit_leaves(self, start: int, end: int) -> list[AuditRecord]:
        stmt = (
            select(audit_events)
            .where(audit_events.c.seq >= start, audit_events.c.seq < end)
            .order_by(audit_events.c.seq)
        )
        return [
            AuditRecord(
                seq=int(r.seq),
                at_us=int(r.at_us),
                actor=r.actor,
                action=r.action,
                leaf=_blob(r.leaf),
                leaf_hash=_blob(r.leaf_hash),
            )
            for r in self.conn.execute(stmt)
        ]

    def audit_events(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        stmt = (
            select(audit_events.c.seq, audit_events.c.leaf).order_by(audit_events.c.seq.desc()).limit(limit)
        )
        if actor is not None:
            stmt = stmt.where(audit_events.c.actor == actor)
        if action is not None:
            stmt = stmt.where(audit_events.c.action == action)
        if before is not None:
            stmt = stmt.where(audit_events.c.seq < before)
        found = []
        for row in self.conn.execute(stmt):
            try:
                found.append(decode_leaf(_blob(row.leaf)))
            except ValueError:
                raise StoreError(
                    f"audit event {row.seq:,} cannot be read (damaged or altered); "
                    "run `watchfloor audit verify` to check the whole log"
                ) from None
        return found

    def latest_checkpoint(self) -> Checkpoint | None:
        stmt = select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
        row = self.conn.execute(stmt).first()
        return None if row is None else _checkpoint(row)

    def checkpoint_at(self, size: int) -> Checkpoint | None:
        row = self.conn.execute(select(audit_checkpoints).where(audit_checkpoints.c.size == size)).first()
        return None if row is None else _checkpoint(row)

    def checkpoints(self) -> list[Checkpoint]:
        stmt = select(audit_checkpoints).order_by(audit_checkpoints.c.size)
        return [_checkpoint(r) for r in self.conn.execute(stmt)]

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.conn.execute(
            audit_checkpoints.insert().values(
                size=checkpoint.size,
                root=checkpoint.root,
                frontier=b"".join(checkpoint.frontier),
                note=checkpoint.note,
                signed_us=to_micros(checkpoint.signed_at),
            )
        )
