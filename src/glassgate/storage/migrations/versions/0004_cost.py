"""Cost of each call, with the price table version it was computed with.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("spans", sa.Column("cost_usd", sa.Double))
    op.add_column("spans", sa.Column("cost_status", sa.Text))
    op.add_column("spans", sa.Column("price_version", sa.Text))


def downgrade() -> None:
    for column in ("price_version", "cost_status", "cost_usd"):
        op.drop_column("spans", column)
