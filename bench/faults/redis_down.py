"""Scenario `redis`: the Redis that rate limits are counted in goes away for `outage_s` under load.

Glassgate runs with one limit rule (far above the load, so it never refuses on its own) and
`redis_url` pointing at a redis-server of the bench's own. Three rounds:

- `open`, Redis stopped: `on_redis_error: open` forwards every call unchecked: none may fail;
- `closed`, Redis stopped: calls get the vendor-shaped 503 while Redis is away, and succeed
  again once it is back (the limiter leaves a failed Redis alone for a second at a time);
- `open`, Redis hung (SIGSTOP): the limiter's `redis_timeout_ms` cuts each check short; none
  may fail.

Every call has exactly one span either way (a 503 is recorded like any refusal).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
import orjson

from bench.faults.audit import span_rows, wait_for_spans
from bench.faults.load import CHAT_PATH, Latency, latency
from bench.faults.scenario import Options, progress, rounded
from bench.faults.stack import Stack, log_problems, running_stack
from bench.faults.traffic import Sent, Traffic, healthy_mix
from bench.procs import BenchError, Child, free_port, stop_child, wait_for_port

ROUNDS = (("open", "stopped"), ("closed", "stopped"), ("open", "frozen"))
PHASES = ("warmup", "redis down", "recovery")
RECOVERY_LIMIT_S = 5.0  # closed: after Redis is back, calls must succeed again within this


@dataclass(frozen=True)
class RedisRound:
    on_redis_error: str
    fault: str  # stopped or frozen
    run_id: str
    calls: int
    failed: int  # not answered 200 (closed: the 503s are expected during the outage only)
    failed_outside_outage: int  # failed while Redis was up (a grace second after it returned aside)
    refused_503: int  # vendor-shaped 503s
    other_failures: dict[str, int]
    recovered_after_s: float | None  # closed: Redis back until every later call succeeded
    spans_not_once: int  # calls without exactly the one span their header named
    latency: dict[str, Latency]  # per phase
    log_problems: list[str]


@dataclass(frozen=True)
class RedisReport:
    scenario: str
    rate: float
    outage_s: float
    rounds: list[RedisRound]


class RedisServer:
    """redis-server on a loopback port, no persistence, which can be stopped, started, frozen."""

    def __init__(self, stack: Stack) -> None:
        self._binary = shutil.which("redis-server")
        if self._binary is None:
            raise BenchError("redis-server is not installed (Debian package redis-server)")
        self._stack = stack
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._child: Child | None = None
        self.start()

    def start(self) -> None:
        assert self._binary is not None
        argv = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self._stack.workdir)]
        self._child = self._stack.children.start("redis", argv, self._stack.workdir / f"redis-{time.time():.0f}.log")
        wait_for_port(self._child, self.port, timeout_s=15)

    def stop(self) -> None:
        if self._child is not None:
            self.thaw()
            self._stack.children.started.remove(self._child)
            stop_child(self._child, grace_s=10)
            self._child = None

    def freeze(self) -> None:
        if self._child is not None:
            self._child.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._child is not None:
            self._child.process.send_signal(signal.SIGCONT)


def run_redis_down(options: Options) -> RedisReport:
    rounds = []
    with running_stack(options.keep_workdir) as stack:
        redis = RedisServer(stack)
        try:
            for on_error, fault in ROUNDS:
                rounds.append(asyncio.run(_round(stack, redis, on_error, fault, options)))
        finally:
            redis.stop()
    return RedisReport("redis", options.rate, options.outage_s, rounds)


async def _round(stack: Stack, redis: RedisServer, on_error: str, fault: str, options: Options) -> RedisRound:
    name = f"limits-{on_error}-{fault}"
    limits = {"on_redis_error": on_error, "rules": [{"name": "bench", "requests_per_minute": 1_000_000}]}
    glassgate = await asyncio.to_thread(stack.start_glassgate, name, config={"redis_url": redis.url, "limits": limits})
    await _warm_up(glassgate.url)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    traffic = Traffic(glassgate.url, run_id, options.rate, healthy_mix, clients=options.clients)
    traffic.start()
    try:
        progress(f"{name}: load at {options.rate:g}/s for {options.warmup_s:g}s")
        await asyncio.sleep(options.warmup_s)
        traffic.phase = "redis down"
        progress(f"{name}: Redis {fault} for {options.outage_s:g}s")
        down_at = time.monotonic()
        try:
            await asyncio.to_thread(redis.freeze if fault == "frozen" else redis.stop)
            await asyncio.sleep(options.outage_s)
        finally:
            await asyncio.to_thread(redis.thaw if fault == "frozen" else redis.start)
        back_at = time.monotonic()
        traffic.phase = "recovery"
        progress(f"{name}: Redis back; load goes on for {options.recovery_s:g}s")
        await asyncio.sleep(options.recovery_s)
    finally:
        await traffic.stop()
    calls = traffic.calls
    named = [call for call in calls if call.span_id is not None]
    await wait_for_spans(stack.postgres.url, run_id, len(named), options.drain_timeout_s)
    spans = await span_rows(stack.postgres.url, run_id)
    stack.stop(glassgate)
    failed = [call for call in calls if not call.ok]
    refused = [call for call in failed if _vendor_503(call)]
    # A call sent just before the outage may meet it, and one just after the restart the
    # limiter's one-second pause: both count as during the outage.
    outside = [call for call in failed if call.sent_at < down_at - 1 or call.sent_at > back_at + 1.5]
    return RedisRound(
        on_redis_error=on_error,
        fault=fault,
        run_id=run_id,
        calls=len(calls),
        failed=len(failed),
        failed_outside_outage=len(outside),
        refused_503=len(refused),
        other_failures=dict(Counter((c.error or f"HTTP {c.status}").split(":")[0] for c in failed if c not in refused)),
        recovered_after_s=_recovered_after(calls, back_at),
        spans_not_once=sum([row.span_id for row in spans.get(call.seq, [])] != [call.span_id] for call in named)
        + (len(calls) - len(named)),
        latency={phase: latency([c for c in calls if c.phase == phase]) for phase in PHASES},
        log_problems=log_problems(glassgate.log()),
    )


async def _warm_up(url: str) -> None:
    """Calls until four in a row succeed, as under_load.prime does for the other scenarios: a
    fresh Glassgate's first call stalls its event loop (lazy loading), and with `closed` a Redis
    check caught in that stall times out and refuses every call for the limiter's one-second pause."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "warm up"}]}
    headers = {"authorization": "Bearer sk-bench", "x-glassgate-session-id": "faults-warm-up"}
    in_a_row, deadline = 0, time.monotonic() + 30
    async with httpx.AsyncClient(timeout=10) as client:
        while in_a_row < 4:  # JSON and streamed in turn
            if time.monotonic() > deadline:
                raise BenchError("Glassgate did not answer four calls in a row within 30 s of its start")
            streamed = body | {"stream": True} if in_a_row % 2 else body
            response = await client.post(url + CHAT_PATH, json=streamed, headers=headers)
            in_a_row = in_a_row + 1 if response.status_code == 200 else 0
            await asyncio.sleep(0.2)


