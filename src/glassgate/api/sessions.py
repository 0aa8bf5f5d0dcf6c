"""GET /api/v1/sessions: calls grouped by `x-glassgate-session-id`, most recently active first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import sessions as session_store

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


class SessionSummary(BaseModel):
    session_id: str
    first_at: datetime = Field(description="When its first call started.")
    last_at: datetime = Field(description="When its latest call started: the list's order.")
    last_span_id: str = Field(description="Its latest span.")
    calls: int = Field(description="Its spans: proxied calls, and an instrumented app's spans that carry the id.")
    errors: int = Field(description="Calls that failed, were blocked or cancelled.")
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(description="USD of its priced calls; null when none is priced.")
    unpriced_calls: int = Field(description="Calls to models the price table does not know (not in cost_usd).")
    users: list[str] = Field(description=f"Its user ids, at most {session_store.MAX_NAMES}, sorted.")
    models: list[str] = Field(
        description=f"The models that served it (else as requested), at most {session_store.MAX_NAMES}, sorted."
    )


class SessionPage(BaseModel):
    data: list[SessionSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


@router.get(
    "", response_model=SessionPage, summary="List sessions, most recently active first", responses=problems(400)
)
async def list_sessions(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    q: Annotated[str | None, Query(max_length=500, description="Only sessions whose id starts with this.")] = None,
) -> dict[str, Any]:
    try:
        rows, next_cursor = await session_store.list_sessions(pool_of(request), limit, cursor, q or None)
    except session_store.BadCursor as exc:
        raise Problem(400, "Invalid cursor", str(exc)) from None
    return {"data": rows, "next_cursor": next_cursor}
