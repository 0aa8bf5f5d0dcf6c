"""Projects, Glassgate keys and spans.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.execute("INSERT INTO projects (name) VALUES ('default')")
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("project", sa.Text, sa.ForeignKey("projects.name"), nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False, unique=True),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "spans",
        sa.Column("span_id", sa.Text, primary_key=True),
        sa.Column("trace_id", sa.Text, nullable=False),
        sa.Column("parent_span_id", sa.Text),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("upstream", sa.Text),
        sa.Column("vendor", sa.Text),
        sa.Column("operation", sa.Text),
        sa.Column("model", sa.Text),
        sa.Column("response_model", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("streamed", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("cached_tokens", sa.BigInteger),
        sa.Column("reasoning_tokens", sa.BigInteger),
        sa.Column("latency_ms", sa.Double),
        sa.Column("ttft_ms", sa.Double),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Text),
        sa.Column("user_id", sa.Text),
        sa.Column("tags", postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("key_id", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("request_body", postgresql.JSONB),
        sa.Column("response_body", postgresql.JSONB),
        sa.Column("attributes", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("spans_started_idx", "spans", [sa.text("started_at DESC"), sa.text("span_id DESC")])
    for column in ("upstream", "model", "status"):
        op.create_index(
            f"spans_{column}_started_idx", "spans", [column, sa.text("started_at DESC"), sa.text("span_id DESC")]
        )
    op.create_index("spans_trace_idx", "spans", ["trace_id"])


def downgrade() -> None:
    op.drop_table("spans")
    op.drop_table("api_keys")
    op.drop_table("projects")
