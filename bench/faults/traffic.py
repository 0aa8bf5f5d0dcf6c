"""Open-loop traffic of chat completions of several kinds, each call recorded as the client saw it.

A kind says what to ask for (JSON or a stream, its shape, an upstream fault for the faulty
upstream, a client that hangs up mid-stream); the scenario says what each kind must get. Every
call carries `x-glassgate-session-id: <run id>`, `x-glassgate-metadata-seq: <n>` and
`x-bench-call: <run id>-<n>`, so its span and its deliveries upstream can be matched.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.faults.load import CHAT_PATH

_BODY_HEAD_BYTES = 400


@dataclass(frozen=True)
class Kind:
    name: str
    stream: bool = False
    fault: str | None = None  # x-bench-fault, for bench/faults/faulty_upstream.py
    stream_shape: dict[str, float] | None = None  # bench/mock_upstream.py's per-request {"chunks", "delay_ms"}
    hang_up_after_events: int | None = None  # the client disconnects after this many SSE events
    stream_delay_ms: float | None = None  # x-bench-stream-delay-ms, for bench/faults/faulty_upstream.py


HEALTHY = (Kind("ok-json"), Kind("ok-stream", stream=True))


def healthy_mix(seq: int) -> Kind:
    """JSON and streamed calls in turn."""
    return HEALTHY[seq % len(HEALTHY)]


@dataclass
class Sent:
    """One call as the client saw it."""

    seq: int
    kind: str
    phase: str
    sent_at: float = 0.0  # time.monotonic()
    latency_s: float = 0.0
    status: int | None = None
    span_id: str | None = None  # x-glassgate-span-id
    served_by: str | None = None  # the `served_by_header` the scenario names (nginx's upstream address)
    complete: bool = False  # the whole answer arrived: JSON to its closing brace, or a stream to [DONE]
    hung_up: bool = False  # the client disconnected on purpose
    error: str | None = None  # transport error
    body_head: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.complete and self.error is None

    @property
    def ended_at(self) -> float:
        return self.sent_at + self.latency_s


class Traffic:
    """Call n is sent at start + n/rate whatever the calls before it are doing, so a proxy that
    slows down shows as latency, not as fewer calls."""

    def __init__(
        self,
        url: str,
        run_id: str,
        rate: float,
        kind_of: Callable[[int], Kind],
        *,
        clients: int = 4,
        timeout_s: float = 15.0,
        served_by_header: str | None = None,
    ) -> None:
        self.url = url  # Glassgate's (or the load balancer's) base URL
        self.run_id = run_id
        self.rate = rate
        self.kind_of = kind_of
        self.clients = clients  # HTTP clients (each its own connection pool) the calls are spread over
        self.timeout_s = timeout_s
        self.served_by_header = served_by_header  # a response header naming the replica (nginx adds it)
        self.phase = "warmup"
        self.calls: list[Sent] = []
        self.max_lag_s = 0.0  # how far the generator fell behind its schedule (its own limit)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Send no more calls and wait for those in flight (each ends within its timeout)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, self.timeout_s + 10)

    def in_flight_at(self, moment: float) -> list[Sent]:
        """The calls sent before `moment` that had not ended by then."""
        return [call for call in self.calls if call.sent_at <= moment < call.ended_at]

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        clients = [httpx.AsyncClient(timeout=self.timeout_s, limits=limits) for _ in range(self.clients)]
        in_flight: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for seq in itertools.count():
                kind = self.kind_of(seq)
                call = Sent(seq, kind.name, self.phase)
                self.calls.append(call)
                task = asyncio.create_task(self._send(clients[seq % len(clients)], call, kind))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                delay = start + (seq + 1) / self.rate - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                else:
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

    async def _send(self, client: httpx.AsyncClient, call: Sent, kind: Kind) -> None:
        body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"call {call.seq}"}]}
        if kind.stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
            if kind.stream_shape is not None:
                body["bench"] = kind.stream_shape
        headers = {
            "authorization": "Bearer sk-bench",
            "x-glassgate-session-id": self.run_id,
            "x-glassgate-metadata-seq": str(call.seq),
            "x-bench-call": f"{self.run_id}-{call.seq}",
        }
        if kind.fault is not None:
            headers["x-bench-fault"] = kind.fault
        if kind.stream_delay_ms is not None:
            headers["x-bench-stream-delay-ms"] = f"{kind.stream_delay_ms:g}"
        call.sent_at = time.monotonic()
        started = time.perf_counter()
        try:
            async with client.stream("POST", self.url + CHAT_PATH, json=body, headers=headers) as response:
                call.status = response.status_code
                call.span_id = response.headers.get("x-glassgate-span-id")
                if self.served_by_header is not None:
                    call.served_by = response.headers.get(self.served_by_header)
                content = await _read(response, kind, call)
            call.body_head = content[:_BODY_HEAD_BYTES]
            if kind.stream and response.status_code == 200:
                call.complete = b"data: [DONE]" in content
            else:
                call.complete = content.rstrip().endswith(b"}")
        except httpx.HTTPError as exc:
            call.error = f"{type(exc).__name__}: {exc}"
        call.latency_s = time.perf_counter() - started


async def _read(response: httpx.Response, kind: Kind, call: Sent) -> bytes:
    if kind.hang_up_after_events is None or response.status_code != 200:
        return await response.aread()
    content = b""
    async for piece in response.aiter_raw():
        content += piece
        if content.count(b"\n\n") >= kind.hang_up_after_events:
            call.hung_up = True
            break  # leaving the `stream` block closes the connection
    return content
