"""Initial schema: posts, selectors, raw payloads, near-duplicate bands, deletions, imports, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite's rowid alias must be spelled INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Must agree with watchfloor.query.tokens: the index stores our own token string, and FTS5 splits it
# on the same character classes.
FTS5_TOKENIZE = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'"


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("native_id", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("collected_us", sa.BigInteger, nullable=False),
        sa.Column("author_key", sa.Text),
        sa.Column("author_id", sa.Text),
        sa.Column("has_media", sa.Boolean, nullable=False),
        sa.Column("has_links", sa.Boolean, nullable=False),
        sa.Column("has_geo", sa.Boolean, nullable=False),
        sa.Column("is_reply", sa.Boolean, nullable=False),
        sa.Column("is_repost", sa.Boolean, nullable=False),
        sa.Column("is_quote", sa.Boolean, nullable=False),
        sa.Column("urls_cf", sa.Text),
        sa.Column("content_key", sa.BigInteger),
        sa.Column("cluster_id", sa.BigInteger),
        sa.Column("raw_digest", sa.LargeBinary),
        sa.Column("import_id", sa.BigInteger),
        sa.Column("deleted_us", sa.BigInteger),
        sa.Column("doc", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("platform", "native_id", name="uq_posts_natural_key"),
    )
    op.create_index("ix_posts_created", "posts", ["created_us"])
    op.create_index("ix_posts_author_key", "posts", ["author_key"])
    op.create_index("ix_posts_author_id", "posts", ["author_id"])
    op.create_index("ix_posts_content_key", "posts", ["content_key"])
    op.create_index("ix_posts_cluster", "posts", ["cluster_id"])

    op.create_table(
        "post_terms",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("post_id", sa.BigInteger, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_post_terms_post", "post_terms", ["post_id"])

    op.create_table(
        "raw_payloads",
        sa.Column("digest", sa.LargeBinary, primary_key=True),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "dedup_bands",
        sa.Column("band_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("cluster_id", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "deletions",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("native_id", sa.Text, primary_key=True),
        sa.Column("deleted_us", sa.BigInteger),
        sa.Column("seen_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "imports",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.Column("finished_us", sa.BigInteger),
        sa.Column("records", sa.BigInteger, nullable=False),
        sa.Column("inserted", sa.BigInteger, nullable=False),
        sa.Column("duplicates", sa.BigInteger, nullable=False),
        sa.Column("deletions", sa.BigInteger, nullable=False),
        sa.Column("skipped", sa.BigInteger, nullable=False),
        sa.Column("quarantined", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.BigInteger),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("line", sa.BigInteger),
        sa.Column("item_index", sa.BigInteger),
        sa.Column("field", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("quarantined_us", sa.BigInteger, nullable=False),
        sa.Column("entry_key", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("entry_key", name="uq_quarantine_entry"),
    )
    op.create_index("ix_quarantine_import", "quarantine", ["import_id"])

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE posts_fts USING fts5(body, content='', tokenize=\"{FTS5_TOKENIZE}\")"
        )
    else:
        op.execute("ALTER TABLE posts ADD COLUMN search_tsv tsvector")
        op.execute("CREATE INDEX ix_posts_search_tsv ON posts USING gin (search_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE posts_fts")
    for table in ("quarantine", "imports", "deletions", "dedup_bands", "raw_payloads", "post_terms", "posts"):
        op.drop_table(table)