def _vendor_503(call: Sent) -> bool:
    if call.status != 503:
        return False
    with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
        return bool(orjson.loads(call.body_head)["error"]["message"])
    return False


def _recovered_after(calls: list[Sent], back_at: float) -> float | None:
    """Seconds from Redis back to the first call after which every call succeeded."""
    later = [call for call in calls if call.sent_at >= back_at]
    last_failure = max((call.sent_at for call in later if not call.ok), default=None)
    if last_failure is None:
        return 0.0
    after = [call.sent_at for call in later if call.sent_at > last_failure]
    return rounded(min(after) - back_at) if after else None


def redis_problems(report: RedisReport) -> list[str]:
    found = []
    for round_ in report.rounds:
        where = f"on_redis_error {round_.on_redis_error}, Redis {round_.fault}"
        if round_.on_redis_error == "open" and round_.failed:
            found.append(f"{where}: {round_.failed} calls failed ({round_.other_failures})")
        if round_.on_redis_error == "closed":
            if round_.failed_outside_outage or round_.other_failures:
                found.append(
                    f"{where}: {round_.failed_outside_outage} failed while Redis was up; others {round_.other_failures}"
                )
            if not round_.refused_503:
                found.append(f"{where}: no call was refused with a 503 while Redis was down")
            if round_.recovered_after_s is None or round_.recovered_after_s > RECOVERY_LIMIT_S:
                found.append(f"{where}: calls succeeded again only {round_.recovered_after_s}s after Redis returned")
        if round_.spans_not_once:
            found.append(f"{where}: {round_.spans_not_once} calls without exactly one span")
        if round_.log_problems:
            found.append(f"{where}: errors logged: {round_.log_problems}")
    return found


def redis_summary(report: RedisReport) -> str:
    lines = []
    for r in report.rounds:
        cells = ", ".join(f"{phase} p50 {v.p50_ms} / p99 {v.p99_ms} ms" for phase, v in r.latency.items())
        lines.append(
            f"on_redis_error {r.on_redis_error}, Redis {r.fault} {report.outage_s:g}s: {r.calls} calls, {r.failed}"
            f" failed ({r.refused_503} vendor 503s, others {r.other_failures}, {r.failed_outside_outage} while"
            f" Redis was up); recovered {r.recovered_after_s}s after; spans not once {r.spans_not_once}\n  {cells}"
        )
    return "\n".join(lines) + "\n"
