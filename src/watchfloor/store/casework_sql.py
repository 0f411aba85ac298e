"""In SQL: cases, legal holds, dissemination reviews and retention purges (CaseworkTx); a mixin of SqlTx."""

from __future__ import annotations

from sqlalchemy import Connection

from watchfloor.store.dialects import Dialect


class CaseworkSql:
    """SqlTx mixin: cases, legal holds, dissemination reviews and retention purges."""

    conn: Connection
    dialect: Dialect
