"""Retired post ids (SQLite never gives a purged post's id to another), and media: the fetch queue
per post image/video, content-addressed stored files with their hashes, OCR text and camera metadata,
video keyframes, and known-image lists.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retired_post_ids",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "media_objects",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("duration_ms", sa.BigInteger),
        sa.Column("phash", sa.String(16)),
        sa.Column("pdq", sa.String(64)),
        sa.Column("pdq_quality", sa.Integer),
        sa.Column("ocr_text", sa.Text),
        sa.Column("ocr_status", sa.String(16), nullable=False),
        sa.Column("camera", sa.Text),
        sa.Column("stored_us", sa.BigInteger, nullable=False),
        sa.Column("enriched_us", sa.BigInteger),
    )
    op.create_index("ix_media_objects_phash", "media_objects", ["phash"])
    op.create_table(
        "post_media",
        sa.Column("post_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("sha256", sa.String(64)),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["media_objects.sha256"], name="fk_post_media_object"),
    )
    op.create_index("ix_post_media_due", "post_media", ["state", "next_attempt_us"])
    op.create_index("ix_post_media_sha256", "post_media", ["sha256"])
    op.create_index("ix_post_media_url", "post_media", ["url"], postgresql_using="hash")
    op.create_table(
        "media_frames",
        sa.Column("video_sha256", sa.String(64), primary_key=True),
        sa.Column("frame_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("frame_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["video_sha256"], ["media_objects.sha256"], name="fk_media_frames_video"),
        sa.ForeignKeyConstraint(["frame_sha256"], ["media_objects.sha256"], name="fk_media_frames_frame"),
    )
    op.create_table(
        "image_lists",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("basis_id", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_image_lists_name"),
        sa.ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_image_lists_basis"),
    )
    op.create_table(
        "image_list_items",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.BigInteger, nullable=False),
        sa.Column("phash", sa.String(16)),
        sa.Column("pdq", sa.String(64)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("label", sa.Text),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("added_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["image_lists.id"], name="fk_image_list_items_list"),
    )
    op.create_index("ix_image_list_items_list", "image_list_items", ["list_id"])


def downgrade() -> None:
    op.drop_table("image_list_items")
    op.drop_table("image_lists")
    op.drop_table("media_frames")
    op.drop_table("post_media")
    op.drop_table("media_objects")
    op.drop_table("retired_post_ids")
