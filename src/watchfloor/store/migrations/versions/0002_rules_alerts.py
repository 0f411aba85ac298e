"""Rules and their versions, account lists, alerts with their posts and events, volume hits, handover notes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite's rowid alias must be spelled INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "rule_versions",
        sa.Column("rule_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("volume_threshold", sa.Integer),
        sa.Column("volume_window_minutes", sa.Integer),
        sa.Column("basis_id", sa.BigInteger),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("change_note", sa.Text),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name="fk_rule_versions_rule"),
    )
    store_meta = op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(store_meta, [{"key": "rules_revision", "value": 0}])
    op.create_table(
        "account_lists",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("members", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )

    op.create_table(
        "alerts",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.BigInteger, nullable=False),
        sa.Column("rule_version", sa.Integer, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("deadline_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("post_id", sa.BigInteger),
        sa.Column("cluster_id", sa.BigInteger),
        sa.Column("post_count", sa.BigInteger, nullable=False),
        sa.Column("spans", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("assignee", sa.Text),
        sa.Column("disposition", sa.String(32)),
        sa.Column("breached_us", sa.BigInteger),
        sa.Column("window_start_us", sa.BigInteger),
        sa.Column("window_end_us", sa.BigInteger),
        sa.ForeignKeyConstraint(
            ["rule_id", "rule_version"],
            ["rule_versions.rule_id", "rule_versions.version"],
            name="fk_alerts_rule_version",
        ),
        sa.UniqueConstraint("rule_id", "window_start_us", name="uq_alerts_burst_window"),
    )
    op.create_index("ix_alerts_queue", "alerts", ["status", "deadline_us"])
    op.create_index("ix_alerts_group", "alerts", ["rule_id", "cluster_id"])

    op.create_table(
        "alert_posts",
        sa.Column("alert_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("post_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("rule_id", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_posts_alert"),
        sa.UniqueConstraint("rule_id", "post_id", name="uq_alert_posts_rule_post"),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("disposition", sa.String(32)),
        sa.Column("note", sa.Text),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_events_alert"),
    )
    op.create_index("ix_alert_events_alert", "alert_events", ["alert_id"])
    op.create_index("ix_alert_events_at", "alert_events", ["at_us"])

    op.create_table(
        "rule_hits",
        sa.Column("rule_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("post_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("post_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name="fk_rule_hits_rule"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rule_hits_time", "rule_hits", ["rule_id", "post_us"])

    op.create_table(
        "handover_notes",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_handover_notes_at", "handover_notes", ["at_us"])


def downgrade() -> None:
    for table in (
        "handover_notes",
        "rule_hits",
        "alert_events",
        "alert_posts",
        "alerts",
        "account_lists",
        "store_meta",
        "rule_versions",
        "rules",
    ):
        op.drop_table(table)
