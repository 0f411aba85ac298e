"""The store behind the ports, on SQLAlchemy Core: one class for both SQLite and PostgreSQL.

A :class:`SqlTx` is one database transaction. Posts are written in batches: keys already stored are
skipped (idempotent re-imports), near-duplicate clusters are assigned, then posts, full-text index,
selector terms, LSH bands and raw payloads are inserted together. Rules, alerts and the audit log are
mixed in from ``rules_sql``, ``alerts_sql``, ``triage_sql`` and ``audit_sql``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, func, select, tuple_, update

from watchfloor.domain.post import Deletion, Location, Prepared, Quarantined
from watchfloor.query.ast import And, MatchAll, Node, Not, Query
from watchfloor.query.describe import needs_post_filter
from watchfloor.query.evaluate import Document, matches
from watchfloor.query.tokens import index_text
from watchfloor.store import clusters, rows
from watchfloor.store.alerts_sql import AlertsSql
from watchfloor.store.audit_sql import AuditSql
from watchfloor.store.casework_sql import CaseworkSql
from watchfloor.store.cluster_races import settle_band_races
from watchfloor.store.console_sql import ConsoleSql
from watchfloor.store.dialects import TEXT_PARAM, Dialect, text_param_value
from watchfloor.store.identity_sql import IdentitySql
from watchfloor.store.image_sql import ImagesSql
from watchfloor.store.media_sql import MediaSql, queue_post_media
from watchfloor.store.oversight_sql import OversightSql
from watchfloor.store.ports import (
    Facet,
    ImportRun,
    QuarantineEntry,
    SortOrder,
    StoredPost,
    StoreStats,
    WriteResult,
)
from watchfloor.store.query_sql import AccountLists, RareTerm, compile_condition, is_text
from watchfloor.store.reports_sql import ReportsSql
from watchfloor.store.rules_sql import RulesSql
from watchfloor.store.schema import (
    imports,
    post_terms,
    posts,
    quarantine,
    raw_payloads,
)
from watchfloor.store.search_console_sql import SearchConsoleSql
from watchfloor.store.sources_sql import SourcesSql
from watchfloor.store.triage_sql import TriageSql

_CHUNK = 500  # rows per page when streaming search results
RARE_SELECTOR_POSTS = 1_000  # a #tag, @mention, domain: or lang: held by fewer posts is "rare" (RareTerm)
_LOOKUP_CHUNK = 20_000  # keys per lookup statement (one array parameter)
_RAW_DIGEST = rows.POST_COLUMNS.index("raw_digest")
_POST_COLUMNS = (posts.c.id, posts.c.doc, posts.c.cluster_id, posts.c.deleted_us)
# (dialect, sort) -> a full-text-only search's compiled SQL, its parameters' order and constant values
_TEXT_ONLY_SQL: dict[tuple[str, str], tuple[str, tuple[str, ...], dict[str, Any]] | None] = {}


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _stored(row: Row[Any, Any, Any, Any]) -> StoredPost:
    return StoredPost(
        id=int(row.id),
        post=rows.decode_post(row.doc),
        cluster_id=row.cluster_id,
        deleted_at=rows.from_micros(row.deleted_us),
    )


def _quarantine_row(entry: Quarantined, import_id: int | None, at_us: int) -> tuple[Any, ...]:
    where = entry.location
    key = rows.quarantine_key(entry)
    return (
        import_id,
        entry.format,
        where.source,
        where.line,
        where.index,
        entry.field,
        entry.reason,
        entry.raw,
        at_us,
        key,
    )


def _split_main_text(node: Node) -> tuple[Node | None, Node]:
    """Split a query into the full-text part that can drive the index, and the rest (filters).

    ``lang:en (flood OR "water rising") -#prayers`` -> (``flood OR "water rising"``, ``lang:en -#prayers``).
    """
    if is_text(node) and not isinstance(node, Not):
        return node, MatchAll()
    if isinstance(node, And):
        text_children = [c for c in node.children if is_text(c)]
        if any(not isinstance(c, Not) for c in text_children):
            rest = tuple(c for c in node.children if not is_text(c))
            main = And(tuple(text_children)) if len(text_children) > 1 else text_children[0]
            return main, (And(rest) if len(rest) > 1 else rest[0] if rest else MatchAll())
    return None, node


class SqlTx(
    RulesSql,
    AlertsSql,
    TriageSql,
    AuditSql,
    IdentitySql,
    OversightSql,
    CaseworkSql,
    ReportsSql,
    SearchConsoleSql,
    ConsoleSql,
    SourcesSql,
    ImagesSql,
    MediaSql,
):
    """One transaction on the store (implements :class:`watchfloor.store.ports.StoreTx`)."""

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect
        self._rare_selectors: dict[tuple[tuple[str, ...], str], bool] = {}

    # -- imports and quarantine ------------------------------------------------------------------

    def start_import(self, *, source: str, format: str, at: datetime) -> int:
        values = {"source": source, "format": format, "started_us": rows.to_micros(at)}
        counts = dict.fromkeys(
            ("records", "inserted", "duplicates", "deletions", "skipped", "quarantined"), 0
        )
        result = self.conn.execute(imports.insert().values(**values, **counts).returning(imports.c.id))
        return int(result.scalar_one())

    def finish_import(self, run: ImportRun, *, at: datetime) -> None:
        self.conn.execute(
            update(imports)
            .where(imports.c.id == run.id)
            .values(
                finished_us=rows.to_micros(at),
                records=run.records,
                inserted=run.inserted,
                duplicates=run.duplicates,
                deletions=run.deletions,
                skipped=run.skipped,
                quarantined=run.quarantined,
            )
        )

    def write_quarantine(self, entries: Sequence[Quarantined], *, import_id: int | None, at: datetime) -> int:
        if not entries:
            return 0
        at_us = rows.to_micros(at)
        columns = ("import_id", "format", "source", "line", "item_index", "field", "reason", "payload")
        self.dialect.insert_ignore(
            self.conn,
            "quarantine",
            (*columns, "quarantined_us", "entry_key"),
            [_quarantine_row(e, import_id, at_us) for e in entries],
        )
        return len(entries)

    def list_quarantine(self, *, limit: int, import_id: int | None = None) -> list[QuarantineEntry]:
        stmt = select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
        if import_id is not None:
            stmt = stmt.where(quarantine.c.import_id == import_id)
        return [
            QuarantineEntry(
                id=int(r.id),
                import_id=r.import_id,
                format=r.format,
                location=Location(source=r.source, line=r.line, index=r.item_index),
                reason=r.reason,
                field=r.field,
                raw=bytes(r.payload),
                quarantined_at=rows.from_micros(r.quarantined_us),  # type: ignore[arg-type]
            )
            for r in self.conn.execute(stmt)
        ]

    def list_imports(self, *, limit: int) -> list[ImportRun]:
        stmt = select(imports).order_by(imports.c.id.desc()).limit(limit)
        return [
            ImportRun(
                id=int(r.id),
                source=r.source,
                format=r.format,
                started_at=rows.from_micros(r.started_us),  # type: ignore[arg-type]
                finished_at=rows.from_micros(r.finished_us),
                records=r.records,
                inserted=r.inserted,
                duplicates=r.duplicates,
                deletions=r.deletions,
                skipped=r.skipped,
                quarantined=r.quarantined,
            )
            for r in self.conn.execute(stmt)
        ]

    # -- writes ----------------------------------------------------------------------------------

    def _existing_keys(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        by_platform: dict[str, list[str]] = {}
        for platform, native in keys:
            by_platform.setdefault(platform, []).append(native)
        found: set[tuple[str, str]] = set()
        for platform, natives in by_platform.items():
            # The platform is a fixed literal from our own mappers; quote it anyway.
            where = " AND platform = '" + platform.replace("'", "''") + "'"
            for chunk in _chunks(natives, _LOOKUP_CHUNK):
                rows_found = self.dialect.lookup(
                    self.conn, self.dialect.natural_keys, "native_id", "platform", chunk, where=where
                )
                found.update((p, n) for n, p in rows_found)
        return found

    def _lookup_ints(self, table: str, key: str, value: str, keys: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for chunk in _chunks(keys, _LOOKUP_CHUNK):
            found.update(
                (int(k), int(v)) for k, v in self.dialect.lookup(self.conn, table, key, value, chunk)
            )
        return found

    def write_posts(self, prepared: Sequence[Prepared], *, import_id: int | None) -> WriteResult:
        """Store the posts not stored yet; a post already stored (same platform and id) is a duplicate."""
        unique: dict[tuple[str, str], Prepared] = {}
        for item in prepared:
            unique.setdefault(item.post.key, item)
        existing = self._existing_keys(list(unique))
        new = [item for key, item in unique.items() if key not in existing]
        cluster_ids, new_bands = clusters.assign_clusters(
            new,
            lookup_content=lambda keys: self._lookup_ints("posts", "content_key", "cluster_id", keys),
            lookup_bands=lambda keys: self._lookup_ints("dedup_bands", "band_key", "cluster_id", keys),
        )
        post_rows = [
            rows.post_row(item, import_id=import_id, cluster_id=cluster)
            for item, cluster in zip(new, cluster_ids, strict=True)
        ]
        texts = [
            item.index_text if item.index_text is not None else index_text(item.post.searchable_text())
            for item in new
        ]
        inserted = self.dialect.insert_posts(self.conn, post_rows, texts)
        queue_post_media(self.conn, self.dialect, [(post_id, new[p].post) for p, post_id in inserted])
        self.dialect.insert_ignore(
            self.conn,
            "post_terms",
            ("kind", "value", "post_id"),
            [
                (kind, value, post_id)
                for position, post_id in inserted
                for kind, value in rows.post_terms(new[position].post)
            ],
        )
        # In key order (B-tree locality); sorting the int keys, not (key, cluster) tuples, is several
        # times cheaper and gives the same order, keys being unique.
        band_rows = [(b, new_bands[b]) for b in sorted(new_bands)]
        final_clusters = [cluster_ids[p] for p, _ in inserted]
        if self.dialect.concurrent_writers and new_bands:
            # A key this batch did not get to insert went to a concurrent writer (it was new before).
            won = self.dialect.insert_keys_returning(
                self.conn, "dedup_bands", ("band_key", "cluster_id"), band_rows
            )
            lost = [b for b in new_bands if b not in won]
            if lost:
                final_clusters = settle_band_races(
                    self.conn,
                    self._lookup_ints("dedup_bands", "band_key", "cluster_id", sorted(lost)),
                    new_bands,
                    [post_id for _, post_id in inserted],
                    final_clusters,
                )
        else:
            self.dialect.insert_ignore(self.conn, "dedup_bands", ("band_key", "cluster_id"), band_rows)
        # Keyed by the digest as bytes: the row holds it as a bytearray (rows.blob), which is unhashable.
        raws = {
            bytes(post_rows[p][_RAW_DIGEST]): (new[p].raw_format, new[p].raw)
            for p, _ in inserted
            if new[p].raw
        }
        self.dialect.insert_ignore(
            self.conn,
            "raw_payloads",
            ("digest", "format", "payload"),
            [(rows.blob(digest), fmt, rows.blob(payload)) for digest, (fmt, payload) in raws.items()],
        )
        self._apply_earlier_deletions([(new[p].post.key, post_id) for p, post_id in inserted])
        return WriteResult(
            inserted=len(inserted),
            duplicates=len(prepared) - len(inserted),
            inserted_ids=[post_id for _, post_id in inserted],
            inserted_keys=[new[p].post.key for p, _ in inserted],
            inserted_clusters=final_clusters,
        )

    def _apply_earlier_deletions(self, stored: Sequence[tuple[tuple[str, str], int]]) -> None:
        """Mark deleted at once a new post whose platform deletion was recorded before it arrived.

        Scale-out workers store records in parallel, so a deletion can be stored before its post; an old
        file can also bring a deleted post back. Either way the post is marked as if the deletion had
        come after it (retention then removes it), with the time the deletion was seen.
        """
        by_platform: dict[str, dict[str, int]] = {}
        for (platform, native), post_id in stored:
            by_platform.setdefault(platform, {})[native] = post_id
        for platform, ids in by_platform.items():
            where = " AND platform = '" + platform.replace("'", "''") + "'"
            for chunk in _chunks(list(ids), _LOOKUP_CHUNK):
                for native, seen in self.dialect.lookup(
                    self.conn, "deletions", "native_id", "seen_us", chunk, where=where
                ):
                    self.conn.execute(
                        update(posts).where(posts.c.id == ids[native]).values(deleted_us=int(seen))
                    )

    def write_deletions(self, items: Sequence[Deletion], *, seen_at: datetime) -> int:
        """Record platform deletions and mark matching stored posts deleted (retention removes them)."""
        if not items:
            return 0
        seen_us = rows.to_micros(seen_at)
        self.dialect.insert_ignore(
            self.conn,
            "deletions",
            ("platform", "native_id", "deleted_us", "seen_us"),
            [
                (d.platform, d.native_id, rows.to_micros(d.deleted_at) if d.deleted_at else None, seen_us)
                for d in items
            ],
        )
        for chunk in _chunks([(d.platform, d.native_id) for d in items]):
            self.conn.execute(
                update(posts)
                .where(tuple_(posts.c.platform, posts.c.native_id).in_(chunk), posts.c.deleted_us.is_(None))
                .values(deleted_us=seen_us)
            )
        return len(items)

    # -- reads -----------------------------------------------------------------------------------

    def _select(self, query: Query, sort: SortOrder, lists: AccountLists | None = None) -> Select[Any]:
        """The SELECT for a query: the full-text part drives the index in the requested order."""
        main, rest = _split_main_text(query.root)
        if main is None or not self.dialect.supports(main):
            main, rest = None, query.root
        matched = self.dialect.match_key(sort) if main is not None else None
        condition = compile_condition(rest, self.dialect, lists, self._rare_check(), matched=matched)
        stmt = select(*_POST_COLUMNS).where(condition, posts.c.deleted_us.is_(None))
        return self.dialect.ordered(stmt, main, sort)

    def _rare_check(self) -> RareTerm | None:
        """How to tell a rare selector, where the dialect wants those through the index (SQLite)."""
        return self._rare_selector if self.dialect.rare_selectors_by_index else None

    def _rare_selector(self, kinds: tuple[str, ...], value: str) -> bool:
        """Whether fewer than RARE_SELECTOR_POSTS posts hold the selector: reads at most that many
        entries of the selector index, once per transaction (a search page compiles its query three
        times). Plain SQL: this runs on SQLite only, where compiling the statement cost ten times
        more than reading the index."""
        key = (kinds, value)
        if key not in self._rare_selectors:
            marks = ", ".join("?" * len(kinds))
            held = self.conn.exec_driver_sql(
                f"SELECT count(*) FROM (SELECT 1 FROM post_terms WHERE kind IN ({marks}) AND value = ? "
                f"LIMIT {RARE_SELECTOR_POSTS})",
                (*kinds, value),
            ).scalar_one()
            self._rare_selectors[key] = int(held) < RARE_SELECTOR_POSTS
        return self._rare_selectors[key]

    def _text_only(self, text: Node, sort: SortOrder, limit: int, offset: int) -> list[StoredPost] | None:
        """A search for full text alone (no field filters), through a statement compiled once per sort
        order and dialect; None where the dialect has no template.

        The same SQL as the general path, minus building and compiling it per query: on a 1M-post
        store a rare word's newest-first search spent 1.4 ms of its 3.4 ms in SQLAlchemy's statement
        construction and execution, against 0.2 ms for the SQL itself.
        """
        key = (self.dialect.name, sort)
        if key not in _TEXT_ONLY_SQL:
            live = select(*_POST_COLUMNS).where(posts.c.deleted_us.is_(None))
            template = self.dialect.text_search_template(live, sort)
            if template is None:
                _TEXT_ONLY_SQL[key] = None
            else:
                paged = template.limit(bindparam("page_limit")).offset(bindparam("page_offset"))
                compiled = paged.compile(dialect=self.conn.dialect)
                # Parameters in statement order; constants (a subquery's LIMIT) keep their values.
                order = tuple(compiled.positiontup or ())
                _TEXT_ONLY_SQL[key] = (compiled.string, order, dict(compiled.params))
        prepared = _TEXT_ONLY_SQL[key]
        if prepared is None:
            return None
        sql, order, constants = prepared
        values = {**constants, TEXT_PARAM: text_param_value(text), "page_limit": limit, "page_offset": offset}
        return [_stored(r) for r in self.conn.exec_driver_sql(sql, tuple(values[n] for n in order))]

    def search(
        self,
        query: Query,
        *,
        limit: int,
        sort: SortOrder = "newest",
        offset: int = 0,
        lists: AccountLists | None = None,
    ) -> list[StoredPost]:
        if not needs_post_filter(query.root):
            main, rest = _split_main_text(query.root)
            if main is not None and isinstance(rest, MatchAll) and self.dialect.supports(main):
                fast = self._text_only(main, sort, limit, offset)
                if fast is not None:
                    return fast
            stmt = self._select(query, sort, lists).limit(limit).offset(offset)
            return [_stored(r) for r in self.conn.execute(stmt)]
        found: list[StoredPost] = []
        for item in self.iter_search(query, sort=sort, lists=lists):
            if offset:
                offset -= 1
                continue
            found.append(item)
            if len(found) >= limit:
                break
        return found

    def iter_search(
        self, query: Query, *, sort: SortOrder = "newest", lists: AccountLists | None = None
    ) -> Iterator[StoredPost]:
        """Every match, streamed in pages (exports); exact even where SQL only approximates."""
        post_filter = needs_post_filter(query.root)
        stmt = self._select(query, sort, lists)
        page = 0
        while True:
            batch = [_stored(r) for r in self.conn.execute(stmt.limit(_CHUNK).offset(page * _CHUNK))]
            for item in batch:
                if not post_filter or matches(query.root, Document.from_post(item.post), lists=lists):
                    yield item
            if len(batch) < _CHUNK:
                return
            page += 1

    def count(self, query: Query, *, lists: AccountLists | None = None) -> int:
        if needs_post_filter(query.root):
            return sum(1 for _ in self.iter_search(query, lists=lists))
        condition = compile_condition(query.root, self.dialect, lists, self._rare_check())
        stmt = select(func.count()).select_from(posts).where(condition, posts.c.deleted_us.is_(None))
        return int(self.conn.execute(stmt).scalar_one())

    def get_posts(self, ids: Sequence[int]) -> list[StoredPost]:
        found: dict[int, StoredPost] = {}
        for chunk in _chunks(list(ids)):
            for r in self.conn.execute(select(*_POST_COLUMNS).where(posts.c.id.in_(chunk))):
                found[int(r.id)] = _stored(r)
        return [found[i] for i in ids if i in found]

    def get_raw(self, post_id: int) -> tuple[str, bytes] | None:
        stmt = (
            select(raw_payloads.c.format, raw_payloads.c.payload)
            .join(posts, posts.c.raw_digest == raw_payloads.c.digest)
            .where(posts.c.id == post_id)
        )
        row = self.conn.execute(stmt).first()
        return None if row is None else (row.format, bytes(row.payload))

    def _facet(self, kind: str, top: int) -> list[Facet]:
        live = select(posts.c.id).where(posts.c.deleted_us.is_(None))
        stmt = (
            select(post_terms.c.value, func.count().label("n"))
            .where(post_terms.c.kind == kind, post_terms.c.post_id.in_(live))
            .group_by(post_terms.c.value)
            .order_by(func.count().desc(), post_terms.c.value)
            .limit(top)
        )
        return [Facet(r.value, int(r.n)) for r in self.conn.execute(stmt)]

    def stats(self, *, top: int = 10) -> StoreStats:
        live = posts.c.deleted_us.is_(None)
        total, earliest, latest = self.conn.execute(
            select(func.count(), func.min(posts.c.created_us), func.max(posts.c.created_us)).where(live)
        ).one()
        deleted = self.conn.execute(select(func.count()).where(posts.c.deleted_us.is_not(None))).scalar_one()
        dup_clusters = self.conn.execute(
            select(func.count()).select_from(
                select(posts.c.cluster_id)
                .where(live, posts.c.cluster_id.is_not(None))
                .group_by(posts.c.cluster_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        platforms = self.conn.execute(
            select(posts.c.platform, func.count().label("n"))
            .where(live)
            .group_by(posts.c.platform)
            .order_by(func.count().desc())
        )
        return StoreStats(
            posts=int(total),
            deleted=int(deleted),
            clusters_with_duplicates=int(dup_clusters),
            quarantined=int(self.conn.execute(select(func.count()).select_from(quarantine)).scalar_one()),
            imports=int(self.conn.execute(select(func.count()).select_from(imports)).scalar_one()),
            earliest=rows.from_micros(earliest),
            latest=rows.from_micros(latest),
            platforms=[Facet(r.platform, int(r.n)) for r in platforms],
            languages=self._facet("lang", top),
            top_hashtags=self._facet("hashtag", top),
            top_domains=self._facet("domain", top),
        )
