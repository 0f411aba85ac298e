"""Casework: case deadlines, tasks, typed notes, manual account links, write-once evidence and custody;
the manifest a release handed out is kept with its review.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("cases", sa.Column("due_us", sa.BigInteger))
    op.add_column("disseminations", sa.Column("manifest", sa.Text))
    op.create_table(
        "case_tasks",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("done_by", sa.Text),
        sa.Column("done_us", sa.BigInteger),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_tasks_case"),
    )
    op.create_index("ix_case_tasks_case", "case_tasks", ["case_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_notes_case"),
    )
    op.create_index("ix_case_notes_case", "case_notes", ["case_id"])
    op.create_table(
        "case_links",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text),
        sa.Column("handle", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("linked_by", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_links_case"),
    )
    op.create_index("ix_case_links_case", "case_links", ["case_id"])
    op.create_table(
        "evidence_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True, autoincrement=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "evidence_items",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("post_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("native_id", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("captured_us", sa.BigInteger, nullable=False),
        sa.Column("captured_by", sa.Text, nullable=False),
        sa.Column("basis_id", sa.BigInteger, nullable=False),
        sa.Column("tool_version", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_evidence_items_case"),
    )
    op.create_index("ix_evidence_items_case", "evidence_items", ["case_id"])
    op.create_table(
        "evidence_parts",
        sa.Column("evidence_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence_items.id"], name="fk_evidence_parts_item"),
        sa.ForeignKeyConstraint(["sha256"], ["evidence_blobs.sha256"], name="fk_evidence_parts_blob"),
    )
    op.create_index("ix_evidence_parts_sha256", "evidence_parts", ["sha256"])
    op.create_table(
        "custody_events",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("evidence_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence_items.id"], name="fk_custody_events_item"),
    )
    op.create_index("ix_custody_events_item", "custody_events", ["evidence_id", "id"])


def downgrade() -> None:
    for index, table in (
        ("ix_custody_events_item", "custody_events"),
        ("ix_evidence_parts_sha256", "evidence_parts"),
        ("ix_evidence_items_case", "evidence_items"),
        ("ix_case_links_case", "case_links"),
        ("ix_case_notes_case", "case_notes"),
        ("ix_case_tasks_case", "case_tasks"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "custody_events",
        "evidence_parts",
        "evidence_items",
        "evidence_blobs",
        "case_links",
        "case_notes",
        "case_tasks",
    ):
        op.drop_table(table)
    with op.batch_alter_table("disseminations") as batch:
        batch.drop_column("manifest")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("due_us")
