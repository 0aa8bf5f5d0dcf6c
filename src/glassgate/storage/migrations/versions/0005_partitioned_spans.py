"""Spans partitioned by month, bodies in their own table, text previews, rollups.

- `spans` becomes RANGE-partitioned on started_at (monthly, plus a DEFAULT partition), so
  retention drops months instead of deleting rows; the primary key is (span_id, started_at).
- Request and response bodies move to `span_bodies` (partitioned the same way), which keeps
  the hot row small; the hot row gets bounded `input_preview` / `output_preview` text under a
  full-text GIN index. (pg_trgm is not in every PostgreSQL build, the embedded one included;
  `simple` text search is, and needs no language configuration.)
- Indexes for each list filter, session, user and tags.
- `rollups_minute`, `rollups_hour` and `rollups_day`: additive totals and latency/TTFT histograms per
  project × upstream × model, maintained by the writer.

Existing rows are copied across; their previews stay empty (they were never computed).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_HOT_COLUMNS = """
    span_id text NOT NULL,
    trace_id text NOT NULL,
    parent_span_id text,
    project text NOT NULL,
    kind text NOT NULL,
    upstream text,
    vendor text,
    operation text,
    model text,
    response_model text,
    status text NOT NULL,
    http_status integer,
    streamed boolean NOT NULL DEFAULT false,
    input_tokens bigint,
    output_tokens bigint,
    cached_tokens bigint,
    cache_write_tokens bigint,
    reasoning_tokens bigint,
    usage_estimated boolean NOT NULL DEFAULT false,
    cost_usd double precision,
    cost_status text,
    price_version text,
    latency_ms double precision,
    ttft_ms double precision,
    started_at timestamptz NOT NULL,
    session_id text,
    user_id text,
    tags text[] NOT NULL DEFAULT '{}',
    key_id text,
    error text,
    input_preview text,
    output_preview text,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    search_document tsvector
"""
_COPIED = (
    "span_id, trace_id, parent_span_id, project, kind, upstream, vendor, operation, model, response_model, "
    "status, http_status, streamed, input_tokens, output_tokens, cached_tokens, cache_write_tokens, "
    "reasoning_tokens, cost_usd, cost_status, price_version, latency_ms, ttft_ms, started_at, session_id, "
    "user_id, tags, key_id, error, attributes"
)
_ROLLUP_COLUMNS = """
    bucket timestamptz NOT NULL,
    project text NOT NULL,
    upstream text NOT NULL,
    model text NOT NULL,
    requests bigint NOT NULL,
    errors bigint NOT NULL,
    cancelled bigint NOT NULL,
    blocked bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cached_tokens bigint NOT NULL,
    cost_usd double precision NOT NULL,
    unpriced bigint NOT NULL,
    latency_sum_ms double precision NOT NULL,
    latency_hist bigint[] NOT NULL,
    ttft_count bigint NOT NULL,
    ttft_sum_ms double precision NOT NULL,
    ttft_hist bigint[] NOT NULL,
    PRIMARY KEY (bucket, project, upstream, model)
