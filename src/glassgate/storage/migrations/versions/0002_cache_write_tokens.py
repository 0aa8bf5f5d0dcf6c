"""Cache-write tokens, reported apart by Anthropic and Bedrock.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("spans", sa.Column("cache_write_tokens", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("spans", "cache_write_tokens")
