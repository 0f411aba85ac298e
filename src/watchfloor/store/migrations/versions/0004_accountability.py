"""The accountability layer: users, sessions, legal bases, watches, views, cases, holds, dissemination.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("totp_secret", sa.Text),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("demo", sa.Boolean, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "auth_failures",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_auth_failures_name", "auth_failures", ["name", "at_us"])
    op.create_index("ix_auth_failures_source", "auth_failures", ["source", "at_us"])
    op.create_table(
        "sessions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("last_seen_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        sa.Column("revoked_us", sa.BigInteger),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token"),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])
    op.create_table(
        "legal_bases",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("authority", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("necessity", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("review_us", sa.BigInteger),
        sa.Column("expires_us", sa.BigInteger),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("retired_us", sa.BigInteger),
        sa.Column("retired_by", sa.Text),
        sa.Column("retired_reason", sa.Text),
    )
    op.create_table(
        "watches",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("platform", sa.String(32)),
        sa.Column("basis_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requester", sa.Text, nullable=False),
        sa.Column("requested_us", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("approver", sa.Text),
        sa.Column("decided_us", sa.BigInteger),
        sa.Column("decision_note", sa.Text),
        sa.Column("starts_us", sa.BigInteger),
        sa.Column("expires_us", sa.BigInteger),
        sa.Column("renewal_of", sa.BigInteger),
        sa.Column("cancelled_by", sa.Text),
        sa.Column("cancelled_us", sa.BigInteger),
        sa.ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_watches_basis"),
    )
    op.create_index("ix_watches_subject", "watches", ["subject", "status"])
    op.create_table(
        "account_views",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("session_key", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_account_views", "account_views", ["actor", "subject", "at_us"])
    op.create_table(
        "cases",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("basis_id", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_us", sa.BigInteger, nullable=False),
        sa.Column("closed_us", sa.BigInteger),
        sa.Column("summary", sa.Text),
        sa.ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_cases_basis"),
    )
    op.create_table(
        "case_alerts",
        sa.Column("case_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("alert_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("added_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_alerts_case"),
    )
    op.create_index("ix_case_alerts_alert", "case_alerts", ["alert_id"])
    op.create_table(
        "legal_holds",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("object_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("placed_by", sa.Text, nullable=False),
        sa.Column("placed_us", sa.BigInteger, nullable=False),
        sa.Column("released_by", sa.Text),
        sa.Column("released_us", sa.BigInteger),
    )
    op.create_index("ix_legal_holds_object", "legal_holds", ["kind", "object_id"])
    op.create_table(
        "disseminations",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("basis_id", sa.BigInteger, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("item_count", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("reviewer", sa.Text),
        sa.Column("decided_us", sa.BigInteger),
        sa.Column("decision_note", sa.Text),
        sa.Column("released_us", sa.BigInteger),
        sa.ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_disseminations_basis"),
    )
    op.create_table(
        "dissemination_blobs",
        sa.Column("dissemination_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["dissemination_id"], ["disseminations.id"], name="fk_dissemination_blobs_dissemination"
        ),
    )
    # Plain ADD COLUMN (SQLite supports it): a batch rebuild would drop a table alerts refer to.
    op.add_column("rule_versions", sa.Column("justification", sa.Text))
    op.add_column("rule_versions", sa.Column("sensitive_terms", sa.Text))
    op.add_column("rule_versions", sa.Column("approved_by", sa.Text))
    op.add_column("rule_versions", sa.Column("approved_us", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("rule_versions") as batch:
        for column in ("approved_us", "approved_by", "sensitive_terms", "justification"):
            batch.drop_column(column)
    for table in (
        "dissemination_blobs",
        "disseminations",
        "legal_holds",
        "case_alerts",
        "cases",
        "account_views",
        "watches",
        "legal_bases",
        "sessions",
        "auth_failures",
        "users",
    ):
        op.drop_table(table)
