"""In SQL: legal bases, named-account watches and account views (OversightTx); a mixin of SqlTx."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from watchfloor.domain.oversight import LegalBasis, Watch, WatchStatus
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import account_views, legal_bases, watches


def _basis(row: Any) -> LegalBasis:
    return LegalBasis(
        id=row.id,
        title=row.title,
        authority=row.authority,
        purpose=row.purpose,
        necessity=row.necessity,
        owner=row.owner,
        review_at=from_micros(row.review_us),
        expires_at=from_micros(row.expires_us),
        created_at=instant(row.created_us),
        created_by=row.created_by,
        retired_at=from_micros(row.retired_us),
        retired_by=row.retired_by,
        retired_reason=row.retired_reason,
    )


def _watch(row: Any) -> Watch:
    status: WatchStatus = row.status
    return Watch(
        id=row.id,
        subject=row.subject,
        platform=row.platform,
        basis_id=row.basis_id,
        reason=row.reason,
        requester=row.requester,
        requested_at=instant(row.requested_us),
        status=status,
        days=row.days,
        approver=row.approver,
        decided_at=from_micros(row.decided_us),
        decision_note=row.decision_note,
        starts_at=from_micros(row.starts_us),
        expires_at=from_micros(row.expires_us),
        renewal_of=row.renewal_of,
        cancelled_by=row.cancelled_by,
        cancelled_at=from_micros(row.cancelled_us),
    )


class OversightSql:
    """SqlTx mixin: legal bases, named-account watches and account views."""

    conn: Connection
    dialect: Dialect

    # -- legal bases -----------------------------------------------------------------------------

    def create_basis(
        self,
        *,
        title: str,
        authority: str,
        purpose: str,
        necessity: str,
        owner: str,
        review_at: datetime | None,
        expires_at: datetime | None,
        created_by: str,
        at: datetime,
    ) -> LegalBasis:
        values = {
            "title": title,
            "authority": authority,
            "purpose": purpose,
            "necessity": necessity,
            "owner": owner,
            "review_us": None if review_at is None else to_micros(review_at),
            "expires_us": None if expires_at is None else to_micros(expires_at),
            "created_us": to_micros(at),
            "created_by": created_by,
        }
        new_id = self.conn.execute(
            legal_bases.insert().values(values).returning(legal_bases.c.id)
        ).scalar_one()
        basis = self.get_basis(int(new_id))
        assert basis is not None
        return basis

    def get_basis(self, basis_id: int) -> LegalBasis | None:
        row = self.conn.execute(select(legal_bases).where(legal_bases.c.id == basis_id)).first()
        return None if row is None else _basis(row)

    def list_bases(self) -> list[LegalBasis]:
        return [_basis(r) for r in self.conn.execute(select(legal_bases).order_by(legal_bases.c.id))]

    def retire_basis(self, basis_id: int, *, by: str, reason: str, at: datetime) -> LegalBasis | None:
        self.conn.execute(
            update(legal_bases)
            .where(legal_bases.c.id == basis_id, legal_bases.c.retired_us.is_(None))
            .values(retired_us=to_micros(at), retired_by=by, retired_reason=reason)
        )
        return self.get_basis(basis_id)

    # -- named-account watches -------------------------------------------------------------------

    def create_watch(
        self,
        *,
        subject: str,
        platform: str | None,
        basis_id: int,
        reason: str,
        requester: str,
        days: int,
        renewal_of: int | None,
        at: datetime,
    ) -> Watch:
        values = {
            "subject": subject,
            "platform": platform,
            "basis_id": basis_id,
            "reason": reason,
            "requester": requester,
            "requested_us": to_micros(at),
            "status": "requested",
            "days": days,
            "renewal_of": renewal_of,
        }
        new_id = self.conn.execute(watches.insert().values(values).returning(watches.c.id)).scalar_one()
        watch = self.get_watch(int(new_id))
        assert watch is not None
        return watch

    def get_watch(self, watch_id: int) -> Watch | None:
        row = self.conn.execute(select(watches).where(watches.c.id == watch_id)).first()
        return None if row is None else _watch(row)

    def list_watches(self, *, subject: str | None = None, approved_only: bool = False) -> list[Watch]:
        query = select(watches).order_by(watches.c.id)
        if subject is not None:
            query = query.where(watches.c.subject == subject)
        if approved_only:
            query = query.where(watches.c.status == "approved")
        return [_watch(r) for r in self.conn.execute(query)]

    def decide_watch(
        self,
        watch_id: int,
        *,
        status: WatchStatus,
        approver: str,
        note: str | None,
        at: datetime,
        starts_at: datetime | None,
        expires_at: datetime | None,
    ) -> Watch | None:
        done = self.conn.execute(
            update(watches)
            .where(watches.c.id == watch_id, watches.c.status == "requested")
            .values(
                status=status,
                approver=approver,
                decision_note=note,
                decided_us=to_micros(at),
                starts_us=None if starts_at is None else to_micros(starts_at),
                expires_us=None if expires_at is None else to_micros(expires_at),
            )
        )
        return self.get_watch(watch_id) if done.rowcount == 1 else None

    def cancel_watch(self, watch_id: int, *, by: str, at: datetime) -> Watch | None:
        done = self.conn.execute(
            update(watches)
            .where(watches.c.id == watch_id, watches.c.status.in_(("requested", "approved")))
            .values(status="cancelled", cancelled_by=by, cancelled_us=to_micros(at))
        )
        return self.get_watch(watch_id) if done.rowcount == 1 else None

    # -- account views (the repeated-viewing rule) -----------------------------------------------

    def record_account_view(self, *, actor: str, subject: str, session_key: str, at: datetime) -> None:
        self.conn.execute(
            account_views.insert().values(
                actor=actor, subject=subject, session_key=session_key, at_us=to_micros(at)
            )
        )

    def account_view_sessions(self, *, actor: str, subject: str, since: datetime) -> frozenset[str]:
        query = (
            select(account_views.c.session_key)
            .where(
                account_views.c.actor == actor,
                account_views.c.subject == subject,
                account_views.c.at_us >= to_micros(since),
            )
            .group_by(account_views.c.session_key)
        )
        return frozenset(str(key) for key in self.conn.execute(query).scalars())

    def count_account_views(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(account_views)).scalar_one())
