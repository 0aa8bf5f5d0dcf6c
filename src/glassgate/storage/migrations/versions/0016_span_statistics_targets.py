"""ANALYZE samples 6,000 rows of a span partition instead of 30,000, and skips the columns no query filters on.

Autovacuum analyzes a partition each time a tenth of it is new: for a month's partition that
is every minute for hours at a few hundred calls a second. ANALYZE reads 300 rows per point
of the largest statistics target (default 100: 30,000 rows) and fetches each analyzed column
of each sampled row in turn, which for a 35-column `spans` row walks every column before it
(PostgreSQL's nocachegetattr: 30% of the time in a profile). Measured on a 160,000-span
partition (PostgreSQL 16): `spans` 790 ms → ~110 ms, `span_bodies` 160 → ~50, `span_search`
140 → ~45, `span_embeddings` 54 → ~37: most of what `bench.run` billed to autovacuum.

A target of 20 still gives the planner what the span list's filters need: the share of each
of up to 20 most common values (projects, upstreams, models, statuses), null fractions, and
a 20-bucket histogram of the times. The previews, attributes, bodies, search documents and
embeddings are never compared in a WHERE clause (search goes through `span_search`'s
index, on a plan chosen by counting matches): no statistics are kept for them. With 300,000
spans, `bench.pipeline`'s list, search and dashboard queries took the same time under these
targets as under the defaults.

A partition created later copies its parent's targets (storage/partitions.py).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TARGET = 20
_UNFILTERED = {
    "spans": ("input_preview", "output_preview", "attributes"),
    "span_bodies": ("request_body", "response_body"),
    "span_search": ("document",),
    "span_embeddings": ("embedding",),
}


def _columns(table: str) -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum"
        ),
        {"table": table},
    )
    return [name for (name,) in rows]


def upgrade() -> None:
    # On the parent: ALTER TABLE applies it to every partition too, the default ones included.
    for table, unfiltered in _UNFILTERED.items():
        targets = ", ".join(
            f"ALTER COLUMN {column} SET STATISTICS {0 if column in unfiltered else _TARGET}"
            for column in _columns(table)
        )
        op.execute(f"ALTER TABLE {table} {targets}")


def downgrade() -> None:
    for table in _UNFILTERED:
        op.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} SET STATISTICS -1" for c in _columns(table)))
