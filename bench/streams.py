"""A raw-socket streaming client: time to first SSE event and the arrival time of every event.

Raw sockets rather than an HTTP library: the client must timestamp bytes as they arrive,
with no buffering of its own that could hide a proxy's buffering (or invent some).
One keep-alive connection, streams sent one after another.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import statistics
import time
from dataclasses import dataclass

from bench.procs import BenchError

_DONE = b"data: [DONE]"
_USAGE_ONLY = b'"choices":[]'


@dataclass(frozen=True)
class StreamTiming:
    ttfb_s: float  # request written -> first SSE event complete
    content_times_s: list[float]  # arrival of each content event, from the request write


class ChunkedDecoder:
    """Incremental HTTP/1.1 chunked-body decoder: feed raw bytes, get payload bytes back."""

    def __init__(self) -> None:
        self._buffer = b""
        self._remaining = 0  # bytes left in the current chunk, CRLF included
        self.finished = False

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out: list[bytes] = []
        while not self.finished:
            if self._remaining:
                take = self._buffer[: self._remaining]
                self._buffer = self._buffer[len(take) :]
                self._remaining -= len(take)
                # The chunk's trailing CRLF is counted in _remaining; strip it from the payload.
                payload_left = self._remaining - 2
                out.append(take if payload_left >= 0 else take[: len(take) + payload_left])
                if self._remaining:
                    break
                continue
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                break
            size = int(self._buffer[:line_end].split(b";")[0], 16)
            if size == 0:
                # The last chunk: finished once its (usually empty) trailer section is complete.
                self.finished = self._buffer.find(b"\r\n\r\n", line_end) >= 0
                break
            self._buffer = self._buffer[line_end + 2 :]
            self._remaining = size + 2
        return b"".join(out)


class StreamClient:
    """Sequential streaming requests over one keep-alive connection."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self._host = host
        self._port = port
        self._path = path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> StreamClient:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def stream(self, chunks: int, delay_ms: float) -> StreamTiming:
        assert self._reader is not None and self._writer is not None
        body = json.dumps(
            {
                "model": "gpt-4o-mini",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Count to ten."}],
                "bench": {"chunks": chunks, "delay_ms": delay_ms},
            },
            separators=(",", ":"),
        ).encode()
        request = (
            f"POST {self._path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer sk-bench-not-a-real-key\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self._writer.write(request)
        started = time.perf_counter()
        return await self._read_events(started)

    async def _read_events(self, started: float) -> StreamTiming:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise BenchError(f"stream answered {head.decode(errors='replace').splitlines()[0]}")
        body = _BodyReader(head)
        pending = b""
        arrivals: list[float] = []
        content: list[float] = []
        ended = False
        while not ended:
            data = await self._reader.read(65536)
            now = time.perf_counter() - started
            if not data:
                raise BenchError("connection closed mid-stream")
            pending += body.feed(data)
            # Each complete event (blank-line terminated) gets this read's timestamp.
            while (cut := pending.find(b"\n\n")) >= 0:
                event, pending = pending[:cut], pending[cut + 2 :]
                arrivals.append(now)
                if event.startswith(_DONE):
                    continue
                if _USAGE_ONLY not in event:
                    content.append(now)
            ended = body.finished
        if not arrivals:
            raise BenchError("stream ended without an event")
        return StreamTiming(ttfb_s=arrivals[0], content_times_s=content)


class _BodyReader:
    """The response body as it arrives, whether chunked or sized (a proxy may re-frame)."""

    def __init__(self, head: bytes) -> None:
        lower = head.lower()
        self._chunked = b"transfer-encoding: chunked" in lower
        self._decoder = ChunkedDecoder()
        self._left = _header_int(lower, b"content-length") or 0
        self.finished = False

    def feed(self, data: bytes) -> bytes:
        if self._chunked:
            payload = self._decoder.feed(data)
            self.finished = self._decoder.finished
            return payload
        self._left -= len(data)
        self.finished = self._left <= 0
        return data


def _header_int(head: bytes, name: bytes) -> int | None:
    start = head.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    stop = head.find(b"\r\n", start)
    return int(head[start:stop].strip())


@dataclass(frozen=True)
class StreamStats:
    streams: int
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    gap_median_ms: float
    gap_p10_ms: float
    gap_p90_ms: float
    expected_gap_ms: float
    one_by_one: bool


async def measure_ttfb(host: str, port: int, path: str, count: int) -> list[float]:
    """`count` short streams (2 events 1 ms apart): only the first event's time matters here."""
    async with StreamClient(host, port, path) as client:
        return [(await client.stream(chunks=2, delay_ms=1)).ttfb_s for _ in range(count)]


async def measure_gaps(host: str, port: int, path: str, count: int, chunks: int, delay_ms: float) -> list[float]:
    """Inter-arrival gaps (seconds) of content events over `count` slow streams."""
    gaps: list[float] = []
    async with StreamClient(host, port, path) as client:
        for _ in range(count):
            times = (await client.stream(chunks=chunks, delay_ms=delay_ms)).content_times_s
            if len(times) != chunks:
                raise BenchError(f"expected {chunks} content events, got {len(times)}")
            gaps.extend(later - earlier for earlier, later in itertools.pairwise(times))
    return gaps


def summarize(ttfbs: list[float], gaps: list[float], delay_ms: float) -> StreamStats:
    gaps_ms = sorted(gap * 1000 for gap in gaps)
    median_gap = statistics.median(gaps_ms)
    p10_gap = percentile(gaps_ms, 10)
    # Relayed one by one: the typical gap matches the upstream's pace, and hardly any events
    # arrive glued to the previous one (which is what buffering looks like).
    one_by_one = 0.75 * delay_ms <= median_gap <= 1.5 * delay_ms and p10_gap >= 0.5 * delay_ms
    return StreamStats(
        streams=len(ttfbs),
        ttfb_p50_ms=percentile(sorted(t * 1000 for t in ttfbs), 50),
        ttfb_p99_ms=percentile(sorted(t * 1000 for t in ttfbs), 99),
        gap_median_ms=median_gap,
        gap_p10_ms=p10_gap,
        gap_p90_ms=percentile(gaps_ms, 90),
        expected_gap_ms=delay_ms,
        one_by_one=one_by_one,
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]
