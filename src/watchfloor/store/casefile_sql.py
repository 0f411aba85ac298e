"""In SQL: a case's file — tasks, typed notes, manual account links, evidence and its custody chain.

A mixin of SqlTx through :class:`~watchfloor.store.casework_sql.CaseworkSql`. Evidence is write-once:
there are methods to add items, parts, blobs and custody events, and none to change or delete them
(only the retention purge deletes, with the case). Blobs are content-addressed: inserting bytes whose
SHA-256 is already stored does nothing, so two captures of the same payload share one row and a stored
blob is never overwritten. The caller computes the hash; :meth:`evidence_blob` returns the bytes as
stored, so a re-hash (services/evidence.py ``verify_evidence``) detects any change made behind the
store's back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from watchfloor.domain.casework import (
    CaseLink,
    CaseNote,
    CaseTask,
    CustodyAction,
    CustodyEvent,
    EvidenceItem,
    EvidencePart,
    NoteKind,
)
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import (
    case_links,
    case_notes,
    case_tasks,
    custody_events,
    evidence_blobs,
    evidence_items,
    evidence_parts,
)


def _task(row: Any) -> CaseTask:
    return CaseTask(
        id=int(row.id),
        case_id=int(row.case_id),
        text=row.text,
        done=bool(row.done),
        created_by=row.created_by,
        created_at=instant(row.created_us),
        done_by=row.done_by,
        done_at=from_micros(row.done_us),
    )


def _note(row: Any) -> CaseNote:
    return CaseNote(
        id=int(row.id),
        case_id=int(row.case_id),
        kind=row.kind,
        body=row.body,
        author=row.author,
        at=instant(row.at_us),
    )


def _link(row: Any) -> CaseLink:
    return CaseLink(
        id=int(row.id),
        case_id=int(row.case_id),
        platform=row.platform,
        handle=row.handle,
        reason=row.reason,
        linked_by=row.linked_by,
        at=instant(row.at_us),
    )


def _custody(row: Any) -> CustodyEvent:
    return CustodyEvent(
        id=int(row.id),
        evidence_id=int(row.evidence_id),
        action=row.action,
        actor=row.actor,
        at=instant(row.at_us),
        note=row.note,
    )


class CasefileSql:
    """SqlTx mixin: tasks, notes, links, evidence items, parts, blobs and custody events."""

    conn: Connection
    dialect: Dialect

    # -- tasks, notes, links ----------------------------------------------------------------------

    def add_case_task(self, case_id: int, *, text: str, by: str, at: datetime) -> CaseTask:
        values = {
            "case_id": case_id,
            "text": text,
            "done": False,
            "created_by": by,
            "created_us": to_micros(at),
        }
        new_id = self.conn.execute(case_tasks.insert().values(values).returning(case_tasks.c.id)).scalar_one()
        task = self.get_case_task(int(new_id))
        assert task is not None
        return task

    def get_case_task(self, task_id: int) -> CaseTask | None:
        row = self.conn.execute(select(case_tasks).where(case_tasks.c.id == task_id)).first()
        return None if row is None else _task(row)

    def complete_case_task(self, task_id: int, *, by: str, at: datetime) -> CaseTask | None:
        """Mark an open task done; ``None`` if it is already done (or does not exist)."""
        changed = self.conn.execute(
            update(case_tasks)
            .where(case_tasks.c.id == task_id, case_tasks.c.done.is_(False))
            .values(done=True, done_by=by, done_us=to_micros(at))
        )
        return self.get_case_task(task_id) if changed.rowcount else None

    def case_tasks(self, case_id: int) -> list[CaseTask]:
        stmt = select(case_tasks).where(case_tasks.c.case_id == case_id).order_by(case_tasks.c.id)
        return [_task(r) for r in self.conn.execute(stmt)]

    def add_case_note(
        self, case_id: int, *, kind: NoteKind, body: str, author: str, at: datetime
    ) -> CaseNote:
        values = {"case_id": case_id, "kind": kind, "body": body, "author": author, "at_us": to_micros(at)}
        new_id = self.conn.execute(case_notes.insert().values(values).returning(case_notes.c.id)).scalar_one()
        row = self.conn.execute(select(case_notes).where(case_notes.c.id == new_id)).one()
        return _note(row)

    def case_notes(self, case_id: int) -> list[CaseNote]:
        stmt = select(case_notes).where(case_notes.c.case_id == case_id).order_by(case_notes.c.id)
        return [_note(r) for r in self.conn.execute(stmt)]

    def add_case_link(
        self, case_id: int, *, platform: str | None, handle: str, reason: str, by: str, at: datetime
    ) -> CaseLink:
        values = {
            "case_id": case_id,
            "platform": platform,
            "handle": handle,
            "reason": reason,
            "linked_by": by,
            "at_us": to_micros(at),
        }
        new_id = self.conn.execute(case_links.insert().values(values).returning(case_links.c.id)).scalar_one()
        row = self.conn.execute(select(case_links).where(case_links.c.id == new_id)).one()
        return _link(row)

    def case_links(self, case_id: int) -> list[CaseLink]:
        stmt = select(case_links).where(case_links.c.case_id == case_id).order_by(case_links.c.id)
        return [_link(r) for r in self.conn.execute(stmt)]

    # -- evidence ---------------------------------------------------------------------------------

    def put_evidence_blob(self, sha256: str, content: bytes) -> bool:
        """Store ``content`` under its hash; False (and nothing changes) if that hash is already stored."""
        stmt = (
            self.dialect.insert(evidence_blobs)
            .values(sha256=sha256, content=content)
            .on_conflict_do_nothing()
            .returning(evidence_blobs.c.sha256)  # rowcount is not reliable here on every driver
        )
        return self.conn.execute(stmt).first() is not None

    def evidence_blob(self, sha256: str) -> bytes | None:
        stmt = select(evidence_blobs.c.content).where(evidence_blobs.c.sha256 == sha256)
        content = self.conn.execute(stmt).scalar_one_or_none()
        return None if content is None else bytes(content)

    def create_evidence(
        self,
        *,
        case_id: int,
        post_id: int,
        platform: str,
        native_id: str,
        url: str | None,
        captured_at: datetime,
        captured_by: str,
        basis_id: int,
        tool_version: str,
        parts: Sequence[EvidencePart],
    ) -> EvidenceItem:
        """An evidence item and its parts (whose blobs must already be stored)."""
        values = {
            "case_id": case_id,
            "post_id": post_id,
            "platform": platform,
            "native_id": native_id,
            "url": url,
            "captured_us": to_micros(captured_at),
            "captured_by": captured_by,
            "basis_id": basis_id,
            "tool_version": tool_version,
        }
        new_id = int(
            self.conn.execute(
                evidence_items.insert().values(values).returning(evidence_items.c.id)
            ).scalar_one()
        )
        self.conn.execute(
            evidence_parts.insert(),
            [
                {
                    "evidence_id": new_id,
                    "name": p.name,
                    "media_type": p.media_type,
                    "sha256": p.sha256,
                    "size": p.size,
                }
                for p in parts
            ],
        )
        item = self.get_evidence(new_id)
        assert item is not None
        return item

    def _items(self, rows: Sequence[Any]) -> list[EvidenceItem]:
        ids = [int(r.id) for r in rows]
        parts: dict[int, list[EvidencePart]] = {i: [] for i in ids}
        if ids:
            stmt = (
                select(evidence_parts)
                .where(evidence_parts.c.evidence_id.in_(ids))
                .order_by(evidence_parts.c.evidence_id, evidence_parts.c.name)
            )
            for p in self.conn.execute(stmt):
                parts[int(p.evidence_id)].append(
                    EvidencePart(name=p.name, media_type=p.media_type, sha256=p.sha256, size=int(p.size))
                )
        return [
            EvidenceItem(
                id=int(r.id),
                case_id=int(r.case_id),
                post_id=int(r.post_id),
                platform=r.platform,
                native_id=r.native_id,
                url=r.url,
                captured_at=instant(r.captured_us),
                captured_by=r.captured_by,
                basis_id=int(r.basis_id),
                tool_version=r.tool_version,
                parts=tuple(parts[int(r.id)]),
            )
            for r in rows
        ]

    def get_evidence(self, evidence_id: int) -> EvidenceItem | None:
        rows = self.conn.execute(select(evidence_items).where(evidence_items.c.id == evidence_id)).all()
        found = self._items(rows)
        return found[0] if found else None

    def case_evidence(self, case_id: int) -> list[EvidenceItem]:
        stmt = select(evidence_items).where(evidence_items.c.case_id == case_id).order_by(evidence_items.c.id)
        return self._items(self.conn.execute(stmt).all())

    def add_custody_events(
        self,
        evidence_ids: Sequence[int],
        *,
        action: CustodyAction,
        actor: str,
        at: datetime,
        note: str | None,
    ) -> None:
        """Append one custody event per evidence item (the chain is append-only)."""
        if evidence_ids:
            self.conn.execute(
                custody_events.insert(),
                [
                    {"evidence_id": e, "action": action, "actor": actor, "at_us": to_micros(at), "note": note}
                    for e in evidence_ids
                ],
            )

    def custody_events(self, evidence_ids: Sequence[int]) -> list[CustodyEvent]:
        """The custody events of these items, oldest first."""
        if not evidence_ids:
            return []
        stmt = (
            select(custody_events)
            .where(custody_events.c.evidence_id.in_(list(evidence_ids)))
            .order_by(custody_events.c.id)
        )
        return [_custody(r) for r in self.conn.execute(stmt)]
