"""The search index takes each document directly: no GIN pending list on `span_search`.

With `fastupdate` on (PostgreSQL's default), a GIN index appends new entries to a pending
list and merges the list into the index once it passes `gin_pending_list_limit`; the backend
whose insert finds the list full does the merge. Here that backend is the search indexer, and
the merges cost more than they save: in bench.run's sequence (a 1-connection phase, then 32
connections), the indexer's database CPU was 140–320 µs per span with the pending list and
57–87 µs without it (~22 µs only while the first list fills, before any merge). Searches also
stop reading an unsorted list.

Partitioned indexes keep no options, so each partition's index gets it; partition
maintenance (storage/partitions.py) sets it on the months it creates. Entries already
pending are merged here, once.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_EACH_PARTITION_INDEX = (
    "SELECT child.oid::regclass AS partition_index FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid "
    "WHERE inhparent = 'span_search_document_idx'::regclass"
)


def upgrade() -> None:
    op.execute(
        f"DO $$ DECLARE r record; BEGIN FOR r IN {_EACH_PARTITION_INDEX} LOOP "
        "EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', r.partition_index); "
        "PERFORM gin_clean_pending_list(r.partition_index); END LOOP; END $$"
    )


def downgrade() -> None:
    op.execute(
        f"DO $$ DECLARE r record; BEGIN FOR r IN {_EACH_PARTITION_INDEX} LOOP "
        "EXECUTE format('ALTER INDEX %s RESET (fastupdate)', r.partition_index); END LOOP; END $$"
    )
