"""GET /api/v1/spans and /api/v1/spans/{span_id}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from glassgate.api.annotation_problems import invalid
from glassgate.api.annotations import ScoreSummary
from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import annotations as annotation_store
from glassgate.storage import spans as span_store

router = APIRouter(prefix="/api/v1/spans", tags=["spans"])


class SpanSummary(BaseModel):
    span_id: str
    trace_id: str
    parent_span_id: str | None
    project: str
    kind: str
    upstream: str | None
    vendor: str | None
    operation: str | None
    model: str | None = Field(description="The model as requested (Azure: the deployment).")
    response_model: str | None = Field(description="The model that served the call, from the response.")
    status: Literal["ok", "error", "blocked", "cancelled"]
    http_status: int | None
    streamed: bool
    input_tokens: int | None
    output_tokens: int | None
    cached_tokens: int | None = Field(description="Prompt tokens read from the vendor's cache (part of input_tokens).")
    cache_write_tokens: int | None = Field(description="Prompt tokens written to the cache (part of input_tokens).")
    reasoning_tokens: int | None
    usage_estimated: bool = Field(description="Token counts estimated with tiktoken: the vendor reported none.")
    cost_usd: float | None = Field(description="USD, from genai-prices; null when unpriced or without usage.")
    cost_status: str | None = Field(description="priced | unpriced (model not in the price table) | no_usage")
    price_version: str | None = Field(description="The price table the cost was computed with.")
    latency_ms: float | None
    ttft_ms: float | None
    started_at: datetime
    session_id: str | None
    user_id: str | None
    tags: list[str]
    key_id: str | None
    error: str | None
    input_preview: str | None = Field(description="The latest user turn or prompt: one line, at most 1000 characters.")
    output_preview: str | None = Field(description="The text the model produced, likewise bounded.")
    guardrail_categories: list[str] = Field(description="Categories guardrails found in the request (EMAIL, …).")
    attributes: dict[str, Any]


class GuardrailFinding(BaseModel):
    policy: str
    phase: Literal["input", "output"]
    detector: str
    category: str
    score: float
    action: Literal["block", "redact", "flag"] = Field(description="What the policy does with a finding.")
    field: str = Field(description="JSON path of the scanned string in the body; the matched value is never kept.")
    start: int = Field(description="Character offsets of the match in that string (as it was scanned).")
    end: int


class ScoredSpan(SpanSummary):
    scores: list[ScoreSummary] = Field(description="The span's annotations summed up per score config, by name.")


class SpanDetail(ScoredSpan):
    findings: list[GuardrailFinding] = Field(description="Guardrail findings on this call, in scan order.")
    request_body: Any = Field(description="The request as JSON (or text when it was not JSON).")
    response_body: Any = Field(description="The response as JSON; a streamed answer assembled into one value.")


class SpanPage(BaseModel):
    data: list[ScoredSpan]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


@router.get("", response_model=SpanPage, summary="List spans, newest first", responses=problems(400))
async def list_spans(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    upstream: str | None = None,
    model: str | None = None,
    status: Literal["ok", "error", "blocked", "cancelled"] | None = None,
    project: str | None = None,
    kind: Annotated[str | None, Query(description="llm for proxied calls; OTLP spans carry their own kind.")] = None,
    session_id: str | None = None,
    user_id: str | None = None,
    tag: Annotated[list[str] | None, Query(description="Repeat for several; spans must carry every one.")] = None,
    guardrail_category: Annotated[
        str | None, Query(description="Only spans with a guardrail finding of this category (e.g. EMAIL).")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=500, description="Words in the input or output preview; the last word matches as a prefix."),
    ] = None,
    since: Annotated[datetime | None, Query(description="Inclusive lower bound on started_at (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive upper bound on started_at (ISO 8601).")] = None,
    score_config: Annotated[
        str | None,
        Query(description="Only spans annotated with this score config (its id or name), within the bounds below."),
    ] = None,
    score_min: Annotated[
        float | None, Query(description="Inclusive; on the number (a category's value, 1/0 for booleans).")
    ] = None,
    score_max: Annotated[float | None, Query(description="Inclusive.")] = None,
    score_label: Annotated[str | None, Query(description="Exactly this label, true/false, or text.")] = None,
) -> dict[str, Any]:
    score = None
    if score_config is not None:
        score = annotation_store.ScoreFilter(score_config, score_min, score_max, score_label)
    elif (score_min, score_max, score_label) != (None, None, None):
        raise invalid("query", "score_config", "score_min, score_max and score_label need score_config")
    filters = span_store.SpanFilter(
        upstream=upstream,
        model=model,
        status=status,
        project=project,
        kind=kind,
        session_id=session_id,
        user_id=user_id,
        tags=tuple(tag or ()),
        search=q,
        guardrail_category=guardrail_category,
        since=since,
        until=until,
        score=score,
    )
    try:
        rows, next_cursor = await span_store.list_spans(pool_of(request), filters, limit, cursor)
    except span_store.BadCursor as exc:
        raise Problem(400, "Invalid cursor", str(exc)) from None
    await _add_scores(pool_of(request), rows)
    return {"data": rows, "next_cursor": next_cursor}


@router.get("/{span_id}", response_model=SpanDetail, summary="One span with its request and response")
async def get_span(request: Request, span_id: str) -> dict[str, Any]:
    row = await span_detail(pool_of(request), span_id)
    if row is None:
        raise Problem(404, "Span not found", f"no span with id {span_id!r}")
    return row


async def span_detail(pool: asyncpg.Pool, span_id: str) -> dict[str, Any] | None:
    """One span with its bodies, findings and scores (a SpanDetail), or None."""
    row = await span_store.get_span(pool, span_id)
    if row is not None:
        await _add_scores(pool, [row])
    return row


async def _add_scores(pool: asyncpg.Pool, rows: list[dict[str, Any]]) -> None:
    summaries = await annotation_store.score_summaries(pool, [row["span_id"] for row in rows])
    for row in rows:
        row["scores"] = summaries.get(row["span_id"], [])
