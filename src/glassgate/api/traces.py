"""GET /api/v1/traces/{trace_id}: an app's spans and the proxy's LLM calls as one trace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from glassgate.api.problems import Problem
from glassgate.api.spans import SpanSummary
from glassgate.api.state import pool_of
from glassgate.storage import spans as span_store

router = APIRouter(prefix="/api/v1/traces", tags=["traces"])


class Trace(BaseModel):
    trace_id: str
    spans: list[SpanSummary]


@router.get("/{trace_id}", response_model=Trace, summary="All spans of one trace, in start order")
async def get_trace(request: Request, trace_id: str) -> dict[str, Any]:
    rows = await span_store.trace_spans(pool_of(request), trace_id.lower())
    if not rows:
        raise Problem(404, "Trace not found", f"no spans with trace id {trace_id!r}")
    return {"trace_id": trace_id.lower(), "spans": rows}
