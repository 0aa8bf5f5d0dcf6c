"""Writing and reading spans. Inserts are idempotent on the span id; listing uses keyset pages.

A span is two rows: the hot row in `spans` (typed columns and short previews, what lists and
filters read) and its bodies in `span_bodies` (what the detail view reads). One batch is one
transaction: the spans, their bodies, the rollups of the spans that were new, and a place in
`span_search_queue` for each new span with text, whose words the search indexer stores next
(storage/search_indexer.py): indexing them here cost more than the rest of the insert.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from glassgate.storage import bodies, rollups, search
from glassgate.storage.annotations import ScoreFilter, score_condition
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
    "usage_estimated",
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
    "input_preview",
    "output_preview",
    "attributes",
    "guardrail_categories",
]
_BODY_COLUMNS = ["request_body", "response_body"]
_JSON_COLUMNS = frozenset({"attributes"})
# How each column is read from the batch document (json_to_recordset's column list).
_RECORD_TYPES = {
    "http_status": "int4",
    "streamed": "bool",
    "usage_estimated": "bool",
    "input_tokens": "int8",
    "output_tokens": "int8",
    "cached_tokens": "int8",
    "cache_write_tokens": "int8",
    "reasoning_tokens": "int8",
    "latency_ms": "float8",
    "cost_usd": "float8",
    "ttft_ms": "float8",
    "started_at": "timestamptz",
    "tags": "text[]",
    "guardrail_categories": "text[]",
    "attributes": "jsonb",
}
_RECORD = ", ".join(f"{name} {_RECORD_TYPES.get(name, 'text')}" for name in _COLUMNS)
_HOT_VALUES = ", ".join(f"u.{name}" for name in _COLUMNS)
_FINDING_TYPES = {
    "span_id": "text",
    "started_at": "timestamptz",
    "seq": "int4",
    "policy": "text",
    "phase": "text",
    "detector": "text",
    "category": "text",
    "score": "float8",
    "action": "text",
    "field": "text",
    "start_offset": "int4",
    "end_offset": "int4",
}
_FINDING_COLUMNS = ", ".join(_FINDING_TYPES)
_FINDING_RECORD = ", ".join(f"{name} {kind}" for name, kind in _FINDING_TYPES.items())
# The batch travels as the arguments `encode` builds. The statement returns the ids it stored.


def _insert_statement(skip_stored: bool) -> str:
    """The batch insert; with `skip_stored`, rows already stored are skipped instead of refused.

    Skipping costs PostgreSQL a speculative insertion per row (probe, insert, confirm: ~20% of
    a span's insert), so a batch is first written without it: only a batch written before,
    whose commit was not acknowledged (then spilled and replayed, or retried), meets a row
    that is already there, and is then written again with it.

    Without `skip_stored` every span of the batch is new (or the statement fails), so its
    rollups are known before it runs and travel in it (`$7` on): one round trip for the batch.
    With it, the rollups of the spans it returns follow in a second statement.
    """
    skip = " ON CONFLICT (span_id, started_at) DO NOTHING" if skip_stored else ""
    skip_finding = " ON CONFLICT (span_id, started_at, seq) DO NOTHING" if skip_stored else ""
    return (
        f"WITH stored AS (INSERT INTO spans ({', '.join(_COLUMNS)}) SELECT {_HOT_VALUES} "
        f"FROM json_to_recordset($1::json) AS u({_RECORD}){skip} "
        "RETURNING span_id, started_at, length(concat(input_preview, output_preview)) > 0 AS searchable), "
        "queued AS (INSERT INTO span_search_queue (span_id, started_at) "
        "SELECT span_id, started_at FROM stored WHERE searchable), "
        "bodies AS (INSERT INTO span_bodies (span_id, started_at, request_body, response_body) "
        f"SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::bytea[], $5::bytea[]){skip}), "
        f"findings AS (INSERT INTO guardrail_findings ({_FINDING_COLUMNS}) SELECT * FROM json_to_recordset($6::json) "
        f"AS f({_FINDING_RECORD}){skip_finding}) "
        f"{'' if skip_stored else ', ' + rollups.upsert_ctes(first=7)} "
        "SELECT span_id FROM stored"
    )


# PostgreSQL plans a prepared statement anew for each of its first executions ("custom"
# plans, which see the parameters) and keeps doing so while they look cheaper than a generic
# one. For these statements the parameters are the batch itself: a custom plan folds the
# batch document's `::json` cast (parsing the whole batch one more time) and plans the CTE
# over three partitioned tables again on every batch. Planned once, generically, the insert
# cost the database backend 10-25% less CPU per span (batches of 30 to 500), and the rollup
# upsert ~60% less (PostgreSQL 16, measured side by side on one server). The writer's pool sets
# it for the session (db.create_pool(for_writes=True)), so a batch of new spans is one
# statement on its own, committed as it ends: one round trip instead of four (BEGIN, SET,
# the statement, COMMIT), each of which waited on a busy event loop. The rare batch that
# meets stored spans runs in a transaction that sets it too.
_GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
_INSERT_NEW = _insert_statement(skip_stored=False)
_INSERT_SKIPPING_STORED = _insert_statement(skip_stored=True)
_ROLLUP_UPSERT = rollups.upsert_statement()
LIST_COLUMNS = _COLUMNS
_LIST = ", ".join(f"spans.{name}" for name in LIST_COLUMNS)
_ORDER = "ORDER BY spans.started_at DESC, spans.span_id DESC"
_FINDINGS_OF_SPAN = (
    "SELECT policy, phase, detector, category, score, action, field, start_offset AS start, end_offset AS end "
    "FROM guardrail_findings WHERE span_id = $1 AND started_at = $2 ORDER BY seq"
)
# A search is answered one of two ways, chosen by counting matches (up to this many) first:
# few matches are fetched through the full-text index, joined to their spans and sorted; many
# are found by walking the time index newest first, looking up each span's words, where the
# first page fills after a short walk. PostgreSQL cannot estimate prefix matches, so left to
# itself it walks the time index for rare words too, and a rare word in a million spans then
# reads them all.
SEARCH_PROBE_LIMIT = 2000
_THROUGH_SEARCH_INDEX = "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"
_FROM_MATCHES = "SET LOCAL enable_indexscan = on"  # the join to spans: by primary key
_THROUGH_TIME_INDEX = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = on"
)


_ENCODED_FIELDS = [name for name in _COLUMNS if name != "guardrail_categories"]


def _row(span: Span) -> dict[str, Any]:
    row = {name: getattr(span, name) for name in _ENCODED_FIELDS}
    row["guardrail_categories"] = sorted({finding.category for finding in span.findings})
    return row


def _finding_rows(span: Span) -> list[dict[str, Any]]:
    return [
        {
            "span_id": span.span_id,
            "started_at": span.started_at,
            "seq": seq,
            "policy": finding.policy,
            "phase": finding.phase,
            "detector": finding.detector,
            "category": finding.category,
            "score": finding.score,
            "action": finding.action,
            "field": finding.field,
            "start_offset": finding.start,
            "end_offset": finding.end,
        }
        for seq, finding in enumerate(span.findings)
    ]


class EncodedBatch(list[Span]):
    """Spans with the arguments of their INSERT already built."""

    arguments: tuple[str, list[str], list[datetime], list[bytes | None], list[bytes | None], str]
    rollup_arguments: list[list[object]]  # of every call in the batch, for the statement that stores them all


def encode(spans: Sequence[Span]) -> EncodedBatch:
    """The batch with the arguments of its INSERT.

    A batch travels as ONE JSON document, rows as objects: encoding it is a single orjson call,
    where 35 typed arrays cost the driver ~17 µs a span to encode. The bodies, compressed by
    storage.bodies, travel beside it as bytea arrays.
    """
    encoder = _BatchEncoder()
    encoder.add(spans)
    return encoder.finish(spans)


async def encode_in_slices(spans: Sequence[Span], slice_size: int) -> EncodedBatch:
    """`encode` for the span writer, which encodes on the proxy's event loop: `slice_size`
    spans at a time, yielding in between, so that proxied calls are not held behind a whole
    batch. Each slice is still one orjson call; the slices' JSON arrays are joined at the end.
    """
    encoder = _BatchEncoder()
    for first in range(0, len(spans), slice_size):
        if first:
            await asyncio.sleep(0)
        encoder.add(spans[first : first + slice_size])
    return encoder.finish(spans)


class _BatchEncoder:
    """Collects the INSERT arguments of a batch, slice by slice."""

    def __init__(self) -> None:
        self._rows: list[bytes] = []  # each slice's rows, as the inside of a JSON array
        self._body_ids: list[str] = []
        self._body_started: list[datetime] = []
        self._requests: list[bytes | None] = []
        self._responses: list[bytes | None] = []
        self._findings: list[dict[str, Any]] = []

    def add(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        self._rows.append(orjson.dumps([_row(span) for span in spans], option=orjson.OPT_NON_STR_KEYS)[1:-1])
        for span in spans:
            if span.request_body is not None or span.response_body is not None:
                self._body_ids.append(span.span_id)
                self._body_started.append(span.started_at)
                self._requests.append(bodies.pack(span.request_body))
                self._responses.append(bodies.pack(span.response_body))
            if span.findings:
                self._findings.extend(_finding_rows(span))

    def finish(self, spans: Sequence[Span]) -> EncodedBatch:
        batch = EncodedBatch(spans)
        encoded = b"[" + b",".join(self._rows) + b"]"
        batch.arguments = (
            # PostgreSQL's text and jsonb cannot hold NUL characters; a preview, an error or an attribute can.
            encoded.replace(b"\\u0000", b"\\ufffd").decode(),
            self._body_ids,
            self._body_started,
            self._requests,
            self._responses,
            orjson.dumps(self._findings).decode(),
        )
        batch.rollup_arguments = rollups.upsert_arguments(_calls(spans))
        return batch


def _calls(spans: Sequence[Span]) -> list[Span]:
    # Dashboards count proxied calls; spans ingested over OTLP would count an instrumented
    # app's calls through the proxy twice.
    return [span for span in spans if span.upstream is not None]


async def insert_spans(pool: asyncpg.Pool, spans: Sequence[Span]) -> int:
    """Store a batch; spans already stored are skipped, not duplicated. Returns how many were new.

    Fastest on a pool from `db.create_pool(..., for_writes=True)`; any pool stores the same.
    """
    batch = spans if isinstance(spans, EncodedBatch) else encode(spans)
    async with pool.acquire() as connection:
        try:
            # One statement: atomic on its own, without BEGIN and COMMIT round trips.
            return len(await connection.fetch(_INSERT_NEW, *batch.arguments, *batch.rollup_arguments))
        except asyncpg.UniqueViolationError:
            return await _insert_skipping_stored(connection, batch)


async def _insert_skipping_stored(connection: asyncpg.Connection, batch: EncodedBatch) -> int:
    async with connection.transaction():
        await connection.execute(_GENERIC_PLANS)
        stored = {record[0] for record in await connection.fetch(_INSERT_SKIPPING_STORED, *batch.arguments)}
        new_calls = _calls([span for span in batch if span.span_id in stored])
        if new_calls:
            await connection.execute(_ROLLUP_UPSERT, *rollups.upsert_arguments(new_calls))
    return len(stored)


@dataclass(frozen=True)
class SpanFilter:
    upstream: str | None = None
    model: str | None = None
    status: str | None = None
    project: str | None = None
    kind: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()  # spans carrying every one of these
    search: str | None = None  # words in the input or output preview; the last may be a prefix
    guardrail_category: str | None = None  # spans with a finding of this category
    score: ScoreFilter | None = None  # spans annotated with a score config, within bounds
    since: datetime | None = None
    until: datetime | None = None


_EQUALITY_FILTERS = ("upstream", "model", "status", "project", "kind", "session_id", "user_id")


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


def _where(filters: SpanFilter, bind: Any) -> list[str]:
    clauses: list[str] = []
    for column in _EQUALITY_FILTERS:
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{column} = {bind(value)}")
    if filters.tags:
        clauses.append(f"tags @> {bind(list(filters.tags))}::text[]")
    if filters.guardrail_category is not None:
        clauses.append(f"guardrail_categories @> ARRAY[{bind(filters.guardrail_category)}::text]")
    if filters.since is not None:
        clauses.append(f"started_at >= {bind(filters.since)}")
    if filters.until is not None:
        clauses.append(f"started_at < {bind(filters.until)}")
    return clauses


async def list_spans(
    pool: asyncpg.Pool, filters: SpanFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first. Returns (rows, next_cursor); next_cursor is None on the last page."""
    params: list[Any] = []
    bind = _binder(params)
    clauses = _where(filters, bind)
    if filters.score is not None:
        clauses.append(await score_condition(pool, filters.score, bind))
    if cursor is not None:
        started_at, span_id = decode_cursor(cursor)
        clauses.append(f"(started_at, span_id) < ({bind(started_at)}, {bind(span_id)})")
    async with pool.acquire() as connection:
        if filters.search is None:
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            query = f"SELECT {_LIST} FROM spans {where} {_ORDER} LIMIT {bind(limit + 1)}"
            records = await connection.fetch(query, *params)
        else:
            records = await _search(connection, filters, clauses, params, limit + 1)
    rows = [_decode_row(record) for record in records[:limit]]
    next_cursor = None
    if len(records) > limit:
        last = rows[-1]
        next_cursor = encode_cursor(last["started_at"], last["span_id"])
    return rows, next_cursor


async def _search(
    connection: asyncpg.Connection, filters: SpanFilter, clauses: list[str], params: list[Any], limit: int
) -> list[asyncpg.Record]:
    """Spans whose words match `filters.search` (in `span_search`, filled by the search indexer)."""
    assert filters.search is not None
    tsquery = search.query(filters.search)
    if tsquery is None:  # no words at all (only punctuation) matches nothing rather than everything
        return []
    probe_params: list[Any] = []
    params = list(params)
    async with connection.transaction():
        await connection.execute(_THROUGH_SEARCH_INDEX)
        probe = f"SELECT 1 FROM span_search x WHERE {_matching(filters, tsquery, _binder(probe_params))}"
        matches = await connection.fetchval(
            f"SELECT count(*) FROM ({probe} LIMIT {SEARCH_PROBE_LIMIT}) AS hits", *probe_params
        )
        bind = _binder(params)
        match = _matching(filters, tsquery, bind)
        if matches < SEARCH_PROBE_LIMIT:
            await connection.execute(_FROM_MATCHES)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            query = (
                f"WITH hits AS MATERIALIZED (SELECT x.span_id, x.started_at FROM span_search x WHERE {match}) "
                f"SELECT {_LIST} FROM hits JOIN spans USING (span_id, started_at) {where} {_ORDER} LIMIT {bind(limit)}"
            )
        else:
            await connection.execute(_THROUGH_TIME_INDEX)
            # A scalar subquery, checked span by span as the walk goes. An EXISTS would become a
            # join, which PostgreSQL then drives from span_search (it cannot estimate how many
            # documents a prefix matches), reading every match: 1.2 s in a million spans.
            words = (
                f"(SELECT {match} FROM span_search x WHERE x.span_id = spans.span_id "
                "AND x.started_at = spans.started_at)"
            )
            query = f"SELECT {_LIST} FROM spans WHERE {' AND '.join([*clauses, words])} {_ORDER} LIMIT {bind(limit)}"
        records: list[asyncpg.Record] = await connection.fetch(query, *params)
    return records


def _binder(params: list[Any]) -> Callable[[Any], str]:
    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    return bind


def _matching(filters: SpanFilter, tsquery: str, bind: Callable[[Any], str]) -> str:
    """Conditions on `span_search x`: the words, and the time range (which skips the months outside it)."""
    conditions = [f"x.document @@ to_tsquery('simple', {bind(tsquery)})"]
    if filters.since is not None:
        conditions.append(f"x.started_at >= {bind(filters.since)}")
    if filters.until is not None:
        conditions.append(f"x.started_at < {bind(filters.until)}")
    return " AND ".join(conditions)


_DETAIL = (
    f"SELECT {', '.join(f's.{name}' for name in LIST_COLUMNS)}, b.request_body, b.response_body FROM spans s "
    "LEFT JOIN span_bodies b ON b.span_id = s.span_id AND b.started_at = s.started_at WHERE s.span_id = $1"
)


async def get_span(pool: asyncpg.Pool, span_id: str) -> dict[str, Any] | None:
    """One span with its bodies."""
    async with pool.acquire() as connection:
        record = await connection.fetchrow(_DETAIL, span_id)
    if record is None:
        return None
    row = _decode_row(record)
    for name in _BODY_COLUMNS:
        row[name] = bodies.unpack(row[name])
    async with pool.acquire() as connection:
        found = await connection.fetch(_FINDINGS_OF_SPAN, span_id, row["started_at"])
    row["findings"] = [dict(finding) for finding in found]
    return row


async def trace_spans(pool: asyncpg.Pool, trace_id: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Every span of one trace (app spans and proxied calls alike), in start order."""
    query = f"SELECT {', '.join(LIST_COLUMNS)} FROM spans WHERE trace_id = $1 ORDER BY started_at, span_id LIMIT $2"
    async with pool.acquire() as connection:
        records = await connection.fetch(query, trace_id, limit)
    return [_decode_row(record) for record in records]
