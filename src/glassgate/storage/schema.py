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
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

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
    Column("cost_usd", Double),
    Column("cost_status", Text),
    Column("price_version", Text),
    Column("latency_ms", Double),
    Column("ttft_ms", Double),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("session_id", Text),
    Column("user_id", Text),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("key_id", Text),
    Column("error", Text),
    Column("request_body", JSONB),
    Column("response_body", JSONB),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("spans_started_idx", text("started_at DESC"), text("span_id DESC")),
    Index("spans_upstream_started_idx", "upstream", text("started_at DESC"), text("span_id DESC")),
    Index("spans_model_started_idx", "model", text("started_at DESC"), text("span_id DESC")),
    Index("spans_status_started_idx", "status", text("started_at DESC"), text("span_id DESC")),
    Index("spans_trace_idx", "trace_id"),
)
