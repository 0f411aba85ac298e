"""Live sources: one row per configured feed or stream, holding its committed cursor and counters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("basis_id", sa.BigInteger, nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_success_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("error_count", sa.BigInteger, nullable=False),
        sa.Column("posts_total", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_sources_name"),
        sa.ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_sources_basis"),
    )


def downgrade() -> None:
    op.drop_table("sources")
