"""A fast mock of OpenAI's `POST .../chat/completions`, so the bench measures proxies, not the upstream.

Raw asyncio Protocol on uvloop, responses pre-encoded at start: the mock must stay far from
being the bottleneck. Non-streaming requests get a fixed `chat.completion` with `usage`;
bodies containing `"stream":true` get an SSE stream of `--chunks` events `--delay-ms` apart
(HTTP/1.1 chunked, keep-alive), then a usage event and `data: [DONE]`.

A streaming body may override the stream's shape per request with
`"bench": {"chunks": N, "delay_ms": D}`, so one mock serves both short TTFB probes and
slow relay checks.

    python -m bench.mock_upstream --port 8001 [--chunks 10 --delay-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from dataclasses import dataclass
from typing import cast

import uvloop

_MODEL = "gpt-4o-mini-2024-07-18"
_COMPLETION = {
    "id": "chatcmpl-bench0000000000000000000000",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": _MODEL,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! This is a fixed answer from the Glassgate bench mock upstream. "
                "It is about the size of a short real reply.",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 27,
        "total_tokens": 39,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_bench",
}


def _json_response() -> bytes:
    body = json.dumps(_COMPLETION, separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-request-id: req_bench\r\n"
        "openai-processing-ms: 1\r\n"
        "\r\n"
    )
    return head.encode() + body


_RESPONSE = _json_response()
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\n"
    b"cache-control: no-cache\r\n"
    b"x-request-id: req_bench\r\n"
    b"\r\n"
)
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_STREAM_MARKERS = (b'"stream":true', b'"stream": true')


def _chunked(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(data: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _content_event(index: int, last: bool) -> bytes:
    delta: dict[str, object] = {"content": f"tok{index} "}
    if index == 0:
        delta["role"] = "assistant"
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": "stop" if last else None}
    return _event(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": _MODEL,
            "choices": [choice],
        }
    )


_USAGE_EVENT = _event(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": _MODEL,
        "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22},
    }
)
_DONE_EVENT = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class StreamShape:
    chunks: int
    delay_s: float


def build_stream(chunks: int) -> list[bytes]:
    """The writes of one stream, each already chunk-encoded; the last one also ends the stream."""
    writes = [_chunked(_content_event(i, i == chunks - 1)) for i in range(chunks)]
    writes[0] = _STREAM_HEAD + writes[0]
    # Usage and [DONE] ride with the last content event: real vendors send them back to back.
    writes[-1] += _chunked(_USAGE_EVENT + _DONE_EVENT) + b"0\r\n\r\n"
    return writes


def shape_of(body: bytes, default: StreamShape) -> StreamShape:
    """Per-request override from the body's `"bench"` object; parsed only for streams (rare)."""
    if b'"bench"' not in body:
        return default
    try:
        spec = json.loads(body).get("bench") or {}
        chunks = max(1, int(spec.get("chunks", default.chunks)))
        delay_s = max(0.0, float(spec.get("delay_ms", default.delay_s * 1000)) / 1000)
    except (ValueError, TypeError, AttributeError):
        return default
    return StreamShape(chunks, delay_s)


class MockProtocol(asyncio.Protocol):
    """One connection: parse requests with Content-Length, answer in order, keep alive."""

    def __init__(self, default: StreamShape, streams: dict[int, list[bytes]]) -> None:
        self._default = default
        self._streams = streams  # pre-built writes per chunk count, shared by all connections
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._streaming = False
        self._close_after = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        # A request pipelined behind a stream waits until the stream has ended.
        if not self._streaming:
            self._serve_buffered()

    def _serve_buffered(self) -> None:
        while self._transport is not None and not self._streaming:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            length = _content_length(head)
            if length is None:
                self._transport.write(_BAD_REQUEST)
                self._transport.close()
                return
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            body = self._buffer[end + 4 : total]
            self._buffer = self._buffer[total:]
            self._close_after = b"\r\nconnection: close" in head
            self._answer(body)

    def _answer(self, body: bytes) -> None:
        assert self._transport is not None
        if any(marker in body for marker in _STREAM_MARKERS):
            self._start_stream(shape_of(body, self._default))
            return
        self._transport.write(_RESPONSE)
        if self._close_after:
            self._transport.close()

    def _start_stream(self, shape: StreamShape) -> None:
        writes = self._streams.get(shape.chunks)
        if writes is None:
            writes = self._streams.setdefault(shape.chunks, build_stream(shape.chunks))
        self._streaming = True
        self._send_part(writes, 0, shape.delay_s)

    def _send_part(self, writes: list[bytes], index: int, delay_s: float) -> None:
        self._timer = None
        if self._transport is None:
            return
        self._transport.write(writes[index])
        if index + 1 < len(writes):
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(delay_s, self._send_part, writes, index + 1, delay_s)
            return
        self._streaming = False
        if self._close_after:
            self._transport.close()
            return
        self._serve_buffered()


def _content_length(head: bytes) -> int | None:
    """Content-Length of a lower-cased request head; 0 if absent; None for chunked bodies (unsupported)."""
    if b"\r\ntransfer-encoding:" in head:
        return None
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    stop = head.find(b"\r\n", start)
    value = head[start:] if stop < 0 else head[start:stop]
    try:
        return int(value.strip())
    except ValueError:
        return None


async def serve(host: str, port: int, default: StreamShape) -> None:
    loop = asyncio.get_running_loop()
    streams = {default.chunks: build_stream(default.chunks)}
    server = await loop.create_server(lambda: MockProtocol(default, streams), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=10, help="content events per stream")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="pause between stream events")
    args = parser.parse_args()
    shape = StreamShape(max(1, args.chunks), max(0.0, args.delay_ms) / 1000)
    uvloop.run(serve(args.host, args.port, shape))


if __name__ == "__main__":
    main()
