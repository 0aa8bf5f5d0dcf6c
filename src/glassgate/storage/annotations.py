"""Annotations: a score a human, an LLM judge or code gives a span, and per-span score summaries.

A human has one annotation per span and score config: annotating again updates it (the
partial unique index of migration 0008 arbitrates, so two concurrent posts cannot make two).
Judges and code evaluators add a new annotation on every run. Annotations name their span
by id (spans are partitioned and dropped by retention; annotations may outlive them).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from glassgate.storage.annotation_errors import Invalid, NotAuthor, NotFound
from glassgate.storage.score_configs import MAX_TEXT_CHARS, Value, configs_for_use, decode_value, encode_value

Source = Literal["human", "llm", "code"]
SOURCES: tuple[Source, ...] = ("human", "llm", "code")
SUMMARY_TEXT_CHARS = 200  # a text score's latest value, as the trace list shows it

_COLUMNS = (
    "a.annotation_id, a.span_id, a.trace_id, a.config_id, c.name AS config_name, c.kind, a.value_number, "
    "a.value_text, a.comment, a.author, a.source, a.created_at, a.updated_at"
)
_SPAN = "SELECT span_id, started_at, trace_id FROM spans WHERE span_id = $1 ORDER BY started_at DESC LIMIT 1"
_UPSERT = (
    "WITH written AS (INSERT INTO annotations (annotation_id, span_id, span_started_at, trace_id, config_id, "
    "value_number, value_text, comment, author, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (span_id, config_id, author) WHERE source = 'human' DO UPDATE SET "
    "value_number = excluded.value_number, value_text = excluded.value_text, comment = excluded.comment, "
    "updated_at = now() RETURNING *, xmax = 0 AS created) "
    f"SELECT {_COLUMNS}, a.created FROM written a JOIN score_configs c USING (config_id)"
)
_UPDATE = (
    "WITH written AS (UPDATE annotations SET value_number = $2, value_text = $3, comment = $4, updated_at = now() "
    "WHERE annotation_id = $1 RETURNING *) "
    f"SELECT {_COLUMNS} FROM written a JOIN score_configs c USING (config_id)"
)
# One row per span and config: how many annotations, their average, and the latest one.
_SUMMARIES = (
    "SELECT a.span_id, a.config_id, c.name, c.kind, count(*) AS count, avg(a.value_number) AS avg, "
    "(array_agg(a.value_number ORDER BY a.updated_at DESC, a.annotation_id DESC))[1] AS value, "
    f"(array_agg(left(a.value_text, {SUMMARY_TEXT_CHARS}) ORDER BY a.updated_at DESC, a.annotation_id DESC))[1] "
    "AS label FROM annotations a JOIN score_configs c USING (config_id) WHERE a.span_id = ANY ($1::text[]) "
    "GROUP BY a.span_id, a.config_id, c.name, c.kind ORDER BY c.name"
)


@dataclass(frozen=True)
class ScoreFilter:
    """Spans with at least one annotation of `config` (its id or name) matching every bound given."""

    config: str
    min_value: float | None = None  # inclusive, on the stored number (a category's value, 1/0 for booleans)
    max_value: float | None = None  # inclusive
    label: str | None = None  # exactly this label, "true"/"false", or text


# Like a search (storage/spans.py), a score filter is answered one of two ways, chosen by
# counting the spans it matches (up to this many) first: few are named by id and found
# through the primary key, however old; many are found by walking the time index newest first
# with an EXISTS probe, where the first page fills after a short walk. Left to itself,
# PostgreSQL cannot tell a rarely used score from a common one and walks for both, and a rare
# score in a million spans then reads them all.
SCORE_PROBE_LIMIT = 2000


def _matching(score: ScoreFilter, bind: Callable[[Any], str]) -> list[str]:
    config = bind(score.config)
    conditions = [f"a.config_id IN (SELECT config_id FROM score_configs WHERE config_id = {config} OR name = {config})"]
    if score.min_value is not None:
        conditions.append(f"a.value_number >= {bind(float(score.min_value))}")
    if score.max_value is not None:
        conditions.append(f"a.value_number <= {bind(float(score.max_value))}")
    if score.label is not None:
        conditions.append(f"a.value_text = {bind(score.label)}")
    return conditions


async def score_condition(pool: asyncpg.Pool, score: ScoreFilter, bind: Callable[[Any], str]) -> str:
    """A condition on rows of `spans`, with its values bound through `bind` (which returns "$n")."""
    params: list[Any] = []

    def bind_probe(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    probe = f"SELECT DISTINCT a.span_id FROM annotations a WHERE {' AND '.join(_matching(score, bind_probe))}"
    found = await pool.fetch(f"{probe} LIMIT {SCORE_PROBE_LIMIT}", *params)
    if len(found) < SCORE_PROBE_LIMIT:
        return f"span_id = ANY ({bind([record[0] for record in found])}::text[])"
    conditions = ["a.span_id = spans.span_id", *_matching(score, bind)]
    return f"EXISTS (SELECT 1 FROM annotations a WHERE {' AND '.join(conditions)})"


def _annotation(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    row.pop("created", None)
    row["value"] = decode_value(row["kind"], row["value_number"], row["value_text"])
    return row


def _check_comment(comment: str) -> str:
    if len(comment) > MAX_TEXT_CHARS:
        raise Invalid("comment", f"must be at most {MAX_TEXT_CHARS} characters")
    return comment


async def annotate(
    pool: asyncpg.Pool,
    span_id: str,
    *,
    config_id: str,
    value: Value,
    author: str,
    comment: str = "",
    source: Source = "human",
) -> tuple[dict[str, Any], bool]:
    """Score a span. Returns (annotation, created): a human's second annotation updates the first."""
    if source not in SOURCES:
        raise Invalid("source", f"must be one of {', '.join(SOURCES)}")
    async with pool.acquire() as connection, connection.transaction():
        span = await connection.fetchrow(_SPAN, span_id)
        if span is None:
            raise NotFound("span", span_id)
        config = (await configs_for_use(connection, [config_id]))[config_id]
        number, text = encode_value(config, value)
        record = await connection.fetchrow(
            _UPSERT,
            "ann_" + secrets.token_hex(8),
            span_id,
            span["started_at"],
            span["trace_id"],
            config_id,
            number,
            text,
            _check_comment(comment),
            author,
            source,
        )
    return _annotation(record), bool(record["created"])


