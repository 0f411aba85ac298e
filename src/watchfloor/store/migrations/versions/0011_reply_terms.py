"""Replies found by index: ``post_terms`` rows of kind ``reply`` for the posts already stored.

A post view lists the stored replies to the post. Until now that read scanned the replies on the
platform created after the post (up to 2,000 of them, checking each stored document), and with every
post created after it in its time range it scanned tens of thousands of rows: the costliest part of a
post page. Imports now write a ``reply`` term per reference a post holds (the post it replies to and
its thread's root, as ``platform:native_id``: store.rows.reply_key); this migration writes them for
the posts stored before, from each post's stored document.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FIELDS = ("reply_to", "reply_root")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for field in _FIELDS:
        if postgres:
            value = f"convert_from(doc, 'UTF8')::jsonb ->> '{field}'"
            holds = f"position('\"{field}\":'::bytea IN doc) > 0"
            verb, conflict = "INSERT INTO", " ON CONFLICT DO NOTHING"
        else:
            value = f"json_extract(CAST(doc AS TEXT), '$.{field}')"
            holds = f"instr(doc, CAST('\"{field}\":' AS BLOB)) > 0"
            verb, conflict = "INSERT OR IGNORE INTO", ""
        op.execute(
            f"{verb} post_terms (kind, value, post_id) "
            f"SELECT 'reply', platform || ':' || v, id FROM "
            f"(SELECT id, platform, {value} AS v FROM posts WHERE {holds}) AS refs "
            f"WHERE v IS NOT NULL{conflict}"
        )


def downgrade() -> None:
    op.execute("DELETE FROM post_terms WHERE kind = 'reply'")
