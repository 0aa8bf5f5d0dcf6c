"""Score configs, annotations and annotation queues.

Annotations point at a span by id and start time (the spans' partition key), not by foreign
key: spans are partitioned and dropped by retention, and an annotation may outlive its span's
partition. `source` tells a human's annotation from an LLM judge's or a code evaluator's.
Queue items are unique per queue and span, so a span is never queued twice; a reviewer holds
an item through a lock that expires, so an abandoned item goes back to the others. Items are
handed out in the order they were added (`position`), a reviewer's assigned items first.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE score_configs ("
        "config_id text PRIMARY KEY, "
        "name text NOT NULL UNIQUE, "
        "kind text NOT NULL CHECK (kind IN ('numeric', 'categorical', 'boolean', 'text')), "
        "min_value double precision, "
        "max_value double precision, "
        "categories jsonb NOT NULL DEFAULT '[]', "  # [{"label": ..., "value": ...}]
        "description text NOT NULL DEFAULT '', "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "archived_at timestamptz)"
    )
    op.execute(
        "CREATE TABLE annotations ("
        "annotation_id text PRIMARY KEY, "
        "span_id text NOT NULL, "
        "span_started_at timestamptz, "
        "trace_id text, "
        "config_id text NOT NULL REFERENCES score_configs (config_id), "
        "value_number double precision, "
        "value_text text, "
        "comment text NOT NULL DEFAULT '', "
        "author text NOT NULL, "
        "source text NOT NULL DEFAULT 'human' CHECK (source IN ('human', 'llm', 'code')), "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "updated_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute("CREATE INDEX annotations_span_idx ON annotations (span_id)")
    op.execute("CREATE INDEX annotations_config_idx ON annotations (config_id, value_number)")
    # One human annotation per span, config and author: annotating again updates it.
    op.execute(
        "CREATE UNIQUE INDEX annotations_human_once_idx ON annotations (span_id, config_id, author) "
        "WHERE source = 'human'"
    )
    op.execute(
        "CREATE TABLE annotation_queues ("
        "queue_id text PRIMARY KEY, "
        "name text NOT NULL UNIQUE, "
        "description text NOT NULL DEFAULT '', "
        "config_ids text[] NOT NULL DEFAULT '{}', "
        "created_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TABLE annotation_queue_items ("
        "queue_id text NOT NULL REFERENCES annotation_queues (queue_id) ON DELETE CASCADE, "
        "span_id text NOT NULL, "
        "span_started_at timestamptz, "
        "status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'skipped')), "
        "assigned_to text, "
        "locked_by text, "
        "locked_until timestamptz, "
        "completed_by text, "
        "completed_at timestamptz, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "position bigint GENERATED ALWAYS AS IDENTITY, "
        "PRIMARY KEY (queue_id, span_id))"
    )
    op.execute("CREATE INDEX annotation_queue_items_status_idx ON annotation_queue_items (queue_id, status, position)")
    # Claiming the next item: a reviewer's assigned items, then unassigned ones, each in order.
    op.execute(
        "CREATE INDEX annotation_queue_items_next_idx ON annotation_queue_items (queue_id, assigned_to, position) "
        "WHERE status = 'pending'"
    )
    op.execute(
        "CREATE INDEX annotation_queue_items_locked_idx ON annotation_queue_items (queue_id, locked_by) "
        "WHERE status = 'pending' AND locked_by IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE annotation_queue_items")
    op.execute("DROP TABLE annotation_queues")
    op.execute("DROP TABLE annotations")
    op.execute("DROP TABLE score_configs")
