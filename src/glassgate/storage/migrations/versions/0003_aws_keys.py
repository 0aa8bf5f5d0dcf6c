"""AWS-style key pairs Glassgate issues to SigV4 clients (boto3, AnthropicBedrock).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aws_keys",
        sa.Column("access_key_id", sa.Text, primary_key=True),
        sa.Column("project", sa.Text, sa.ForeignKey("projects.name"), nullable=False),
        # Verifying a SigV4 signature needs the secret itself (HMAC), so it is stored
        # encrypted with the instance's secret_key, never in clear and never hashed.
        sa.Column("secret_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("aws_keys")
