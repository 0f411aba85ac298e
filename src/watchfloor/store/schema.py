"""Table definitions (SQLAlchemy Core) shared by the SQLite and PostgreSQL adapters.

Times are stored as BIGINT microseconds since the Unix epoch, UTC, in both databases: one type that
sorts, compares and partitions the same everywhere (decision record docs/decisions/0002-time-as-int.md).
The migrations in ``store/migrations`` create exactly these tables; a contract test checks that the
migrated database and this metadata agree.

The full-text index is dialect-specific and lives beside the adapters: a contentless FTS5 table
``posts_fts`` in SQLite, a ``search_tsv`` tsvector column with a GIN index in PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BigInteger autoincrement maps to INTEGER PRIMARY KEY (the rowid) on SQLite and an identity on PostgreSQL.
_Id = BigInteger().with_variant(Integer(), "sqlite")

posts = Table(
    "posts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("native_id", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("collected_us", BigInteger, nullable=False),
    Column("author_key", Text),  # casefolded handle without '@', for from:
    Column("author_id", Text),
    Column("has_media", Boolean, nullable=False),
    Column("has_links", Boolean, nullable=False),
    Column("has_geo", Boolean, nullable=False),
    Column("is_reply", Boolean, nullable=False),
    Column("is_repost", Boolean, nullable=False),
    Column("is_quote", Boolean, nullable=False),
    Column("urls_cf", Text),  # casefolded URLs, newline-separated, for url: substring filters
    Column("content_key", BigInteger),  # first 8 bytes of the pipeline's content hash, signed
    Column("cluster_id", BigInteger),
    Column("raw_digest", LargeBinary),
    Column("import_id", BigInteger),
    Column("deleted_us", BigInteger),
    Column("doc", LargeBinary, nullable=False),  # the full normalised Post as JSON (msgspec)
    UniqueConstraint("platform", "native_id", name="uq_posts_natural_key"),
)
Index("ix_posts_created", posts.c.created_us)
Index("ix_posts_author_key", posts.c.author_key)
Index("ix_posts_author_id", posts.c.author_id)
Index("ix_posts_content_key", posts.c.content_key)
Index("ix_posts_cluster", posts.c.cluster_id)

# Exact-match selectors for fields: hashtag, mention, domain (every host suffix down to the
# registrable domain), lang (primary subtag). One row per (post, kind, value).
post_terms = Table(
    "post_terms",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("post_id", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)
Index("ix_post_terms_post", post_terms.c.post_id)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("digest", LargeBinary, primary_key=True),  # SHA-256 of payload
    Column("format", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

dedup_bands = Table(
    "dedup_bands",
    metadata,
    Column("band_key", BigInteger, primary_key=True, autoincrement=False),
    Column("cluster_id", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

deletions = Table(
    "deletions",
    metadata,
    Column("platform", String(32), primary_key=True),
    Column("native_id", Text, primary_key=True),
    Column("deleted_us", BigInteger),
    Column("seen_us", BigInteger, nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("format", String(64), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger),
    Column("records", BigInteger, nullable=False, default=0),
    Column("inserted", BigInteger, nullable=False, default=0),
    Column("duplicates", BigInteger, nullable=False, default=0),
    Column("deletions", BigInteger, nullable=False, default=0),
    Column("skipped", BigInteger, nullable=False, default=0),
    Column("quarantined", BigInteger, nullable=False, default=0),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("import_id", BigInteger),
    Column("format", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("line", BigInteger),
    Column("item_index", BigInteger),
    Column("field", Text),
    Column("reason", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("quarantined_us", BigInteger, nullable=False),
    # Hash of (format, source, line, index, reason, payload): re-importing a file adds no second entry.
    Column("entry_key", LargeBinary, nullable=False),
    UniqueConstraint("entry_key", name="uq_quarantine_entry"),
)
Index("ix_quarantine_import", quarantine.c.import_id)
