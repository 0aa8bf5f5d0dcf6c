"""Writing and reading spans. Inserts are idempotent on `span_id`; listing uses keyset pages."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from glassgate.tracing.span import Span

_COLUMNS = [
    "span_id",
    "trace_id",
    "parent_span_id",
    "project",
    "kind",
    "upstream",
    "vendor",
    "operation",
    "model",
    "response_model",
    "status",
    "http_status",
    "streamed",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_status",
    "price_version",
    "latency_ms",
    "ttft_ms",
    "started_at",
    "session_id",
    "user_id",
    "tags",
    "key_id",
    "error",
    "request_body",
    "response_body",
    "attributes",
]
_JSON_COLUMNS = frozenset({"request_body", "response_body", "attributes"})
# The type each column travels as: a batch is sent as one array per column and unnested in
# a single INSERT, which costs PostgreSQL far less per row than one INSERT per span.
_ARRAY_TYPES = {
    "http_status": "int4",
    "streamed": "bool",
    "input_tokens": "int8",
    "output_tokens": "int8",
    "cached_tokens": "int8",
    "cache_write_tokens": "int8",
    "reasoning_tokens": "int8",
    "latency_ms": "float8",
    "cost_usd": "float8",
    "ttft_ms": "float8",
    "started_at": "timestamptz",
}


def _select_expression(name: str) -> str:
    if name in _JSON_COLUMNS:
        return f"u.{name}::jsonb"
    if name == "tags":  # ragged text[][] cannot be unnested: tags travel as JSON arrays
        return "ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb))"
    return f"u.{name}"


_INSERT = (
    f"INSERT INTO spans ({', '.join(_COLUMNS)}) "
    f"SELECT {', '.join(_select_expression(name) for name in _COLUMNS)} FROM unnest("
    + ", ".join(f"${i}::{_ARRAY_TYPES.get(name, 'text')}[]" for i, name in enumerate(_COLUMNS, 1))
    + f") AS u({', '.join(_COLUMNS)}) ON CONFLICT (span_id) DO NOTHING"
)
LIST_COLUMNS = [name for name in _COLUMNS if name not in ("request_body", "response_body")]


def _jsonb(value: Any) -> str | None:
    if value is None:
        return None
    # PostgreSQL's jsonb cannot hold NUL characters; a vendor body can.
    return orjson.dumps(value).decode().replace("\\u0000", "\\ufffd")


def _column_values(spans: Sequence[Span], name: str) -> list[Any]:
    if name in _JSON_COLUMNS:
        return [_jsonb(getattr(span, name)) for span in spans]
    if name == "tags":
        return [orjson.dumps(span.tags).decode() for span in spans]
    return [getattr(span, name) for span in spans]


async def insert_spans(pool: asyncpg.Pool, spans: Sequence[Span]) -> None:
    """Insert a batch in one statement; a span already stored is skipped, not duplicated."""
    columns = [_column_values(spans, name) for name in _COLUMNS]
    async with pool.acquire() as connection:
        await connection.execute(_INSERT, *columns)


@dataclass(frozen=True)
class SpanFilter:
    upstream: str | None = None
    model: str | None = None
    status: str | None = None
    project: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class BadCursor(ValueError):
    pass


def encode_cursor(started_at: datetime, span_id: str) -> str:
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{span_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, span_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), span_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc


def _decode_row(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    for name in _JSON_COLUMNS & row.keys():
        if row[name] is not None:
            row[name] = orjson.loads(row[name])
    return row


async def list_spans(
    pool: asyncpg.Pool, filters: SpanFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first. Returns (rows, next_cursor); next_cursor is None on the last page."""
    clauses: list[str] = []
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    for column in ("upstream", "model", "status", "project"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{column} = {bind(value)}")
    if filters.since is not None:
        clauses.append(f"started_at >= {bind(filters.since)}")
    if filters.until is not None:
        clauses.append(f"started_at < {bind(filters.until)}")
    if cursor is not None:
        started_at, span_id = decode_cursor(cursor)
        clauses.append(f"(started_at, span_id) < ({bind(started_at)}, {bind(span_id)})")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    query = (
        f"SELECT {', '.join(LIST_COLUMNS)} FROM spans {where} "
        f"ORDER BY started_at DESC, span_id DESC LIMIT {bind(limit + 1)}"
    )
    async with pool.acquire() as connection:
        records = await connection.fetch(query, *params)
    rows = [_decode_row(record) for record in records[:limit]]
    next_cursor = None
    if len(records) > limit:
        last = rows[-1]
        next_cursor = encode_cursor(last["started_at"], last["span_id"])
    return rows, next_cursor


async def get_span(pool: asyncpg.Pool, span_id: str) -> dict[str, Any] | None:
    async with pool.acquire() as connection:
        record = await connection.fetchrow(f"SELECT {', '.join(_COLUMNS)} FROM spans WHERE span_id = $1", span_id)
    return _decode_row(record) if record is not None else None


async def trace_spans(pool: asyncpg.Pool, trace_id: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Every span of one trace (app spans and proxied calls alike), in start order."""
    query = f"SELECT {', '.join(LIST_COLUMNS)} FROM spans WHERE trace_id = $1 ORDER BY started_at, span_id LIMIT $2"
    async with pool.acquire() as connection:
        records = await connection.fetch(query, trace_id, limit)
    return [_decode_row(record) for record in records]