"""


def _month(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def upgrade() -> None:
    bind = op.get_bind()
    for name in ("spans_started_idx", "spans_upstream_started_idx", "spans_model_started_idx"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS spans_status_started_idx")
    op.execute("DROP INDEX IF EXISTS spans_trace_idx")
    op.execute("ALTER TABLE spans RENAME TO spans_unpartitioned")
    op.execute("ALTER TABLE spans_unpartitioned RENAME CONSTRAINT spans_pkey TO spans_unpartitioned_pkey")
    op.execute(
        f"CREATE TABLE spans ({_HOT_COLUMNS}, PRIMARY KEY (span_id, started_at)) PARTITION BY RANGE (started_at)"
    )
    op.execute("CREATE TABLE spans_default PARTITION OF spans DEFAULT")
    # Bodies arrive compressed (storage/bodies.py): EXTERNAL keeps PostgreSQL from trying again.
    op.execute(
        "CREATE TABLE span_bodies (span_id text NOT NULL, started_at timestamptz NOT NULL, "
        "request_body bytea STORAGE EXTERNAL, response_body bytea STORAGE EXTERNAL, "
        "PRIMARY KEY (span_id, started_at)) PARTITION BY RANGE (started_at)"
    )
    op.execute("CREATE TABLE span_bodies_default PARTITION OF span_bodies DEFAULT")

    # Keyset order everywhere is (started_at DESC, span_id DESC); each filter leads its index.
    op.execute("CREATE INDEX spans_started_idx ON spans (started_at DESC, span_id DESC)")
    for column in ("project", "upstream", "model", "status"):
        op.execute(f"CREATE INDEX spans_{column}_started_idx ON spans ({column}, started_at DESC, span_id DESC)")
    for column in ("session_id", "user_id"):
        op.execute(
            f"CREATE INDEX spans_{column}_started_idx ON spans ({column}, started_at DESC, span_id DESC) "
            f"WHERE {column} IS NOT NULL"
        )
    op.execute("CREATE INDEX spans_tags_idx ON spans USING gin (tags) WHERE tags <> '{}'")
    op.execute("CREATE INDEX spans_trace_idx ON spans (trace_id)")
    op.execute("CREATE INDEX spans_search_idx ON spans USING gin (search_document)")

    for table in ("rollups_minute", "rollups_hour", "rollups_day"):
        op.execute(f"CREATE TABLE {table} ({_ROLLUP_COLUMNS})")

    # Partitions for the months already holding spans, this month and the next two.
    months = {_month(row[0]) for row in bind.execute(sa.text("SELECT DISTINCT started_at FROM spans_unpartitioned"))}
    start = _month(datetime.now(UTC))
    for _ in range(3):
        months.add(start)
        start = _next(start)
    for month in sorted(months):
        for table in ("spans", "span_bodies"):
            op.execute(
                f"CREATE TABLE {table}_p{month:%Y_%m} PARTITION OF {table} "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next(month).isoformat()}')"
            )
    op.execute(f"INSERT INTO spans ({_COPIED}) SELECT {_COPIED} FROM spans_unpartitioned")
    _copy_bodies(bind)
    _backfill_rollups(bind)
    op.execute("DROP TABLE spans_unpartitioned")


def _copy_bodies(bind: sa.Connection) -> None:
    from glassgate.storage import bodies

    rows = bind.execute(
        sa.text(
            "SELECT span_id, started_at, request_body::text, response_body::text FROM spans_unpartitioned "
            "WHERE request_body IS NOT NULL OR response_body IS NOT NULL"
        )
    )
    insert = sa.text(
        "INSERT INTO span_bodies (span_id, started_at, request_body, response_body) VALUES (:id, :at, :req, :res)"
    )
    for span_id, started_at, request, response in rows.all():
        packed = [bodies.pack(orjson.loads(text)) if text is not None else None for text in (request, response)]
        bind.execute(insert, {"id": span_id, "at": started_at, "req": packed[0], "res": packed[1]})


def _backfill_rollups(bind: sa.Connection) -> None:
    # Imported here: the running code's histogram buckets are the ones the rollups must use.
    from glassgate.storage import rollups

    rows = bind.execute(
        sa.text(
            "SELECT started_at, project, upstream, model, status, input_tokens, output_tokens, cached_tokens, "
            "cost_usd, cost_status, latency_ms, ttft_ms FROM spans_unpartitioned WHERE upstream IS NOT NULL"
        )
    )
    spans = [rollups.RolledSpan(*row) for row in rows]
    for resolution, table in rollups.TABLES.items():
        totals = rollups.accumulate(spans, resolution)
        if not totals:
            continue
        columns = rollups.upsert_columns()
        arguments = rollups.resolution_arguments(totals)
        for values in zip(*arguments, strict=True):
            bind.execute(
                sa.text(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ("
                    + ", ".join(
                        f"ARRAY(SELECT jsonb_array_elements_text(CAST(:{name} AS jsonb))::int8)"
                        if name.endswith("_hist")
                        else f":{name}"
                        for name in columns
                    )
                    + ")"
                ),
                dict(zip(columns, values, strict=True)),
            )


def downgrade() -> None:
    op.execute("DROP TABLE rollups_day")
    op.execute("DROP TABLE rollups_hour")
    op.execute("DROP TABLE rollups_minute")
    op.execute("ALTER TABLE spans RENAME TO spans_partitioned")
    op.execute(
        "CREATE TABLE spans AS SELECT s.*, NULL::jsonb AS request_body, NULL::jsonb AS response_body "
        "FROM spans_partitioned s"
    )
    _restore_bodies(op.get_bind())
    op.execute(
        "ALTER TABLE spans DROP COLUMN usage_estimated, DROP COLUMN input_preview, DROP COLUMN output_preview, "
        "DROP COLUMN search_document"
    )
    op.execute("DROP TABLE span_bodies")
    op.execute("DROP TABLE spans_partitioned")  # first: its key holds the name spans_pkey
    op.execute("ALTER TABLE spans ADD CONSTRAINT spans_pkey PRIMARY KEY (span_id)")
    op.execute("CREATE INDEX spans_started_idx ON spans (started_at DESC, span_id DESC)")
    for column in ("upstream", "model", "status"):
        op.execute(f"CREATE INDEX spans_{column}_started_idx ON spans ({column}, started_at DESC, span_id DESC)")
    op.execute("CREATE INDEX spans_trace_idx ON spans (trace_id)")


def _restore_bodies(bind: sa.Connection) -> None:
    from glassgate.storage import bodies

    update = sa.text(
        "UPDATE spans SET request_body = CAST(:req AS jsonb), response_body = CAST(:res AS jsonb) "
        "WHERE span_id = :id AND started_at = :at"
    )
    for span_id, started_at, request, response in bind.execute(sa.text("SELECT * FROM span_bodies")).all():
        texts = [
            orjson.dumps(bodies.unpack(packed)).decode().replace("\\u0000", "\\ufffd") if packed else None
            for packed in (request, response)
        ]
        bind.execute(update, {"id": span_id, "at": started_at, "req": texts[0], "res": texts[1]})
