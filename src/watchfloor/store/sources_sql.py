"""Live sources in SQL: the :class:`~watchfloor.store.ports.SourcesTx` half of SqlTx.

The cursor moves only through :meth:`SourcesSql.advance_source`, which the collector calls in the
transaction that stores the batch read before that cursor: the two commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Row, delete, select, update

from watchfloor.domain.errors import Conflict
from watchfloor.domain.sources import Source, SourceStatus
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import sources

_ERROR_CLIP = 1000  # characters of an error message kept on the source


def _source(row: Row[Any]) -> Source:
    m = row._mapping
    last = m["last_success_us"]
    return Source(
        id=int(m["id"]),
        name=m["name"],
        kind=m["kind"],
        config=msgspec.json.decode(m["config"]),
        basis_id=int(m["basis_id"]),
        cursor=m["cursor"],
        status=m["status"],
        last_success_at=from_micros(None if last is None else int(last)),
        last_error=m["last_error"],
        error_count=int(m["error_count"]),
        posts_total=int(m["posts_total"]),
        created_by=m["created_by"],
        created_at=instant(int(m["created_us"])),
        updated_at=instant(int(m["updated_us"])),
    )


class SourcesSql:
    """Source storage, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    def create_source(
        self, *, name: str, kind: str, config: dict[str, Any], basis_id: int, created_by: str, at: datetime
    ) -> Source:
        """Store a new active source; :class:`Conflict` if the name is taken."""
        if self.conn.execute(select(sources.c.id).where(sources.c.name == name)).first() is not None:
            raise Conflict(f"a source named {name!r} exists already; pick another name or remove it first")
        at_us = to_micros(at)
        new_id = self.conn.execute(
            sources.insert()
            .values(
                name=name,
                kind=kind,
                config=msgspec.json.encode(config).decode(),
                basis_id=basis_id,
                cursor=None,
                status="active",
                error_count=0,
                posts_total=0,
                created_by=created_by,
                created_us=at_us,
                updated_us=at_us,
            )
            .returning(sources.c.id)
        ).scalar_one()
        source = self.get_source(int(new_id))
        assert source is not None
        return source

    def get_source(self, source_id: int) -> Source | None:
        row = self.conn.execute(select(sources).where(sources.c.id == source_id)).first()
        return None if row is None else _source(row)

    def source_named(self, name: str) -> Source | None:
        row = self.conn.execute(select(sources).where(sources.c.name == name)).first()
        return None if row is None else _source(row)

    def list_sources(self) -> list[Source]:
        return [_source(r) for r in self.conn.execute(select(sources).order_by(sources.c.name))]

    def set_source_status(
        self, source_id: int, status: SourceStatus, *, at: datetime, error: str | None = None
    ) -> None:
        """Pause, resume or fail a source (``error`` is kept as its last error when given)."""
        values: dict[str, Any] = {"status": status, "updated_us": to_micros(at)}
        if error is not None:
            values["last_error"] = error[:_ERROR_CLIP]
        self.conn.execute(update(sources).where(sources.c.id == source_id).values(values))

    def record_source_error(self, source_id: int, error: str, *, at: datetime) -> None:
        """Count one failed fetch and keep its message (the cursor does not move)."""
        self.conn.execute(
            update(sources)
            .where(sources.c.id == source_id)
            .values(
                last_error=error[:_ERROR_CLIP],
                error_count=sources.c.error_count + 1,
                updated_us=to_micros(at),
            )
        )

    def advance_source(self, source_id: int, *, cursor: str | None, posts: int, at: datetime) -> None:
        """Move the cursor (None: keep it) and count ``posts`` new posts, in the batch's transaction."""
        at_us = to_micros(at)
        values: dict[str, Any] = {
            "posts_total": sources.c.posts_total + posts,
            "last_success_us": at_us,
            "updated_us": at_us,
        }
        if cursor is not None:
            values["cursor"] = cursor
        self.conn.execute(update(sources).where(sources.c.id == source_id).values(values))

    def delete_source(self, source_id: int) -> bool:
        """Remove a source's row (its posts stay); False if there was none."""
        return bool(self.conn.execute(delete(sources).where(sources.c.id == source_id)).rowcount)
