"""state every web process shares: the cookie-signing key and the rate limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_keys",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("touched", sa.Float(), nullable=False),
    )
    op.create_index("ix_rate_limits_touched", "rate_limits", ["touched"])


def downgrade() -> None:
    op.drop_index("ix_rate_limits_touched", "rate_limits")
    op.drop_table("rate_limits")
    op.drop_table("service_keys")
