"""Online rules find new spans by when they were stored, not when they started; results keep TTFT.

`spans.stored_xid` is the id of the transaction that stored the row (`pg_current_xact_id()`,
64-bit, never wraps), set by its default at insert, under a partial index on every monthly
partition. Each rule keeps the snapshot of its last scan (`eval_rules.scanned_snapshot`); the
spans stored since are those whose transaction that snapshot did not see: xid >= its xmax, or
one of the xids in progress then. So a span is found once whatever its started_at (a spill
replayed after an outage, OTLP spans of last week), even when the transaction that stored it
committed after later ones did, and a transaction left open for an hour only costs a lookup
of its own xid.

Rows stored before this migration have no xid. Those the old scan window (120 s behind each
enabled rule's `scanned_until`) would still have looked at get this migration's xid, and each
rule starts from a snapshot that sees neither it nor any transaction in progress, so nothing
between the last old scan and the first new one is missed.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE experiment_results ADD COLUMN ttft_ms double precision")
    # No default while the column is added: the partitions are not rewritten. Then new rows get it.
    op.execute("ALTER TABLE spans ADD COLUMN stored_xid xid8")
    op.execute("ALTER TABLE spans ALTER COLUMN stored_xid SET DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX spans_stored_xid_idx ON spans (stored_xid) WHERE stored_xid IS NOT NULL")
    op.execute(
        "UPDATE spans SET stored_xid = pg_current_xact_id() WHERE stored_xid IS NULL AND started_at >= "
        "(SELECT min(scanned_until) FROM eval_rules WHERE enabled) - interval '120 seconds'"
    )
    op.execute("ALTER TABLE eval_rules ADD COLUMN scanned_snapshot pg_snapshot")
    # xmin = xmax = the older of this transaction and the oldest one in progress: every later
    # transaction, this one and those in progress are "not seen yet".
    op.execute(
        "UPDATE eval_rules SET scanned_snapshot = (f.xid::text || ':' || f.xid::text || ':')::pg_snapshot "
        "FROM (SELECT least(pg_current_xact_id(), pg_snapshot_xmin(pg_current_snapshot())) AS xid) AS f"
    )
    op.execute(
        "ALTER TABLE eval_rules ALTER COLUMN scanned_snapshot SET DEFAULT pg_current_snapshot(), "
        "ALTER COLUMN scanned_snapshot SET NOT NULL"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE eval_rules DROP COLUMN scanned_snapshot")
    op.execute("DROP INDEX spans_stored_xid_idx")
    op.execute("ALTER TABLE spans DROP COLUMN stored_xid")
    op.execute("ALTER TABLE experiment_results DROP COLUMN ttft_ms")
