"""Guardrail findings per span, and the categories found on the span's hot row.

`guardrail_findings` is partitioned by month like `spans` (retention drops both together);
`spans.guardrail_categories` lets the span list filter by category through a GIN index.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE spans ADD COLUMN guardrail_categories text[] NOT NULL DEFAULT '{}'")
    op.execute(
        "CREATE INDEX spans_guardrail_categories_idx ON spans USING gin (guardrail_categories) "
        "WHERE guardrail_categories <> '{}'"
    )
    op.execute(
        "CREATE TABLE guardrail_findings ("
        "span_id text NOT NULL, started_at timestamptz NOT NULL, seq integer NOT NULL, "
        "policy text NOT NULL, phase text NOT NULL, detector text NOT NULL, category text NOT NULL, "
        "score double precision NOT NULL, action text NOT NULL, field text NOT NULL, "
        "start_offset integer NOT NULL, end_offset integer NOT NULL, "
        "PRIMARY KEY (span_id, started_at, seq)) PARTITION BY RANGE (started_at)"
    )
    op.execute("CREATE TABLE guardrail_findings_default PARTITION OF guardrail_findings DEFAULT")
    op.execute("CREATE INDEX guardrail_findings_started_idx ON guardrail_findings (started_at, category)")
    # The same months as the spans already have.
    bounds = op.get_bind().execute(
        sa.text(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid "
            "WHERE parent.relname = 'spans' AND child.relname LIKE 'spans\\_p%'"
        )
    )
    for name, bound in bounds:
        op.execute(f"CREATE TABLE guardrail_findings_{name[len('spans_') :]} PARTITION OF guardrail_findings {bound}")


def downgrade() -> None:
    op.execute("DROP TABLE guardrail_findings")
    op.execute("DROP INDEX spans_guardrail_categories_idx")
    op.execute("ALTER TABLE spans DROP COLUMN guardrail_categories")
