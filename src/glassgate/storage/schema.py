"""The tables, as SQLAlchemy Core. Migrations create them; queries are written against them."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("project", Text, ForeignKey("projects.name"), nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),  # sha256 of the whole key; the key is never stored
    Column("prefix", Text, nullable=False),  # first characters, to recognise a key in listings
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
)

aws_keys = Table(
    "aws_keys",
    metadata,
    Column("access_key_id", Text, primary_key=True),
    Column("project", Text, ForeignKey("projects.name"), nullable=False),
    Column("secret_encrypted", Text, nullable=False),  # Fernet, keyed by the instance's secret_key
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
)

# Partitioned by month on started_at (migration 0005; storage/partitions.py keeps them).
spans = Table(
    "spans",
    metadata,
    Column("span_id", Text, primary_key=True),
    Column("trace_id", Text, nullable=False),
    Column("parent_span_id", Text),
    Column("project", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("upstream", Text),
    Column("vendor", Text),
    Column("operation", Text),
    Column("model", Text),
    Column("response_model", Text),
    Column("status", Text, nullable=False),
    Column("http_status", Integer),
    Column("streamed", Boolean, nullable=False, server_default=text("false")),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cached_tokens", BigInteger),
    Column("cache_write_tokens", BigInteger),
    Column("reasoning_tokens", BigInteger),
    Column("usage_estimated", Boolean, nullable=False, server_default=text("false")),
    Column("cost_usd", Double),
    Column("cost_status", Text),
    Column("price_version", Text),
    Column("latency_ms", Double),
    Column("ttft_ms", Double),
    Column("started_at", DateTime(timezone=True), primary_key=True),
    Column("session_id", Text),
    Column("user_id", Text),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("key_id", Text),
    Column("error", Text),
    Column("input_preview", Text),
    Column("output_preview", Text),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("guardrail_categories", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    postgresql_partition_by="RANGE (started_at)",
)

span_bodies = Table(
    "span_bodies",
    metadata,
    Column("span_id", Text, primary_key=True),
    Column("started_at", DateTime(timezone=True), primary_key=True),
    Column("request_body", LargeBinary),  # zstd-compressed JSON (storage/bodies.py)
    Column("response_body", LargeBinary),
    postgresql_partition_by="RANGE (started_at)",
)

# Full-text search, filled behind the writer by storage/search_indexer.py (migration 0013).
span_search = Table(
    "span_search",
    metadata,
    Column("span_id", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("document", TSVECTOR, nullable=False),  # the previews' words (storage/search.py)
    # Time first: documents arrive in about that order, so the key grows at one end (0015).
    PrimaryKeyConstraint("started_at", "span_id"),
    postgresql_partition_by="RANGE (started_at)",
)

span_search_queue = Table(
    "span_search_queue",
    metadata,
    Column("span_id", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)


def _rollup_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("bucket", DateTime(timezone=True), primary_key=True),
        Column("project", Text, primary_key=True),
        Column("upstream", Text, primary_key=True),
        Column("model", Text, primary_key=True),
        *(
            Column(column, BigInteger, nullable=False)
            for column in ("requests", "errors", "cancelled", "blocked", "input_tokens", "output_tokens")
        ),
        Column("cached_tokens", BigInteger, nullable=False),
        Column("cost_usd", Double, nullable=False),
        Column("unpriced", BigInteger, nullable=False),
        Column("latency_sum_ms", Double, nullable=False),
        Column("latency_hist", ARRAY(BigInteger), nullable=False),
        Column("ttft_count", BigInteger, nullable=False),
        Column("ttft_sum_ms", Double, nullable=False),
        Column("ttft_hist", ARRAY(BigInteger), nullable=False),
    )


rollups_minute = _rollup_table("rollups_minute")
rollups_hour = _rollup_table("rollups_hour")
rollups_day = _rollup_table("rollups_day")

guardrail_findings = Table(
    "guardrail_findings",
    metadata,
    Column("span_id", Text, primary_key=True),
    Column("started_at", DateTime(timezone=True), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("policy", Text, nullable=False),
    Column("phase", Text, nullable=False),
    Column("detector", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("score", Double, nullable=False),
    Column("action", Text, nullable=False),
    Column("field", Text, nullable=False),  # JSON path of the scanned string; the matched value is never stored
    Column("start_offset", Integer, nullable=False),
    Column("end_offset", Integer, nullable=False),
    postgresql_partition_by="RANGE (started_at)",
)
