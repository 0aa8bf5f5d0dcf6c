"""An OpenAI-like upstream that misbehaves on request: `python -m bench.faults.faulty_upstream --port N`.

`POST .../chat/completions` answers like the bench's mock (bench/mock_upstream.py): a JSON
`chat.completion`, or for `"stream": true` an SSE stream of `--chunks` events `--delay-ms`
apart. The request header `x-bench-fault` turns the answer into one of the faults below:

    status-500, status-503      the vendor's own error JSON with that status
    reset-before-headers        the request is read, then the connection is reset (RST)
    reset-mid-body              200 with a Content-Length, half the JSON, then RST
    reset-mid-stream            the stream's head and first events, then RST
    silent                      the request is read, and nothing is ever sent back
    silent-mid-stream           the stream's head and first events, then silence

`x-bench-stream-delay-ms` sets the pause between a stream's events for one request.

`GET /bench/deliveries` returns `{"x-bench-call value": times received}`, so a scenario can
tell how often each call reached the upstream (a reset before the headers is retried once on
a fresh connection by Glassgate's pool, by design).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import struct
from collections import Counter

FAULTS = (
    "status-500",
    "status-503",
    "reset-before-headers",
    "reset-mid-body",
    "reset-mid-stream",
    "silent",
    "silent-mid-stream",
)
_EVENTS_BEFORE_FAULT = 3  # a faulty stream sends this many events before it breaks
_MODEL = "gpt-4o-mini-2024-07-18"
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-faulty",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": _MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "A fixed answer from the fault bench's upstream."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    },
    separators=(",", ":"),
).encode()
_ERRORS = {
    500: ("The server had an error while processing your request.", "server_error"),
    503: ("The engine is currently overloaded, please try again later.", "server_error"),
}


def _head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode()


def _json_answer(status: int, body: bytes) -> bytes:
    phrase = {200: "OK", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    headers = [("content-type", "application/json"), ("content-length", str(len(body))), ("x-request-id", "req_f")]
    if status == 503:
        headers.append(("retry-after", "1"))
    return _head(f"{status} {phrase}", headers) + body


def _error_body(status: int) -> bytes:
    message, kind = _ERRORS[status]
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}}).encode()


_STREAM_HEAD = _head("200 OK", [("content-type", "text/event-stream; charset=utf-8"), ("transfer-encoding", "chunked")])


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(index: int, last: bool) -> bytes:
    delta: dict[str, object] = {"content": f"tok{index} "}
    if index == 0:
        delta["role"] = "assistant"
    choice = {"index": 0, "delta": delta, "finish_reason": "stop" if last else None}
    data = {"id": "chatcmpl-faulty", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": _MODEL}
    return _chunk(b"data: " + json.dumps(data | {"choices": [choice]}).encode() + b"\n\n")


_USAGE_EVENT = {
    "id": "chatcmpl-faulty",
    "object": "chat.completion.chunk",
    "created": 1_700_000_000,
    "model": _MODEL,
    "choices": [],
    "usage": {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22},
}
_STREAM_END = _chunk(b"data: " + json.dumps(_USAGE_EVENT).encode() + b"\n\ndata: [DONE]\n\n") + b"0\r\n\r\n"


class FaultyUpstream:
    def __init__(self, chunks: int, delay_s: float) -> None:
        self._chunks = chunks
        self._delay_s = delay_s
        self.deliveries: Counter[str] = Counter()

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._serve_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away, or sent something this mock does not parse: drop it
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """One request; False when the connection is to be closed (or was reset)."""
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        if request_line.startswith("GET /bench/deliveries"):
            writer.write(_json_answer(200, json.dumps(self.deliveries).encode()))
            return True
        if "x-bench-call" in headers:
            self.deliveries[headers["x-bench-call"]] += 1
        fault = headers.get("x-bench-fault", "")
        stream = b'"stream":true' in body.replace(b" ", b"")
        if fault.startswith("status-"):
            status = int(fault.removeprefix("status-"))
            writer.write(_json_answer(status, _error_body(status)))
        elif fault == "reset-before-headers":
            return _reset(writer)
        elif fault == "reset-mid-body":
            whole = _json_answer(200, _COMPLETION)
            writer.write(whole[: len(whole) - len(_COMPLETION) // 2])
            await writer.drain()
            await asyncio.sleep(0.05)  # let the head and half the body leave before the reset
            return _reset(writer)
        elif fault == "silent":
            await reader.read()  # until the client gives up and closes
            return False
        elif stream or fault in ("reset-mid-stream", "silent-mid-stream"):
            delay_ms = headers.get("x-bench-stream-delay-ms")
            delay_s = float(delay_ms) / 1000 if delay_ms else self._delay_s
            return await self._stream(reader, writer, fault, delay_s)
        else:
            writer.write(_json_answer(200, _COMPLETION))
        await writer.drain()
        return True

    async def _stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fault: str, delay_s: float
    ) -> bool:
        writer.write(_STREAM_HEAD)
        for index in range(self._chunks):
            if fault and index == _EVENTS_BEFORE_FAULT:
                await writer.drain()
                if fault == "reset-mid-stream":
                    await asyncio.sleep(0.05)
                    return _reset(writer)
                await reader.read()  # silent-mid-stream: until the client gives up
                return False
            writer.write(_event(index, index == self._chunks - 1))
            await writer.drain()
            await asyncio.sleep(delay_s)
        writer.write(_STREAM_END)
        await writer.drain()
        return True


def _reset(writer: asyncio.StreamWriter) -> bool:
    """Close with RST: SO_LINGER 0 drops the connection instead of ending it cleanly."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    return False


async def serve(host: str, port: int, chunks: int, delay_s: float) -> None:
    upstream = FaultyUpstream(chunks, delay_s)
    server = await asyncio.start_server(upstream.serve_connection, host, port, backlog=2048)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=8, help="content events per stream")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="pause between stream events")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, max(_EVENTS_BEFORE_FAULT + 1, args.chunks), args.delay_ms / 1000))


if __name__ == "__main__":
    main()
