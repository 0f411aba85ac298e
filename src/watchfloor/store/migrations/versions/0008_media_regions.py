"""Media: hashes of fixed regions of each image (a cropped or captioned copy still matches a known
image) on stored files and on known-image list items, and the enricher's notes on stored files.

Files enriched and list items added before this migration have no region hashes: they match whole-image
copies only, as before (docs/media.md says how to re-add a known image).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("media_objects", sa.Column("region_hashes", sa.Text))
    op.add_column("media_objects", sa.Column("notes", sa.Text))
    op.add_column("image_list_items", sa.Column("region_hashes", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("image_list_items") as batch:
        batch.drop_column("region_hashes")
    with op.batch_alter_table("media_objects") as batch:
        batch.drop_column("notes")
        batch.drop_column("region_hashes")
