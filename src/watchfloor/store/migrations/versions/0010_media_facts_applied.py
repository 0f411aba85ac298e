"""Media: when a post's image facts were written into it and matched (``post_media.facts_us``).

The fetcher marks each queue entry finished in its own transaction, and only afterwards writes the
post's image text and hashes into the post and matches it again. A crash between the two used to leave
the post finished but never matched on its images; now a finished entry without ``facts_us`` says the
post still waits for that step, and every fetch run picks such posts up (``posts_awaiting_image_facts``).
Entries finished before this migration count as done (the old code applied their facts at once).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_WHERE = "facts_us IS NULL AND state <> 'pending'"


def upgrade() -> None:
    op.add_column("post_media", sa.Column("facts_us", sa.BigInteger))
    op.execute(f"UPDATE post_media SET facts_us = updated_us WHERE {_WHERE}")
    op.create_index(
        "ix_post_media_awaiting_facts",
        "post_media",
        ["post_id"],
        sqlite_where=sa.text(_WHERE),
        postgresql_where=sa.text(_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_post_media_awaiting_facts", "post_media")
    with op.batch_alter_table("post_media") as batch:
        batch.drop_column("facts_us")
