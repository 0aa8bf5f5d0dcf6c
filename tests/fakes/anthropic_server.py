"""A fake Anthropic Messages API speaking the exact wire format (wire-formats.md §4, §7).

Runs on loopback in a `ServerThread`. It records every request byte it receives and every
chunk it sends, so tests can check that the proxy relays both unchanged.

Scenarios are chosen by the request's `model`:
    error-400      400 invalid_request_error
    rate-limited   429 rate_limit_error with `retry-after` and `x-should-retry: false`
    overloaded     529 overloaded_error with `x-should-retry: false`
    cut-stream     a few events, then the connection drops
    stream-error   an `event: error` (overloaded_error) after the first delta, inside the 200
    slow-stream    40 extra text deltas 50 ms apart (for client disconnects)
    echo-slow      the user's text echoed (as `echo*` models), an event every 50 ms
Any other model answers normally: with a tool call when the request offers `tools`, with
thinking blocks when it asks for `thinking`.

Like the real API, it refuses a request without `anthropic-version` (400) or without a key
(401), so a proxy that drops either header fails loudly.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.fakes import anthropic_fixtures as fx
from tests.fakes.vendor_server import Received, RecordingFake

CUT_AFTER_EVENTS = 4  # message_start, content_block_start, ping, the first delta
SLOW_DELTAS = 40
SLOW_DELAY_S = 0.05
# x-should-retry: false keeps the SDKs from retrying 429 and 529, which would slow tests.
_NO_RETRY = {"x-should-retry": "false"}


class FakeAnthropic(RecordingFake):
    """Anthropic's Messages API."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        body = record.body
        if not (record.header("x-api-key") or record.header("authorization")):
            return await self._json(
                record, 401, fx.error("authentication_error", "x-api-key header is required"), _NO_RETRY
            )
        if not record.header("anthropic-version"):
            return await self._json(
                record, 400, fx.error("invalid_request_error", "anthropic-version: header is required")
            )
        path = request.path.rstrip("/")
        if request.method == "GET" and path == "/v1/models":
            return await self._json(record, 200, fx.MODELS)
        try:
            payload: Any = json.loads(body) if body else {}
        except ValueError:
            return await self._json(
                record, 400, fx.error("invalid_request_error", "The request body is not valid JSON.")
            )
        if not isinstance(payload, dict):
            payload = {}
        model = str(payload.get("model") or "")
        if model == "error-400":
            return await self._json(record, 400, fx.error("invalid_request_error", "max_tokens: Field required"))
        if model == "rate-limited":
            headers = {"retry-after": "1", "anthropic-ratelimit-requests-remaining": "0", **_NO_RETRY}
            return await self._json(
                record,
                429,
                fx.error("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
                headers,
            )
        if model == "overloaded":
            return await self._json(record, 529, fx.error("overloaded_error", "Overloaded"), _NO_RETRY)
        if path == "/v1/messages/count_tokens":
            return await self._json(record, 200, fx.count_tokens())
        if path == "/v1/messages":
            if payload.get("stream"):
                return await self._stream(request, record, payload, model)
            return await self._json(record, 200, fx.message(payload))
        return await self._json(record, 404, fx.error("not_found_error", f"Not found: {request.path}"))

    async def _json(
        self, record: Received, status: int, value: Any, headers: dict[str, str] | None = None
    ) -> web.StreamResponse:
        data = fx.dumps(value)
        record.sent.append(data)
        all_headers = {
            "content-type": "application/json",
            "request-id": fx.REQUEST_ID,
            "anthropic-ratelimit-requests-remaining": "99",
            **(headers or {}),
        }
        return web.Response(status=status, body=data, headers=all_headers)

    async def _stream(
        self, request: web.Request, record: Received, payload: dict[str, Any], model: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200,
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "request-id": fx.REQUEST_ID,
                "anthropic-ratelimit-requests-remaining": "99",
            },
        )
        await response.prepare(request)
        pieces = ["."] * SLOW_DELTAS + fx.TEXT_PIECES if model == "slow-stream" else None
        events = fx.message_stream(payload, text_pieces=pieces)
        if model == "stream-error":
            # The real API ends the stream after an error event: no message_delta, no stop.
            events = [*events[:CUT_AFTER_EVENTS], fx.stream_error()]
        for number, event in enumerate(events):
            if model == "cut-stream" and number == CUT_AFTER_EVENTS:
                assert request.transport is not None
                request.transport.abort()  # a reset mid-stream, as a failing upstream would
                return response
            record.sent.append(event)
            await response.write(event)
            if model in ("slow-stream", "echo-slow"):
                await asyncio.sleep(SLOW_DELAY_S)
        await response.write_eof()
        return response
