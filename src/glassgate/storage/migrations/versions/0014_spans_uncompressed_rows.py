"""Span rows up to 4 KB are stored as they are: PostgreSQL no longer tries to compress them.

A row longer than ~2 KB makes PostgreSQL try to compress its longest values (pglz) until it
fits in `toast_tuple_target` bytes. A call with prose each way has ~2.3 KB of previews, so
every such insert paid pglz on two 1,000-character previews: ~15 µs of the backend's ~60 µs
per span (20,000 spans, one backend), often for nothing, since pglz keeps the plain value when
it saves less than a quarter. With a 4 KB target those rows are stored plain (reading them
back needs no decompression either); longer ones (large attributes) are compressed as before.
The bodies already arrive compressed (storage/bodies.py).

A partitioned table holds no storage parameters: each partition of `spans` gets it, here for
those that exist and in storage/partitions.py for those created later. Rows already stored
keep their form.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _spans_partitions() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent "
            "JOIN pg_class child ON child.oid = inhrelid WHERE parent.relname = 'spans'"
        )
    )
    return [name for (name,) in rows]


def upgrade() -> None:
    for name in _spans_partitions():
        op.execute(f"ALTER TABLE {name} SET (toast_tuple_target = 4096)")


def downgrade() -> None:
    for name in _spans_partitions():
        op.execute(f"ALTER TABLE {name} RESET (toast_tuple_target)")
