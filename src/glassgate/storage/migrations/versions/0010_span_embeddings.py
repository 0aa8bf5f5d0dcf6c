"""Prompt embeddings (pgvector): `span_embeddings`, partitioned by month like `spans`.

One 256-d vector per span (a fixed size for every embedder: upstream models are asked for
`dimensions: 256` or fitted to it; see glassgate/embeddings/base.py), the embedder's name,
and an HNSW index for cosine distance on each partition. Partitioned like `spans` so that
retention drops a month of embeddings with its month of spans (storage/partitions.py).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        "CREATE TABLE span_embeddings (span_id text NOT NULL, started_at timestamptz NOT NULL, "
        "embedder text NOT NULL, embedding vector(256) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (span_id, started_at)) PARTITION BY RANGE (started_at)"
    )
    op.execute("CREATE TABLE span_embeddings_default PARTITION OF span_embeddings DEFAULT")
    # The map samples the newest embedded spans of one embedder.
    op.execute("CREATE INDEX span_embeddings_started_idx ON span_embeddings (embedder, started_at DESC, span_id DESC)")
    op.execute("CREATE INDEX span_embeddings_hnsw_idx ON span_embeddings USING hnsw (embedding vector_cosine_ops)")
    # The same months as the spans already have.
    bounds = op.get_bind().execute(
        sa.text(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid "
            "WHERE parent.relname = 'spans' AND child.relname LIKE 'spans\\_p%'"
        )
    )
    for name, bound in bounds:
        op.execute(f"CREATE TABLE span_embeddings_{name[len('spans_') :]} PARTITION OF span_embeddings {bound}")


def downgrade() -> None:
    op.execute("DROP TABLE span_embeddings")
    # The extension stays: other objects in the database may use it.
