"""What differs between SQLite and PostgreSQL: full-text upkeep, id assignment, bulk writes.

Everything else (queries, filters, stats) is shared SQLAlchemy Core in :mod:`watchfloor.store.sqlstore`.
The bulk-write paths run the driver's ``executemany`` on tuples: on the ingest hot path SQLAlchemy's
per-row parameter processing cost more than the database itself (measured: ~60% of write time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Select,
    Text,
    cast,
    column,
    func,
    literal,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from watchfloor.query.ast import Node
from watchfloor.store import textexpr
from watchfloor.store.rows import POST_COLUMNS
from watchfloor.store.schema import posts

_fts = table("posts_fts", column("rowid"), column("posts_fts"), column("rank"))
_tsv: ColumnClause[Any] = column("search_tsv")

Row = tuple[Any, ...]


def _to_tsquery(node: Node) -> ColumnElement[Any]:
    # A cast, not to_tsquery(): our words are already tokens and PostgreSQL's parser must not re-split them.
    return cast(literal(textexpr.tsquery(node), Text), TSQUERY)


_MAX_TS_POSITION = 16383  # PostgreSQL keeps positions up to this; later words still match, not phrases
_MAX_LEXEME = 255  # tsvector refuses lexemes over 2 KB; nobody searches for 256-letter words


def tsvector_literal(index_text: str) -> str:
    """``'tok':1 'tok2':2 ...``: a tsvector built from our tokens by cast, with positions for phrases."""
    parts = []
    for position, token in enumerate(index_text.split(), start=1):
        if len(token) > _MAX_LEXEME:
            continue
        escaped = token.replace("\\", "\\\\").replace("'", "''")
        parts.append(f"'{escaped}':{min(position, _MAX_TS_POSITION)}")
    return " ".join(parts)


class Dialect(Protocol):
    name: str

    def supports(self, node: Node) -> bool: ...

    def condition(self, node: Node) -> ColumnElement[bool]: ...

    def insert_posts(
        self, conn: Connection, rows: list[Row], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        """Insert posts (rows in POST_COLUMNS order); return (position, new id) of each row inserted."""
        ...

    def insert_ignore(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        """Insert rows, silently keeping the existing row where a unique key already exists."""
        ...

    def lookup(
        self, conn: Connection, table: str, key: str, value: str, keys: Sequence[Any], *, where: str = ""
    ) -> list[Row]:
        """``SELECT key, value FROM table WHERE key IN keys`` (plus an optional fixed condition)."""
        ...

    def order_by_relevance(self, stmt: Select[Any], node: Node) -> Select[Any]: ...


class SqliteDialect:
    """Embedded mode: ids assigned by the single writer, contentless FTS5 index of our tokens."""

    name = "sqlite"

    def supports(self, node: Node) -> bool:
        return textexpr.supports(node)

    def condition(self, node: Node) -> ColumnElement[bool]:
        matching = select(_fts.c.rowid).where(_fts.c.posts_fts.op("MATCH")(textexpr.fts5(node)))
        return posts.c.id.in_(matching)

    def insert_posts(
        self, conn: Connection, rows: list[Row], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        if not rows:
            return []
        # Safe because every write transaction starts with BEGIN IMMEDIATE: one writer at a time.
        first = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM posts").scalar_one()) + 1
        ids = range(first, first + len(rows))
        names = ", ".join(("id", *POST_COLUMNS))
        marks = ", ".join("?" * (len(POST_COLUMNS) + 1))
        conn.exec_driver_sql(
            f"INSERT INTO posts ({names}) VALUES ({marks})",
            [(i, *row) for i, row in zip(ids, rows, strict=True)],
        )
        conn.exec_driver_sql(
            "INSERT INTO posts_fts(rowid, body) VALUES (?, ?)", list(zip(ids, index_texts, strict=True))
        )
        return list(enumerate(ids))

    def insert_ignore(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        if rows:
            marks = ", ".join("?" * len(columns))
            conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows)
            )

    def lookup(
        self, conn: Connection, table: str, key: str, value: str, keys: Sequence[Any], *, where: str = ""
    ) -> list[Row]:
        if not keys:
            return []
        # One JSON array parameter instead of thousands of bound "?": parsed in C by json_each.
        sql = f"SELECT {key}, {value} FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))"
        return [tuple(r) for r in conn.exec_driver_sql(sql + where, (orjson.dumps(list(keys)).decode(),))]

    def order_by_relevance(self, stmt: Select[Any], node: Node) -> Select[Any]:
        ranked = (
            select(_fts.c.rowid.label("rid"), _fts.c.rank.label("score"))
            .where(_fts.c.posts_fts.op("MATCH")(textexpr.fts5(node)))
            .subquery()
        )
        return stmt.join(ranked, ranked.c.rid == posts.c.id).order_by(ranked.c.score, posts.c.id.desc())


class PostgresDialect:
    """Scale-out mode: identity ids, ON CONFLICT for concurrent writers, tsvector + GIN."""

    name = "postgresql"

    def supports(self, node: Node) -> bool:
        return textexpr.supports(node)

    def condition(self, node: Node) -> ColumnElement[bool]:
        return _tsv.op("@@")(_to_tsquery(node))

    def insert_posts(
        self, conn: Connection, rows: list[Row], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        if not rows:
            return []
        sql = (
            f"INSERT INTO posts ({', '.join(POST_COLUMNS)}, search_tsv) "
            f"VALUES ({', '.join(['%s'] * len(POST_COLUMNS))}, %s::tsvector) "
            "ON CONFLICT (platform, native_id) DO NOTHING RETURNING id"
        )
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        params = [(*row, tsvector_literal(body)) for row, body in zip(rows, index_texts, strict=True)]
        cursor.executemany(sql, params, returning=True)
        inserted: list[tuple[int, int]] = []
        position = 0
        while True:
            found = cursor.fetchone()
            if found is not None:
                inserted.append((position, int(found[0])))
            position += 1
            if not cursor.nextset():
                return inserted

    def insert_ignore(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        if rows:
            marks = ", ".join(["%s"] * len(columns))
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                list(rows),
            )

    def lookup(
        self, conn: Connection, table: str, key: str, value: str, keys: Sequence[Any], *, where: str = ""
    ) -> list[Row]:
        if not keys:
            return []
        array = "text[]" if isinstance(keys[0], str) else "bigint[]"
        sql = f"SELECT {key}, {value} FROM {table} WHERE {key} = ANY(%s::{array})"
        return [tuple(r) for r in conn.exec_driver_sql(sql + where, (list(keys),))]

    def order_by_relevance(self, stmt: Select[Any], node: Node) -> Select[Any]:
        return stmt.order_by(func.ts_rank(_tsv, _to_tsquery(node)).desc(), posts.c.id.desc())
