"""PostgreSQL: posts partitioned by collection month, with the natural key kept unique in post_keys.

See ``watchfloor.store.postgres.partitions`` for the layout and why. SQLite is unchanged (one file, one
writer: partitions would buy nothing there). Existing posts are copied into the new table, each month of
them into its own partition, in the migration's transaction.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

from watchfloor.store.postgres.partitions import ensure_partitions

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_COLUMNS = (
    "id, platform, native_id, created_us, collected_us, author_key, author_id, has_media, has_links, "
    "has_geo, is_reply, is_repost, is_quote, urls_cf, content_key, cluster_id, raw_digest, import_id, "
    "deleted_us, doc, search_tsv"
)
_REQUIRED = (
    "id",
    "platform",
    "native_id",
    "created_us",
    "collected_us",
    "has_media",
    "has_links",
    "has_geo",
    "is_reply",
    "is_repost",
    "is_quote",
    "doc",
)
_INDEXES = (
    ("ix_posts_created", "created_us"),
    ("ix_posts_author_key", "author_key"),
    ("ix_posts_author_id", "author_id"),
    ("ix_posts_content_key", "content_key"),
    ("ix_posts_cluster", "cluster_id"),
    ("ix_posts_natural_key", "platform, native_id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    conn = op.get_bind()
    op.execute("ALTER SEQUENCE posts_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE posts RENAME TO posts_unpartitioned")
    op.execute("ALTER TABLE posts_unpartitioned DROP CONSTRAINT posts_pkey")
    op.execute("ALTER TABLE posts_unpartitioned DROP CONSTRAINT uq_posts_natural_key")
    for name, _ in _INDEXES[:-1]:
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP INDEX ix_posts_search_tsv")
    op.execute(
        """
        CREATE TABLE posts (
            id bigint NOT NULL DEFAULT nextval('posts_id_seq'),
            platform varchar(32) NOT NULL,
            native_id text NOT NULL,
            created_us bigint NOT NULL,
            collected_us bigint NOT NULL,
            author_key text,
            author_id text,
            has_media boolean NOT NULL,
            has_links boolean NOT NULL,
            has_geo boolean NOT NULL,
            is_reply boolean NOT NULL,
            is_repost boolean NOT NULL,
            is_quote boolean NOT NULL,
            urls_cf text,
            content_key bigint,
            cluster_id bigint,
            raw_digest bytea,
            import_id bigint,
            deleted_us bigint,
            doc bytea NOT NULL,
            search_tsv tsvector,
            PRIMARY KEY (id, collected_us)
        ) PARTITION BY RANGE (collected_us)
        """
    )
    op.execute("CREATE TABLE posts_default PARTITION OF posts DEFAULT")
    for name, columns in _INDEXES:
        op.execute(f"CREATE INDEX {name} ON posts ({columns})")
    op.execute("CREATE INDEX ix_posts_search_tsv ON posts USING gin (search_tsv)")
    op.execute(
        """
        CREATE TABLE post_keys (
            platform varchar(32) NOT NULL,
            native_id text NOT NULL,
            post_id bigint NOT NULL,
            PRIMARY KEY (platform, native_id)
        )
        """
    )
    op.execute("CREATE INDEX ix_post_keys_post ON post_keys (post_id)")
    months = conn.exec_driver_sql(
        "SELECT DISTINCT (collected_us / 86400000000) * 86400000000 FROM posts_unpartitioned"
    ).scalars()
    ensure_partitions(conn, extra=[int(day) for day in months])
    op.execute(f"INSERT INTO posts ({_COLUMNS}) SELECT {_COLUMNS} FROM posts_unpartitioned")
    op.execute("INSERT INTO post_keys SELECT platform, native_id, id FROM posts_unpartitioned")
    op.execute("DROP TABLE posts_unpartitioned")
    op.execute("ALTER SEQUENCE posts_id_seq OWNED BY posts.id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER SEQUENCE posts_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE posts RENAME TO posts_partitioned")
    op.execute(f"CREATE TABLE posts AS SELECT {_COLUMNS} FROM posts_partitioned")
    op.execute("DROP TABLE posts_partitioned CASCADE")
    op.execute("DROP TABLE post_keys")
    for column in _REQUIRED:
        op.execute(f"ALTER TABLE posts ALTER COLUMN {column} SET NOT NULL")
    op.execute("ALTER TABLE posts ALTER COLUMN id SET DEFAULT nextval('posts_id_seq')")
    op.execute("ALTER TABLE posts ADD PRIMARY KEY (id)")
    op.execute("ALTER TABLE posts ADD CONSTRAINT uq_posts_natural_key UNIQUE (platform, native_id)")
    for name, columns in _INDEXES[:-1]:
        op.execute(f"CREATE INDEX {name} ON posts ({columns})")
    op.execute("CREATE INDEX ix_posts_search_tsv ON posts USING gin (search_tsv)")
    op.execute("ALTER SEQUENCE posts_id_seq OWNED BY posts.id")
