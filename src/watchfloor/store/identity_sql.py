"""In SQL: users, failed log-ons, sessions and API tokens (IdentityTx); a mixin of SqlTx."""

from __future__ import annotations

from sqlalchemy import Connection

from watchfloor.store.dialects import Dialect


class IdentitySql:
    """SqlTx mixin: users, failed log-ons, sessions and API tokens."""

    conn: Connection
    dialect: Dialect