_UNCHANGED: Any = object()


async def update_annotation(
    pool: asyncpg.Pool,
    annotation_id: str,
    *,
    value: Value = _UNCHANGED,
    comment: str | None = None,
    editor: str | None = None,
) -> dict[str, Any]:
    """Change the value and/or comment. With `editor`, only that author's annotation (else NotAuthor)."""
    async with pool.acquire() as connection, connection.transaction():
        config = None
        if value is not _UNCHANGED:
            # The config first, as annotate() locks them: the same order everywhere cannot deadlock.
            config_id = await connection.fetchval(
                "SELECT config_id FROM annotations WHERE annotation_id = $1", annotation_id
            )
            if config_id is None:
                raise NotFound("annotation", annotation_id)
            config = (await configs_for_use(connection, [config_id], "value"))[config_id]
        current = await connection.fetchrow(
            "SELECT author, value_number, value_text, comment FROM annotations WHERE annotation_id = $1 FOR UPDATE",
            annotation_id,
        )
        _check_editor(current, annotation_id, editor)
        number, text = encode_value(config, value) if config else (current["value_number"], current["value_text"])
        new_comment = current["comment"] if comment is None else _check_comment(comment)
        record = await connection.fetchrow(_UPDATE, annotation_id, number, text, new_comment)
    return _annotation(record)


async def delete_annotation(pool: asyncpg.Pool, annotation_id: str, editor: str | None = None) -> None:
    """Delete one annotation. With `editor`, only that author's annotation (else NotAuthor)."""
    async with pool.acquire() as connection, connection.transaction():
        current = await connection.fetchrow(
            "SELECT author FROM annotations WHERE annotation_id = $1 FOR UPDATE", annotation_id
        )
        _check_editor(current, annotation_id, editor)
        await connection.execute("DELETE FROM annotations WHERE annotation_id = $1", annotation_id)


def _check_editor(current: asyncpg.Record | None, annotation_id: str, editor: str | None) -> None:
    if current is None:
        raise NotFound("annotation", annotation_id)
    if editor is not None and current["author"] != editor:
        raise NotAuthor(f"annotation {annotation_id!r} is {current['author']}'s")


async def list_annotations(pool: asyncpg.Pool, span_id: str) -> list[dict[str, Any]]:
    """A span's annotations by config name, oldest first; NotFound when neither span nor annotations exist."""
    async with pool.acquire() as connection:
        records = await connection.fetch(
            f"SELECT {_COLUMNS} FROM annotations a JOIN score_configs c USING (config_id) "
            "WHERE a.span_id = $1 ORDER BY c.name, a.created_at, a.annotation_id",
            span_id,
        )
        if not records and await connection.fetchrow(_SPAN, span_id) is None:
            raise NotFound("span", span_id)
    return [_annotation(record) for record in records]


async def score_summaries(pool: asyncpg.Pool, span_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """For each span id with annotations: per config (by name) the count, average and latest value.

    `value` is the latest number (null for text), `label` the latest text (a category's label,
    "true"/"false", or the text cut to SUMMARY_TEXT_CHARS). One query, however many spans.
    """
    if not span_ids:
        return {}
    summaries: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in await pool.fetch(_SUMMARIES, list(span_ids)):
        row = dict(record)
        summaries[row.pop("span_id")].append(row)
    return dict(summaries)
