"""Calls to check and spans to settle them with, for the limiter tests (one Redis or a cluster)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import orjson

from glassgate.proxy.exchange import Exchange

_ids = itertools.count()


@dataclass
class FinishedSpan:
    span_id: str
    http_status: int | None = 200
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


def price(vendor: str, model: str | None, input_tokens: int, output_tokens: int) -> float | None:
    """$1 per million input tokens and $2 per million output tokens; `free-model` has no price."""
    if model == "free-model":
        return None
    return (input_tokens + 2 * output_tokens) / 1_000_000


def call(
    body: dict[str, Any] | None = None,
    *,
    project: str = "team-a",
    key_id: str | None = None,
    upstream: str = "openai",
    vendor: str = "openai",
) -> Exchange:
    payload = body if body is not None else {"model": "gpt-4o-mini", "messages": [], "max_tokens": 10}
    return Exchange(
        span_id=f"span{next(_ids):012d}",
        upstream=upstream,
        vendor=vendor,
        method="POST",
        path="/v1/chat/completions",
        query="",
        started_at=time.time(),
        project=project,
        key_id=key_id,
        request_body=orjson.dumps(payload),
    )
