"""What the rest of watchfloor may ask of a store, whatever database is behind it.

Services open one transaction per use case with :meth:`Store.transaction` and do everything (writes
and, later, the audit event) through the :class:`StoreTx` it yields, so a use case commits or fails
whole. Two adapters implement these ports (SQLite and PostgreSQL) and pass one contract suite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Literal, Protocol

import msgspec

from watchfloor.domain.post import Deletion, Location, Post, Prepared, Quarantined
from watchfloor.query.ast import Query

SortOrder = Literal["newest", "oldest", "relevance"]


class StoredPost(msgspec.Struct, frozen=True, kw_only=True):
    """A post as the store holds it, with its store id and near-duplicate cluster."""

    id: int
    post: Post
    cluster_id: int | None
    deleted_at: datetime | None = None


class WriteResult(msgspec.Struct, kw_only=True):
    """What one write did: new posts, posts already stored, deletions and quarantined records."""

    inserted: int = 0
    duplicates: int = 0
    deletions: int = 0
    quarantined: int = 0
    inserted_ids: list[int] = msgspec.field(default_factory=list)


class QuarantineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A record that could not be imported, with where it was and why."""

    id: int
    import_id: int | None
    format: str
    location: Location
    reason: str
    field: str | None
    raw: bytes
    quarantined_at: datetime


class ImportRun(msgspec.Struct, kw_only=True):
    """One run of `watchfloor import` over one file, with its counts."""

    id: int
    source: str
    format: str
    started_at: datetime
    finished_at: datetime | None = None
    records: int = 0
    inserted: int = 0
    duplicates: int = 0
    deletions: int = 0
    skipped: int = 0
    quarantined: int = 0


class Facet(msgspec.Struct, frozen=True):
    value: str
    count: int


class StoreStats(msgspec.Struct, kw_only=True):
    """Counts an analyst or operator wants at a glance."""

    posts: int
    deleted: int
    clusters_with_duplicates: int
    quarantined: int
    imports: int
    earliest: datetime | None
    latest: datetime | None
    platforms: list[Facet]
    languages: list[Facet]
    top_hashtags: list[Facet]
    top_domains: list[Facet]


class StoreTx(Protocol):
    """Operations inside one transaction."""

    def start_import(self, *, source: str, format: str, at: datetime) -> int: ...

    def finish_import(self, run: ImportRun, *, at: datetime) -> None: ...

    def write_posts(self, prepared: Sequence[Prepared], *, import_id: int | None) -> WriteResult: ...

    def write_deletions(self, deletions: Sequence[Deletion], *, seen_at: datetime) -> int: ...

    def write_quarantine(
        self, entries: Sequence[Quarantined], *, import_id: int | None, at: datetime
    ) -> int: ...

    def search(
        self, query: Query, *, limit: int, sort: SortOrder = "newest", offset: int = 0
    ) -> list[StoredPost]: ...

    def iter_search(self, query: Query, *, sort: SortOrder = "newest") -> Iterator[StoredPost]: ...

    def count(self, query: Query) -> int: ...

    def get_posts(self, ids: Sequence[int]) -> list[StoredPost]: ...

    def get_raw(self, post_id: int) -> tuple[str, bytes] | None: ...

    def stats(self, *, top: int = 10) -> StoreStats: ...

    def list_quarantine(self, *, limit: int, import_id: int | None = None) -> list[QuarantineEntry]: ...

    def list_imports(self, *, limit: int) -> list[ImportRun]: ...


class Store(Protocol):
    """A database holding watchfloor's data."""

    url: str
    dialect: str  # "sqlite" or "postgresql"

    def transaction(self) -> AbstractContextManager[StoreTx]: ...

    def close(self) -> None: ...
