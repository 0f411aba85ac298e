"""In SQL: legal bases, named-account watches and account views (OversightTx); a mixin of SqlTx."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from watchfloor.domain.oversight import LegalBasis
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import legal_bases


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
