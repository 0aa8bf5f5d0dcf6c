"""Open-loop load of chat completions (JSON and streamed) through Glassgate, and its latency statistics.

Each call carries `x-glassgate-session-id: <run id>` and `x-glassgate-metadata-seq: <n>`, so
that its span can be found and matched afterwards (see audit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bench.faults.scenario import Options

CHAT_PATH = "/openai/v1/chat/completions"
CALL_TIMEOUT_S = 10.0
_STREAM_EVERY = 3  # every third call streams


@dataclass
class Call:
    seq: int
    phase: str  # the phase the call was sent in
    streamed: bool
    sent_at: float = 0.0  # time.monotonic()
    latency_s: float = 0.0
    status: int | None = None
    span_id: str | None = None  # from the x-glassgate-span-id response header
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


class Load:
    """Open loop: call n is sent at start + n/rate whatever the calls before it are doing, so a
    proxy that slows down shows as latency, not as fewer calls."""

    def __init__(self, glassgate_url: str, run_id: str, options: Options, slow_streams: bool = False) -> None:
        self.phase = "warmup"
        self.calls: list[Call] = []
        self.max_lag_s = 0.0  # how far behind its schedule the generator fell; large: numbers are void
        self._url = glassgate_url + CHAT_PATH
        self._run_id = run_id
        self._rate = options.rate
        self._clients = options.clients
        # The mock's per-request stream shape: 1 s streams keep calls in flight at any moment.
        self._stream_shape = {"chunks": 20, "delay_ms": 50} if slow_streams else None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Send no more calls and wait for those in flight (each ends within its own timeout)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, CALL_TIMEOUT_S + 10)

    async def _run(self) -> None:
        clients = [httpx.AsyncClient(timeout=CALL_TIMEOUT_S) for _ in range(self._clients)]
        in_flight: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for seq in itertools.count():
                call = Call(seq, self.phase, streamed=seq % _STREAM_EVERY == _STREAM_EVERY - 1)
                self.calls.append(call)
                task = asyncio.create_task(self._send(clients[seq % len(clients)], call))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                delay = start + (seq + 1) / self._rate - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                else:
                    # Behind schedule (this client saturates): record it, and let the calls run.
                    self.max_lag_s = max(self.max_lag_s, -delay)
                    await asyncio.sleep(0)
                if self._stop.is_set():
                    break
            if in_flight:
                await asyncio.wait(set(in_flight))
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            for client in clients:
                await client.aclose()

    async def _send(self, client: httpx.AsyncClient, call: Call) -> None:
        body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"call {call.seq}"}]}
        if call.streamed:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
            if self._stream_shape is not None:
                body["bench"] = self._stream_shape
        headers = {
            "authorization": "Bearer sk-bench",
            "x-glassgate-session-id": self._run_id,
            "x-glassgate-metadata-seq": str(call.seq),
        }
        call.sent_at = time.monotonic()
        started = time.perf_counter()
        try:
            async with client.stream("POST", self._url, json=body, headers=headers) as response:
                content = await response.aread()
            call.status = response.status_code
            call.span_id = response.headers.get("x-glassgate-span-id")
            complete = b"data: [DONE]" in content if call.streamed else b'"choices"' in content
            if call.status == 200 and not complete:
                call.error = "incomplete answer"
        except httpx.HTTPError as exc:
            call.error = f"{type(exc).__name__}: {exc}"
        call.latency_s = time.perf_counter() - started


@dataclass(frozen=True)
class Latency:
    calls: int
    failures: int
    p50_ms: float | None  # of the calls that succeeded
    p99_ms: float | None
    max_ms: float | None


class Timed(Protocol):
    @property
    def ok(self) -> bool: ...

    latency_s: float


def latency(calls: Sequence[Timed]) -> Latency:
    times = sorted(call.latency_s * 1000 for call in calls if call.ok)

    def rank(q: float) -> float | None:
        return round(times[max(0, math.ceil(q * len(times)) - 1)], 2) if times else None

    return Latency(len(calls), sum(not call.ok for call in calls), rank(0.5), rank(0.99), rank(1.0))


def latency_by_phase(calls: list[Call]) -> dict[str, dict[str, Latency]]:
    """Per phase (in order of appearance): all calls, JSON calls and streamed calls."""
    phases = dict.fromkeys(call.phase for call in calls)
    result = {}
    for phase in phases:
        of_phase = [call for call in calls if call.phase == phase]
        result[phase] = {
            "all": latency(of_phase),
            "json": latency([call for call in of_phase if not call.streamed]),
            "stream": latency([call for call in of_phase if call.streamed]),
        }
    return result
