"""owner flows: contact e-mail and name, search text, evidence added later, mail outbox, form idempotency

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("contact_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("contact_name", sa.String(120), nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("evidence_files") as batch:
        batch.add_column(sa.Column("batch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("added_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_pk", sa.String(32), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("to_addr", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_state_next", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_case_pk", "outbox", ["case_pk"])
    op.create_table(
        "form_submissions",
        sa.Column("key_sha256", sa.String(64), primary_key=True),
        sa.Column("case_pk", sa.String(32), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sealed_token", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("form_submissions")
    op.drop_index("ix_outbox_case_pk", "outbox")
    op.drop_index("ix_outbox_state_next", "outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("evidence_files") as batch:
        batch.drop_column("added_at")
        batch.drop_column("batch")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("search_text")
        batch.drop_column("contact_name")
        batch.drop_column("contact_email")
