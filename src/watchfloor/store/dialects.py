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
    BigInteger,
    ColumnClause,
    ColumnElement,
    Connection,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    column,
    func,
    literal,
    select,
    table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import TSQUERY

from watchfloor.query.ast import Node
from watchfloor.store import textexpr
from watchfloor.store.rows import FLAG_COLUMNS, POST_COLUMNS
from watchfloor.store.schema import posts

_fts = table("posts_fts", column("rowid", BigInteger), column("posts_fts"), column("rank"))
_tsv: ColumnClause[Any] = column("search_tsv")
_CREATED = POST_COLUMNS.index("created_us")

Row = tuple[Any, ...]
# INSERT with ON CONFLICT DO NOTHING / DO UPDATE: spelled alike, but each dialect has its own class.
ConflictInsert = postgresql.Insert | sqlite.Insert


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
    natural_keys: str
    concurrent_writers: bool
    # Whether a rare selector (#tag, @mention, domain:, lang:) should be compiled as ``id IN`` through
    # its index: SQLite's planner, without table statistics, checks an ``EXISTS`` for each post in id
    # order; PostgreSQL's planner makes the same semi-join of either form from its statistics.
    rare_selectors_by_index: bool

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

    def insert_keys_returning(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> set[int]:
        """Insert rows not already there (by key); return the integer keys (first column) inserted."""
        ...

    def lookup(
        self, conn: Connection, table: str, key: str, value: str, keys: Sequence[Any], *, where: str = ""
    ) -> list[Row]:
        """``SELECT key, value FROM table WHERE key IN keys`` (plus an optional fixed condition)."""
        ...

    def count_by(
        self,
        conn: Connection,
        table: str,
        key: str,
        groups: tuple[str, ...],
        keys: Sequence[Any],
        *,
        where: str = "",
    ) -> list[Row]:
        """``SELECT groups..., count(*) FROM table AS t WHERE t.key IN keys ... GROUP BY groups``: each
        group is an SQL expression over ``t``'s columns; rows where the first one is NULL are left out."""
        ...

    def ordered(self, stmt: Select[Any], text: Node | None, sort: str) -> Select[Any]:
        """Restrict ``stmt`` to posts matching the full-text node ``text`` (if any) and order it."""
        ...

    def match_key(self, sort: str) -> ColumnElement[Any] | None:
        """The column naming each full-text match where the text index drives a query in ``sort``
        order, for filters to be checked on before the post is read; None where they go on posts."""
        ...

    def text_search_template(self, stmt: Select[Any], sort: str) -> Select[Any] | None:
        """``ordered(stmt, text, sort)`` with the text's index expression left as the parameter
        ``TEXT_PARAM`` (see :func:`text_param_value`), to compile once and reuse for every plain
        full-text search; None where the dialect has no such fast path."""
        ...

    def insert(self, table: Table) -> ConflictInsert:
        """An INSERT into ``table`` that accepts ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
        ...


RELEVANCE_WINDOW = 10_000  # relevance ranks the newest this-many matches (bounded latency; see docs)
_ID_SLOTS = 1000  # SQLite post ids are created_us * 1000 + slot: id order is time order


TEXT_PARAM = "text_query"  # the bound parameter of a text_search_template


def _text_match(node: Node) -> ColumnElement[bool]:
    return _fts.c.posts_fts.op("MATCH")(textexpr.fts5(node))


def text_param_value(node: Node) -> str:
    """The value of ``TEXT_PARAM`` for the full-text node ``node`` (SQLite: its FTS5 expression)."""
    return textexpr.fts5(node)


class _KeyedReads:
    """``lookup`` and ``count_by`` for both dialects, which differ only in how a list of keys selects
    rows (``keyed_rows``: the FROM and WHERE of ``t``, the table's alias, and the parameters)."""

    def keyed_rows(self, table: str, key: str, keys: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        raise NotImplementedError

    def lookup(
        self, conn: Connection, table: str, key: str, value: str, keys: Sequence[Any], *, where: str = ""
    ) -> list[Row]:
        if not keys:
            return []
        # Duplicate keys give duplicate rows; callers pass distinct keys or collect into sets/dicts.
        rows, params = self.keyed_rows(table, key, keys)
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT t.{key}, t.{value} {rows}{where}", params)]

    def count_by(
        self,
        conn: Connection,
        table: str,
        key: str,
        groups: tuple[str, ...],
        keys: Sequence[Any],
        *,
        where: str = "",
    ) -> list[Row]:
        if not keys:
            return []
        rows, params = self.keyed_rows(table, key, keys)
        listed = ", ".join(groups)
        sql = f"SELECT {listed}, count(*) {rows} AND ({groups[0]}) IS NOT NULL{where} GROUP BY {listed}"
        return [tuple(r) for r in conn.exec_driver_sql(sql, params)]


class SqliteDialect(_KeyedReads):
    """Embedded mode: ids assigned by the single writer, contentless FTS5 index of our tokens."""

    name = "sqlite"
    natural_keys = "posts"  # where (platform, native_id) is unique
    concurrent_writers = False  # one writer at a time
    rare_selectors_by_index = True

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
        ids = self._time_ordered_ids(conn, [row[_CREATED] for row in rows])
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

    def _time_ordered_ids(self, conn: Connection, created: list[int]) -> list[int]:
        """Ids ``created_us * 1000 + slot``, so the FTS index's rowid order is newest/oldest order.

        FTS5 walks its doclists in rowid order and can stop after LIMIT matches; with ids in time order
        "newest first" costs what the bare index costs instead of sorting every match (see the search
        benchmark). Up to 1000 posts share a microsecond; more spill into the next microsecond's slots
        (a microsecond-level reordering, never a lost post). Safe because every write transaction starts
        with BEGIN IMMEDIATE: one writer at a time.

        An id is never given to a second post: the ids of purged posts stay in ``retired_post_ids``
        (the audit log and old exports name posts by id), and slots continue after them.
        """
        bases = sorted({c * _ID_SLOTS for c in created})
        next_free = {base: base for base in bases}
        taken = {int(found[0]) for found in self.lookup(conn, "posts", "id", "id", bases)}
        taken.update(int(found[0]) for found in self.lookup(conn, "retired_post_ids", "id", "id", bases))
        for base, highest in self._max_ids_in(conn, sorted(taken)).items():
            next_free[base] = highest + 1
        ids = []
        for stamp in created:
            base = stamp * _ID_SLOTS
            candidate = next_free[base]
            while candidate >= base + _ID_SLOTS:  # this microsecond is full: spill into the next one
                base += _ID_SLOTS
                if base not in next_free:
                    next_free[base] = self._max_id_in(conn, base) + 1
                candidate = next_free[base]
            next_free[base] = candidate + 1
            ids.append(candidate)
        return ids

    @staticmethod
    def _max_id_in(conn: Connection, base: int) -> int:
        """The highest post id, live or retired, in the slots from ``base`` (else ``base - 1``)."""
        return SqliteDialect._max_ids_in(conn, [base])[base]

    @staticmethod
    def _max_ids_in(conn: Connection, bases: Sequence[int]) -> dict[int, int]:
        """:meth:`_max_id_in` of each base, in one statement (a batch of posts created in the same
        few minutes as stored ones meets hundreds of taken microseconds)."""
        if not bases:
            return {}
        highest_in = (
            "coalesce((SELECT max(id) FROM {} WHERE id >= j.value AND id < j.value + ?), j.value - 1)"
        )
        sql = (
            f"SELECT j.value, max({highest_in.format('posts')}, {highest_in.format('retired_post_ids')}) "
            "FROM json_each(?) AS j"
        )
        found = conn.exec_driver_sql(sql, (_ID_SLOTS, _ID_SLOTS, orjson.dumps(list(bases)).decode()))
        return {int(base): int(highest) for base, highest in found}

    def insert_ignore(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        if rows:
            marks = ", ".join("?" * len(columns))
            conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows)
            )

    def insert_keys_returning(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> set[int]:
        before = {int(r[0]) for r in self.lookup(conn, table, columns[0], columns[0], [r[0] for r in rows])}
        self.insert_ignore(conn, table, columns, rows)
        return {int(r[0]) for r in rows} - before

    def keyed_rows(self, table: str, key: str, keys: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        # One JSON array parameter instead of thousands of bound "?": parsed in C by json_each. CROSS
        # JOIN keeps json_each the outer loop (one index probe per key) and skips the temporary B-tree
        # that ``key IN (SELECT value FROM json_each(?))`` builds first: about a third less time.
        rows = f"FROM json_each(?) AS j CROSS JOIN {table} AS t WHERE t.{key} = j.value"
        return rows, (orjson.dumps(list(keys)).decode(),)

    def ordered(self, stmt: Select[Any], text: Node | None, sort: str) -> Select[Any]:
        if text is None:
            return stmt.order_by(posts.c.id if sort == "oldest" else posts.c.id.desc())
        return self._matching(stmt, _text_match(text), sort)

    def match_key(self, sort: str) -> ColumnElement[Any] | None:
        # Relevance joins the ranked window (a subquery built with the match) to posts: filters stay
        # on posts there.
        return None if sort == "relevance" else _fts.c.rowid

    def text_search_template(self, stmt: Select[Any], sort: str) -> Select[Any] | None:
        return self._matching(stmt, _fts.c.posts_fts.op("MATCH")(bindparam(TEXT_PARAM, type_=Text)), sort)

    @staticmethod
    def _matching(stmt: Select[Any], match: ColumnElement[bool], sort: str) -> Select[Any]:
        """``stmt`` restricted to the posts the index finds with ``match``, in ``sort`` order."""
        newest_first = posts.c.id.desc()  # ids are in time order (see _time_ordered_ids)
        if sort == "relevance":
            # bm25 scores every row it is given: rank the newest RELEVANCE_WINDOW matches only.
            recent = (
                select(_fts.c.rowid.label("rid"), _fts.c.rank.label("score"))
                .where(match)
                .order_by(_fts.c.rowid.desc())
                .limit(RELEVANCE_WINDOW)
                .subquery()
            )
            return stmt.join(recent, recent.c.rid == posts.c.id).order_by(recent.c.score, newest_first)
        joined = stmt.join_from(posts, _fts, _fts.c.rowid == posts.c.id).where(match)
        return joined.order_by(_fts.c.rowid if sort == "oldest" else _fts.c.rowid.desc())

    def insert(self, table: Table) -> ConflictInsert:
        return sqlite.insert(table)


class PostgresDialect(_KeyedReads):
    """Scale-out mode: identity ids, ON CONFLICT for concurrent writers, tsvector + GIN."""

    name = "postgresql"
    natural_keys = "post_keys"  # where (platform, native_id) is unique: posts is partitioned
    concurrent_writers = True  # workers store at once: cluster_races settles near-duplicate races
    rare_selectors_by_index = False

    def supports(self, node: Node) -> bool:
        return textexpr.supports(node)

    def condition(self, node: Node) -> ColumnElement[bool]:
        return _tsv.op("@@")(_to_tsquery(node))

    def insert_posts(
        self, conn: Connection, rows: list[Row], index_texts: list[str]
    ) -> list[tuple[int, int]]:
        """Claim each post's natural key in ``post_keys``, then store the posts whose key was new.

        ``posts`` is partitioned (``store.postgres.partitions``), so its natural key cannot be a unique
        constraint; ``post_keys`` is. A concurrent writer inserting the same key waits for this
        transaction and then finds the key taken, exactly as a unique constraint on ``posts`` behaved.
        """
        if not rows:
            return []
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        # Keys in one order for every writer: two batches holding the same posts cannot deadlock.
        order = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1]))
        cursor.executemany(
            "INSERT INTO post_keys (platform, native_id, post_id) "
            "VALUES (%s, %s, nextval('posts_id_seq')) ON CONFLICT DO NOTHING RETURNING post_id",
            [(rows[i][0], rows[i][1]) for i in order],
            returning=True,
        )
        inserted: list[tuple[int, int]] = []
        step = 0
        while True:
            found = cursor.fetchone()
            if found is not None:
                inserted.append((order[step], int(found[0])))
            step += 1
            if not cursor.nextset():
                break
        inserted.sort()
        if inserted:
            # Flags come as 0/1 (rows.post_row); psycopg sends them as smallint, which needs the cast.
            marks = ", ".join("%s::int::boolean" if name in FLAG_COLUMNS else "%s" for name in POST_COLUMNS)
            cursor.executemany(
                f"INSERT INTO posts (id, {', '.join(POST_COLUMNS)}, search_tsv) "
                f"VALUES (%s, {marks}, %s::tsvector)",
                [(post_id, *rows[p], tsvector_literal(index_texts[p])) for p, post_id in inserted],
            )
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

    def insert_keys_returning(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> set[int]:
        if not rows:
            return set()
        marks = ", ".join(["%s"] * len(columns))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT DO NOTHING RETURNING {columns[0]}",
            list(rows),
            returning=True,
        )
        inserted: set[int] = set()
        while True:
            found = cursor.fetchone()
            if found is not None:
                inserted.add(int(found[0]))
            if not cursor.nextset():
                return inserted

    def keyed_rows(self, table: str, key: str, keys: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        array = "text[]" if isinstance(keys[0], str) else "bigint[]"
        return f"FROM {table} AS t WHERE t.{key} = ANY(%s::{array})", (list(keys),)

    def ordered(self, stmt: Select[Any], text: Node | None, sort: str) -> Select[Any]:
        if text is not None:
            stmt = stmt.where(self.condition(text))
            if sort == "relevance":
                return stmt.order_by(func.ts_rank(_tsv, _to_tsquery(text)).desc(), posts.c.id.desc())
        if sort == "oldest":
            return stmt.order_by(posts.c.created_us, posts.c.id)
        return stmt.order_by(posts.c.created_us.desc(), posts.c.id.desc())

    def match_key(self, sort: str) -> ColumnElement[Any] | None:
        return None  # the planner chooses how to join the text index and the filters

    def text_search_template(self, stmt: Select[Any], sort: str) -> Select[Any] | None:
        return None  # a query's tsquery is built as SQL, not bound as one value

    def insert(self, table: Table) -> ConflictInsert:
        return postgresql.insert(table)
