"""In SQL: cases, legal holds, dissemination reviews and retention purges (CaseworkTx); a mixin of SqlTx.

State changes that have a precondition (close an open case, decide a pending review, release an
approved one, release an active hold) are conditional UPDATEs: two people acting at once cannot both
succeed, and the loser gets ``None`` back for the service to turn into a Conflict. The retention purge
lives in :mod:`watchfloor.store.retention_sql`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, delete, select, update

from watchfloor.domain.oversight import (
    Case,
    CaseStatus,
    Dissemination,
    DisseminationItem,
    DisseminationKind,
    DisseminationStatus,
    HoldKind,
    LegalHold,
)
from watchfloor.store.casefile_sql import CasefileSql
from watchfloor.store.dialects import Dialect
from watchfloor.store.retention_sql import RetentionSql
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import case_alerts, cases, dissemination_blobs, disseminations, legal_holds

Spec = dict[str, str | int | None]
_ItemRow = tuple[int | None, str | None, str | None, int, int]  # post id, platform, native id, offset, length


class _StoredSpec(msgspec.Struct, kw_only=True):
    """The ``spec`` column: what was asked for, and where each item sits in the content."""

    spec: Spec = msgspec.field(default_factory=dict)
    items: list[_ItemRow] = msgspec.field(default_factory=list)


_spec_decoder = msgspec.json.Decoder(_StoredSpec)


def _case(row: Any) -> Case:
    return Case(
        id=int(row.id),
        title=row.title,
        basis_id=int(row.basis_id),
        owner=row.owner,
        status=row.status,
        opened_at=instant(row.opened_us),
        closed_at=from_micros(row.closed_us),
        summary=row.summary,
        due_at=from_micros(row.due_us),
    )


def _hold(row: Any) -> LegalHold:
    return LegalHold(
        id=int(row.id),
        kind=row.kind,
        object_id=int(row.object_id),
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=instant(row.placed_us),
        released_by=row.released_by,
        released_at=from_micros(row.released_us),
    )


def _dissemination(row: Any) -> Dissemination:
    return Dissemination(
        id=int(row.id),
        kind=row.kind,
        title=row.title,
        author=row.author,
        basis_id=int(row.basis_id),
        recipient=row.recipient,
        spec=_spec_decoder.decode(row.spec).spec,
        content_sha256=row.content_sha256,
        item_count=int(row.item_count),
        status=row.status,
        created_at=instant(row.created_us),
        reviewer=row.reviewer,
        decided_at=from_micros(row.decided_us),
        decision_note=row.decision_note,
        released_at=from_micros(row.released_us),
    )


class CaseworkSql(CasefileSql, RetentionSql):
    """SqlTx mixin: cases (and their files: :mod:`~watchfloor.store.casefile_sql`), legal holds,
    dissemination reviews and retention purges."""

    conn: Connection
    dialect: Dialect

    # -- cases -----------------------------------------------------------------------------------

    def create_case(self, *, title: str, basis_id: int, owner: str, at: datetime) -> Case:
        values = {
            "title": title,
            "basis_id": basis_id,
            "owner": owner,
            "status": "open",
            "opened_us": to_micros(at),
        }
        new_id = self.conn.execute(cases.insert().values(values).returning(cases.c.id)).scalar_one()
        case = self.get_case(int(new_id))
        assert case is not None
        return case

    def get_case(self, case_id: int) -> Case | None:
        row = self.conn.execute(select(cases).where(cases.c.id == case_id)).first()
        return None if row is None else _case(row)

    def list_cases(self, *, status: CaseStatus | None = None) -> list[Case]:
        stmt = select(cases).order_by(cases.c.id)
        if status is not None:
            stmt = stmt.where(cases.c.status == status)
        return [_case(r) for r in self.conn.execute(stmt)]

    def case_alert_ids(self, case_id: int) -> list[int]:
        stmt = select(case_alerts.c.alert_id).where(case_alerts.c.case_id == case_id)
        return [int(a) for a in self.conn.execute(stmt.order_by(case_alerts.c.alert_id)).scalars()]

    def add_case_alert(self, case_id: int, alert_id: int, *, by: str, at: datetime) -> bool:
        """Link an alert to a case; False if it was already linked (nothing changes)."""
        stmt = (
            self.dialect.insert(case_alerts)
            .values(case_id=case_id, alert_id=alert_id, added_by=by, added_us=to_micros(at))
            .on_conflict_do_nothing()
        )
        return bool(self.conn.execute(stmt).rowcount)

    def close_case(self, case_id: int, *, at: datetime, summary: str | None) -> Case | None:
        """Close an open case; ``None`` if it is not open (already closed, or no such case)."""
        changed = self.conn.execute(
            update(cases)
            .where(cases.c.id == case_id, cases.c.status == "open")
            .values(status="closed", closed_us=to_micros(at), summary=summary)
        )
        return self.get_case(case_id) if changed.rowcount else None

    def set_case_due(self, case_id: int, *, due: datetime | None) -> Case | None:
        """Set (or clear) an open case's deadline; ``None`` if the case is not open."""
        changed = self.conn.execute(
            update(cases)
            .where(cases.c.id == case_id, cases.c.status == "open")
            .values(due_us=None if due is None else to_micros(due))
        )
        return self.get_case(case_id) if changed.rowcount else None

    # -- legal holds -----------------------------------------------------------------------------

    def place_hold(self, *, kind: HoldKind, object_id: int, reason: str, by: str, at: datetime) -> LegalHold:
        values = {
            "kind": kind,
            "object_id": object_id,
            "reason": reason,
            "placed_by": by,
            "placed_us": to_micros(at),
        }
        new_id = self.conn.execute(
            legal_holds.insert().values(values).returning(legal_holds.c.id)
        ).scalar_one()
        hold = self.get_hold(int(new_id))
        assert hold is not None
        return hold

    def get_hold(self, hold_id: int) -> LegalHold | None:
        row = self.conn.execute(select(legal_holds).where(legal_holds.c.id == hold_id)).first()
        return None if row is None else _hold(row)

    def list_holds(self, *, active_only: bool = True) -> list[LegalHold]:
        stmt = select(legal_holds).order_by(legal_holds.c.id)
        if active_only:
            stmt = stmt.where(legal_holds.c.released_us.is_(None))
        return [_hold(r) for r in self.conn.execute(stmt)]

    def release_hold(self, hold_id: int, *, by: str, at: datetime) -> LegalHold | None:
        """Release an active hold; ``None`` if it is not active (already released, or no such hold)."""
        changed = self.conn.execute(
            update(legal_holds)
            .where(legal_holds.c.id == hold_id, legal_holds.c.released_us.is_(None))
            .values(released_by=by, released_us=to_micros(at))
        )
        return self.get_hold(hold_id) if changed.rowcount else None

    # -- dissemination reviews -------------------------------------------------------------------

    def create_dissemination(
        self,
        *,
        kind: DisseminationKind,
        title: str,
        author: str,
        basis_id: int,
        recipient: str,
        spec: Spec,
        content: bytes,
        content_sha256: str,
        items: list[DisseminationItem],
        at: datetime,
    ) -> Dissemination:
        """Store a pending review with the exact content under review and where its items are."""
        stored = _StoredSpec(
            spec=spec, items=[(i.post_id, i.platform, i.native_id, i.offset, i.length) for i in items]
        )
        values = {
            "kind": kind,
            "title": title,
            "author": author,
            "basis_id": basis_id,
            "recipient": recipient,
            "spec": msgspec.json.encode(stored).decode("utf-8"),
            "content_sha256": content_sha256,
            "item_count": len(items),
            "status": "pending",
            "created_us": to_micros(at),
        }
        new_id = int(
            self.conn.execute(
                disseminations.insert().values(values).returning(disseminations.c.id)
            ).scalar_one()
        )
        self.conn.execute(dissemination_blobs.insert().values(dissemination_id=new_id, content=content))
        found = self.get_dissemination(new_id)
        assert found is not None
        return found

    def get_dissemination(self, dissemination_id: int) -> Dissemination | None:
        row = self.conn.execute(select(disseminations).where(disseminations.c.id == dissemination_id)).first()
        return None if row is None else _dissemination(row)

    def list_disseminations(
        self, *, status: DisseminationStatus | None = None, limit: int = 100
    ) -> list[Dissemination]:
        """Reviews newest first, optionally only those with ``status``."""
        stmt = select(disseminations).order_by(disseminations.c.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(disseminations.c.status == status)
        return [_dissemination(r) for r in self.conn.execute(stmt)]

    def dissemination_content(self, dissemination_id: int) -> bytes | None:
        """The stored bytes under review; ``None`` once released or rejected (the hash stays)."""
        stmt = select(dissemination_blobs.c.content).where(
            dissemination_blobs.c.dissemination_id == dissemination_id
        )
        content = self.conn.execute(stmt).scalar_one_or_none()
        return None if content is None else bytes(content)

    def dissemination_items(self, dissemination_id: int) -> list[DisseminationItem]:
        stmt = select(disseminations.c.spec).where(disseminations.c.id == dissemination_id)
        text = self.conn.execute(stmt).scalar_one_or_none()
        if text is None:
            return []
        return [
            DisseminationItem(post_id=p, platform=pl, native_id=n, offset=o, length=ln)
            for p, pl, n, o, ln in _spec_decoder.decode(text).items
        ]

    def decide_dissemination(
        self,
        dissemination_id: int,
        *,
        status: DisseminationStatus,
        reviewer: str,
        note: str | None,
        content_sha256: str | None,
        at: datetime,
    ) -> Dissemination | None:
        """Approve or reject a pending review (of exactly ``content_sha256``, if given); ``None`` if it
        is not pending or its content hash differs (someone decided first, or the content changed)."""
        stmt = update(disseminations).where(
            disseminations.c.id == dissemination_id, disseminations.c.status == "pending"
        )
        if content_sha256 is not None:
            stmt = stmt.where(disseminations.c.content_sha256 == content_sha256)
        changed = self.conn.execute(
            stmt.values(status=status, reviewer=reviewer, decision_note=note, decided_us=to_micros(at))
        )
        return self.get_dissemination(dissemination_id) if changed.rowcount else None

    def mark_released(self, dissemination_id: int, *, at: datetime) -> Dissemination | None:
        """Mark an approved review released; ``None`` if it is not approved (released already?)."""
        changed = self.conn.execute(
            update(disseminations)
            .where(disseminations.c.id == dissemination_id, disseminations.c.status == "approved")
            .values(status="released", released_us=to_micros(at))
        )
        return self.get_dissemination(dissemination_id) if changed.rowcount else None

    def set_dissemination_manifest(self, dissemination_id: int, manifest: str) -> None:
        """Keep the manifest a release handed out (ids, hashes, names: no content)."""
        self.conn.execute(
            update(disseminations).where(disseminations.c.id == dissemination_id).values(manifest=manifest)
        )

    def dissemination_manifest(self, dissemination_id: int) -> str | None:
        stmt = select(disseminations.c.manifest).where(disseminations.c.id == dissemination_id)
        found = self.conn.execute(stmt).scalar_one_or_none()
        return None if found is None else str(found)

    def drop_dissemination_content(self, dissemination_id: int) -> None:
        """Delete the stored bytes (after release or rejection); the hash in the review stays."""
        self.conn.execute(
            delete(dissemination_blobs).where(dissemination_blobs.c.dissemination_id == dissemination_id)
        )
