"""What differs between SQLite and PostgreSQL: connection set-up, id assignment, full-text upkeep.

Everything else (queries, filters, stats) is shared SQLAlchemy Core in :mod:`watchfloor.store.sqlstore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Select,
    Table,
    Text,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from watchfloor.query.ast import Node
from watchfloor.store import textexpr
from watchfloor.store.schema import posts

_fts = table("posts_fts", column("rowid"), column("posts_fts"), column("rank"))
_tsv: ColumnClause[Any] = column("search_tsv")
_SIMPLE: ColumnClause[Any] = literal_column("'simple'::regconfig")


def _to_tsquery(node: Node) -> ColumnElement[Any]:
    return func.to_tsquery(_SIMPLE, cast(literal(textexpr.tsquery(node)), Text))


class Dialect(Protocol):
    name: str

    def supports(self, node: Node) -> bool: ...

    def condition(self, node: Node) -> ColumnElement[bool]: ...

    def insert_posts(
        self, conn: Connection, rows: list[dict[str, Any]], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        """Insert new posts; return (position in rows, new id) for each row actually inserted."""
        ...

    def insert_ignore(self, conn: Connection, target: Table, rows: Sequence[dict[str, Any]]) -> None: ...

    def order_by_relevance(self, stmt: Select[Any], node: Node) -> Select[Any]: ...

    def delete_index(self, conn: Connection, ids_texts: Sequence[tuple[int, str]]) -> None: ...


class SqliteDialect:
    """Embedded mode: ids assigned by the single writer, contentless FTS5 index of our tokens."""

    name = "sqlite"

    def supports(self, node: Node) -> bool:
        return textexpr.supports(node)

    def condition(self, node: Node) -> ColumnElement[bool]:
        matching = select(_fts.c.rowid).where(_fts.c.posts_fts.op("MATCH")(textexpr.fts5(node)))
        return posts.c.id.in_(matching)

    def insert_posts(
        self, conn: Connection, rows: list[dict[str, Any]], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        if not rows:
            return []
        # Safe because every write transaction starts with BEGIN IMMEDIATE: one writer at a time.
        first = int(conn.execute(select(func.coalesce(func.max(posts.c.id), 0))).scalar_one()) + 1
        for offset, row in enumerate(rows):
            row["id"] = first + offset
        conn.execute(posts.insert(), rows)
        conn.execute(
            text("INSERT INTO posts_fts(rowid, body) VALUES (:id, :body)"),
            [{"id": row["id"], "body": body} for row, body in zip(rows, index_texts, strict=True)],
        )
        return [(i, row["id"]) for i, row in enumerate(rows)]

    def insert_ignore(self, conn: Connection, target: Table, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            conn.execute(sqlite.insert(target).on_conflict_do_nothing(), list(rows))

    def order_by_relevance(self, stmt: Select[Any], node: Node) -> Select[Any]:
        ranked = (
            select(_fts.c.rowid.label("rid"), _fts.c.rank.label("score"))
            .where(_fts.c.posts_fts.op("MATCH")(textexpr.fts5(node)))
            .subquery()
        )
        return stmt.join(ranked, ranked.c.rid == posts.c.id).order_by(ranked.c.score, posts.c.id.desc())

    def delete_index(self, conn: Connection, ids_texts: Sequence[tuple[int, str]]) -> None:
        if ids_texts:
            conn.execute(
                text("INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', :id, :body)"),
                [{"id": i, "body": body} for i, body in ids_texts],
            )


class PostgresDialect:
    """Scale-out mode: identity ids, ON CONFLICT for concurrent writers, tsvector + GIN."""

    name = "postgresql"

    def supports(self, node: Node) -> bool:
        return textexpr.supports(node)

    def condition(self, node: Node) -> ColumnElement[bool]:
        return _tsv.op("@@")(_to_tsquery(node))

    def insert_posts(
        self, conn: Connection, rows: list[dict[str, Any]], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        if not rows:
            return []
        names = [c for c in rows[0] if c != "id"]
        sql = (
            f"INSERT INTO posts ({', '.join(names)}, search_tsv) "
            f"VALUES ({', '.join(['%s'] * len(names))}, to_tsvector('simple', %s)) "
            "ON CONFLICT (platform, native_id) DO NOTHING RETURNING id"
        )
        params = [(*(row[n] for n in names), body) for row, body in zip(rows, index_texts, strict=True)]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        inserted: list[tuple[int, int]] = []
        cursor.executemany(sql, params, returning=True)
        position = 0
        while True:
            row = cursor.fetchone()
            if row is not None:
                inserted.append((position, int(row[0])))
            position += 1
            if not cursor.nextset():
                break
        return inserted

    def insert_ignore(self, conn: Connection, target: Table, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            conn.execute(postgresql.insert(target).on_conflict_do_nothing(), list(rows))

    def order_by_relevance(self, stmt: Select[Any], node: Node) -> Select[Any]:
        query = _to_tsquery(node)
        return stmt.order_by(func.ts_rank(_tsv, query).desc(), posts.c.id.desc())

    def delete_index(self, conn: Connection, ids_texts: Sequence[tuple[int, str]]) -> None:
        return None  # the tsvector lives in the row and goes with it
