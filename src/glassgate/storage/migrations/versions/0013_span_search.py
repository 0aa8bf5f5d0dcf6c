"""Full-text search moves off the write path: `span_search`, filled from `span_search_queue`.

Indexing a span's words cost more than the rest of storing it: for a call with ~1.5 KB of
prose each way, PostgreSQL spent ~150 µs a span on the GIN entries alone against ~100 µs for
the row, its bodies and its other indexes (one backend, 20,000 spans). So the writer now only
queues the span (`span_search_queue`: its key, no index), in the transaction that stores it;
the search indexer (storage/search_indexer.py) takes queued spans in batches, cuts their
previews into words and stores one `span_search` row per span, under the GIN index. A burst
of traffic then delays searchability by seconds instead of slowing every write.

`span_search` is partitioned by month like `spans`, so retention drops a month of documents
with its month of spans (storage/partitions.py). Each row keeps the id of the transaction that
stored it (`stored_xid`): online rules with a search filter find their new spans by it, as
rules without one do by `spans.stored_xid`. Documents copied here from `spans` keep their
span's xid, so a rule neither scores a span twice nor misses one across the migration.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE span_search (span_id text NOT NULL, started_at timestamptz NOT NULL, "
        "document tsvector NOT NULL, stored_xid xid8, PRIMARY KEY (span_id, started_at)) "
        "PARTITION BY RANGE (started_at)"
    )
    op.execute("CREATE TABLE span_search_default PARTITION OF span_search DEFAULT")
    bounds = op.get_bind().execute(
        sa.text(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid "
            "WHERE parent.relname = 'spans' AND child.relname LIKE 'spans\\_p%'"
        )
    )
    for name, bound in bounds:
        op.execute(f"CREATE TABLE span_search_{name[len('spans_') :]} PARTITION OF span_search {bound}")
    # Copied before the indexes exist: one sorted build each instead of a row-by-row insert.
    op.execute(
        "INSERT INTO span_search (span_id, started_at, document, stored_xid) "
        "SELECT span_id, started_at, search_document, stored_xid FROM spans WHERE search_document IS NOT NULL"
    )
    op.execute("ALTER TABLE span_search ALTER COLUMN stored_xid SET DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX span_search_document_idx ON span_search USING gin (document)")
    op.execute("CREATE INDEX span_search_stored_xid_idx ON span_search (stored_xid) WHERE stored_xid IS NOT NULL")
    # A heap without indexes: the indexer takes rows by ctid, in the order they came.
    op.execute("CREATE TABLE span_search_queue (span_id text NOT NULL, started_at timestamptz NOT NULL)")
    op.execute("DROP INDEX spans_search_idx")
    op.execute("ALTER TABLE spans DROP COLUMN search_document")


def downgrade() -> None:
    op.execute("ALTER TABLE spans ADD COLUMN search_document tsvector")
    op.execute(
        "UPDATE spans s SET search_document = x.document FROM span_search x "
        "WHERE x.span_id = s.span_id AND x.started_at = s.started_at"
    )
    op.execute("CREATE INDEX spans_search_idx ON spans USING gin (search_document)")
    # Spans still queued lose their documents: the old writer computed them as it stored.
    op.execute("DROP TABLE span_search_queue")
    op.execute("DROP TABLE span_search")
