"""What the simulated vendor answers to one request, and how long it takes: no IO here.

    POST /v1/chat/completions   OpenAI Chat Completions, JSON or SSE (`include_usage` honoured)
    POST /v1/responses          OpenAI Responses, JSON or SSE
    POST /v1/embeddings         OpenAI Embeddings, floats or base64
    POST /v1/messages           Anthropic Messages, JSON or SSE

Like the real services it wants a key (401 without one; Anthropic also wants `anthropic-version`).
Its timing: 50–400 ms for a whole answer; for a stream, a first token after 80–300 ms, then
5–15 ms between events (smaller models are faster). The delays come from a hash of the request
body, so the same call always takes the same time. A client asks for a failure with the
`x-demo-fault` header: `rate_limit` (429), `server_error` (OpenAI 500, Anthropic 529
overloaded) or `stream_error` (the stream breaks off with the vendor's in-stream error).
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glassgate.demo import anthropic_format, openai_format
from glassgate.demo.answer import Answer, random_id

FAULT_HEADER = "x-demo-fault"
_OPENAI_PATHS = {"/v1/chat/completions": "chat", "/v1/responses": "responses", "/v1/embeddings": "embeddings"}
_SSE = "text/event-stream; charset=utf-8"
_STREAM_ERROR_AFTER = 4  # events sent before a `stream_error` fault breaks the stream off


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]  # the body: one chunk for JSON, one per event for a stream
    first_delay_s: float  # before the first byte: the whole answer's time, or the time to first token
    gap_s: float = 0.0  # between the chunks of a stream

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def streamed(self) -> bool:
        return self.headers["content-type"].startswith("text/event-stream")


def _json(status: int, value: Any, headers: dict[str, str], delay_s: float) -> Response:
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, {"content-type": "application/json", **headers}, [body], delay_s)


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _speed(model: str) -> float:
    return 0.5 if "mini" in model or "haiku" in model else 1.0


def _whole(answer: Answer, rng: random.Random) -> float:
    """A non-streamed answer arrives whole, once the model wrote all of it: 50–400 ms."""
    return min(0.4, rng.uniform(0.05, 0.1) + answer.output_tokens * 0.003 * _speed(answer.model))


class Simulation:
    """The simulated vendor's behaviour; `SimulatedVendor` serves it over HTTP."""

    def __init__(self) -> None:
        self._cached_prefixes: set[str] = set()  # Anthropic prompt caching: written once, then read

    def respond(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """`headers` must look names up case-insensitively (aiohttp's and httpx's do)."""
        rng = random.Random(zlib.crc32(body))
        fault = headers.get(FAULT_HEADER)
        if path == "/v1/messages" or path.startswith("/v1/messages/"):
            return self._anthropic(method, path, headers, body, rng, fault)
        return self._openai(method, path, headers, body, rng, fault)

    def _openai(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, rng: random.Random, fault: str | None
    ) -> Response:
        sent = {
            "x-request-id": random_id("req_", 32),
            "openai-version": "2020-10-01",
            "openai-organization": "org-demo",
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
        }
        quick = rng.uniform(0.01, 0.04)
        kind = _OPENAI_PATHS.get(path)
        if method != "POST" or kind is None:
            return _json(
                404, openai_format.error(f"Invalid URL ({method} {path})", "invalid_request_error", None), sent, quick
            )
        if not headers.get("authorization"):
            return _json(401, openai_format.MISSING_KEY, sent, quick)
        payload = _parse(body)
        if payload is None:
            problem = openai_format.error(
                "We could not parse the JSON body of your request.", "invalid_request_error", None
            )
            return _json(400, problem, sent, quick)
        if fault == "rate_limit":
            limited = {**sent, "x-ratelimit-remaining-requests": "0", "retry-after-ms": "120", "retry-after": "1"}
            return _json(429, openai_format.rate_limited(str(payload.get("model") or "")), limited, quick)
        if fault == "server_error":
            return _json(500, openai_format.SERVER_ERROR, sent, quick)
        if kind == "embeddings":
            return _json(
                200, openai_format.embeddings(payload), {**sent, "openai-processing-ms": "41"}, rng.uniform(0.05, 0.12)
            )
        if kind == "chat":
            answer = openai_format.chat_answer(payload)
            completion_id = random_id("chatcmpl-", 29)
            if payload.get("stream"):
                include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
                events = openai_format.chat_stream(answer, completion_id, include_usage=include_usage)
                return _stream(events, answer, rng, fault, openai_format.stream_error(), sent)
            return _json(200, openai_format.chat_completion(answer, completion_id), sent, _whole(answer, rng))
        answer = openai_format.responses_answer(payload)
        response_id, item_id = random_id("resp_", 48), random_id("msg_", 48)
        if payload.get("stream"):
            events = openai_format.responses_stream(payload, answer, response_id, item_id)
            failure = openai_format.responses_stream_error(_STREAM_ERROR_AFTER)
            return _stream(events, answer, rng, fault, failure, sent)
        value = openai_format.response_object(payload, answer, response_id, item_id)
        return _json(200, value, sent, _whole(answer, rng))

    def _anthropic(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, rng: random.Random, fault: str | None
    ) -> Response:
        request_id = random_id("req_011C", 22)
        sent = {
            "request-id": request_id,
            "anthropic-organization-id": "0f3c2a9e-5d1b-4c7a-9e2f-6b8d4a1c3e50",
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
        }
        quick = rng.uniform(0.01, 0.04)

        def refuse(status: int, kind: str, message: str, extra: dict[str, str] | None = None) -> Response:
            return _json(status, anthropic_format.error(kind, message, request_id), {**sent, **(extra or {})}, quick)

        if method != "POST" or path != "/v1/messages":
            return refuse(404, "not_found_error", "Not found")
        if not (headers.get("x-api-key") or headers.get("authorization")):
            return refuse(401, "authentication_error", "x-api-key header is required")
        if not headers.get("anthropic-version"):
            return refuse(400, "invalid_request_error", "anthropic-version: header is required")
        payload = _parse(body)
        if payload is None:
            return refuse(400, "invalid_request_error", "The request body is not valid JSON.")
        if fault == "rate_limit":
            limited = {"anthropic-ratelimit-requests-remaining": "0", "retry-after": "1"}
            return refuse(429, "rate_limit_error", anthropic_format.RATE_LIMITED, limited)
        if fault == "server_error":
            return refuse(529, "overloaded_error", "Overloaded")
        answer = anthropic_format.answer_for(payload, self._cached_prefixes)
        message_id = random_id("msg_01", 22)
        if payload.get("stream"):
            events = anthropic_format.message_stream(answer, message_id)
            failure = anthropic_format.stream_error()
            return _stream(events, answer, rng, fault, failure, {**sent, "cache-control": "no-cache"})
        return _json(200, anthropic_format.message(answer, message_id), sent, _whole(answer, rng))


def _stream(
    events: list[bytes], answer: Answer, rng: random.Random, fault: str | None, failure: bytes, headers: dict[str, str]
) -> Response:
    if fault == "stream_error":
        events = [*events[:_STREAM_ERROR_AFTER], failure]
    speed = _speed(answer.model)
    first = rng.uniform(0.08, 0.3) * speed
    return Response(200, {"content-type": _SSE, **headers}, events, first, rng.uniform(0.005, 0.015) * speed)
