"""In SQL: aggregate counts for the transparency report and accuracy card (ReportsTx); a mixin of SqlTx."""

from __future__ import annotations

from sqlalchemy import Connection

from watchfloor.store.dialects import Dialect


class ReportsSql:
    """SqlTx mixin: aggregate counts for the transparency report and accuracy card."""

    conn: Connection
    dialect: Dialect
