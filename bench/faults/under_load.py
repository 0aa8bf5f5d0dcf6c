"""A database fault under steady load, the frame of the scenarios `outage` and `freeze`.

An open-loop load of chat completions, JSON and streamed, runs through a Glassgate whose
`database_url` points at the bench's own PostgreSQL. After a warm-up the fault is applied for
`Options.outage_s`, undone, and the load goes on for a while. Every call must succeed in its
normal time, exactly one span per call must be stored, and Glassgate's RSS must stay within
50 MB of where it started.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx

from bench.faults.audit import Audit, audit, wait_for_spans
from bench.faults.load import CALL_TIMEOUT_S, CHAT_PATH, Latency, Load, latency_by_phase
from bench.faults.monitor import Monitor, rss_mb, writer_counters
from bench.faults.postgres import Postgres
from bench.faults.scenario import Options, progress, rounded
from bench.faults.stack import Glassgate, Stack, log_problems, running_stack
from bench.procs import BenchError
from glassgate.config import TracingSettings

RSS_BUDGET_MB = 50.0
GENERATOR_LAG_LIMIT_MS = 100.0  # beyond it the client, not Glassgate, sets the latencies
# A writer that gives up on a hung insert after write_timeout_s holds about that many seconds
# of calls; the slack covers the batch being built meanwhile and the backoff between attempts.
QUEUE_SLACK_S = 5.0


def latency_bound_ms(warmup_p99_ms: float) -> float:
    """The p99 a phase may reach against the warm-up's: 3x it or 50 ms more, whichever is larger."""
    return max(3 * warmup_p99_ms, warmup_p99_ms + 50.0)


@dataclass(frozen=True)
class Fault:
    """What happens to the database while the load runs."""

    name: str  # the scenario, and the load's phase while the fault lasts
    begins: str  # progress line, e.g. "stopping PostgreSQL"
    ends: str  # progress line, e.g. "PostgreSQL is back"
    state: str  # the database during the fault, for the summary: "down", "frozen"
    apply: Callable[[Postgres], AbstractAsyncContextManager[None]]
    sample_every_s: float = 0.25  # RSS and /metrics


@dataclass(frozen=True)
class Rss:
    ready_mb: float  # Glassgate ready, before any call
    start_mb: float  # after the priming calls, as the load starts
    after_warmup_mb: float
    max_mb: float  # from the load's start on
    max_by_phase_mb: dict[str, float]
    end_mb: float  # once every span is stored
    growth_mb: float  # max - start


@dataclass(frozen=True)
class QueueDepth:
    """The span writer's queue (/metrics glassgate_trace_queue_depth) while the fault lasted."""

    samples: int  # /metrics answers during the fault
    max: float | None  # None: no sample answered
    max_by_phase: dict[str, float]
    write_timeout_s: float  # Glassgate's tracing.write_timeout_s (the bench keeps the default)
    bound: float  # rate × (write_timeout_s + QUEUE_SLACK_S)


@dataclass(frozen=True)
class OutageReport:
    scenario: str  # the fault: "outage" (PostgreSQL stopped) or "freeze" (PostgreSQL hung)
    run_id: str
    rate: float
    outage_s: float  # measured: from PostgreSQL stopped (or frozen) until it was back
    calls: int  # N
    generator_lag_ms: float  # the load generator's worst delay behind schedule (the client's own limit)
    first_call_ms: float  # the priming call, which pays Glassgate's lazy first-use costs
    audit: Audit
    latency: dict[str, dict[str, Latency]]
    spans_complete_s: float | None  # after the load stopped, until N spans were stored
    drain_s: float | None  # after PostgreSQL was back, until the spill was replayed
    rss: Rss
    writer: dict[str, float]  # /metrics at the end
    log_problems: list[str]
    queue_depth: QueueDepth


def run_under_load(fault: Fault, options: Options) -> OutageReport:
    with running_stack(options.keep_workdir) as stack:
        return asyncio.run(_under_load(stack, fault, options))


async def prime(glassgate: Glassgate) -> float:
    """A JSON and a streamed call, then wait until their spans are written: the first span pays
    one-off costs (loading the price table) that would otherwise count as load latency and RSS
    growth. Returns the first call's latency in ms."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "prime"}]}
    headers = {"authorization": "Bearer sk-bench", "x-glassgate-session-id": "faults-prime"}
    async with httpx.AsyncClient(timeout=CALL_TIMEOUT_S) as client:
        started = time.perf_counter()
        (await client.post(glassgate.url + CHAT_PATH, json=body, headers=headers)).raise_for_status()
        first_call_ms = (time.perf_counter() - started) * 1000
        stream = body | {"stream": True}
        (await client.post(glassgate.url + CHAT_PATH, json=stream, headers=headers)).raise_for_status()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if writer_counters((await client.get(glassgate.url + "/metrics")).text).get("written", 0) >= 2:
                return round(first_call_ms, 2)
            await asyncio.sleep(0.1)
    raise BenchError(f"the priming calls' spans were not written within 15 s:\n{glassgate.child.log_tail()}")


async def _under_load(stack: Stack, fault: Fault, options: Options) -> OutageReport:
    glassgate = stack.start_glassgate("glassgate")
    ready_mb = rss_mb(glassgate.child.pid)
    first_call_ms = await prime(glassgate)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    load = Load(glassgate.url, run_id, options)
    monitor = Monitor(glassgate, load, fault.sample_every_s)
    monitor.start()
    load.start()
    try:
        try:
            progress(f"warm-up: {options.rate:g} calls/s for {options.warmup_s:g}s")
            await asyncio.sleep(options.warmup_s)
            rss_warm = monitor.rss_mb()
            load.phase = fault.name
            progress(f"{fault.begins} for {options.outage_s:g}s")
            async with fault.apply(stack.postgres):
                began_at = time.monotonic()
                await asyncio.sleep(options.outage_s)
            monitor.database_back_at = time.monotonic()
            progress(f"{fault.ends}; load goes on for {options.recovery_s:g}s")
            load.phase = "recovery"
            await asyncio.sleep(options.recovery_s)
        finally:
            await load.stop()
        load.phase = "after the load"
        progress(f"{len(load.calls)} calls sent; waiting for their spans")
        stored, complete_s = await wait_for_spans(stack.postgres.url, run_id, len(load.calls), options.drain_timeout_s)
        await asyncio.sleep(0.5)  # one more /metrics sample
        rss_end = monitor.rss_mb()
    finally:
        await monitor.stop()
    stack.stop(glassgate)
    back_at = monitor.database_back_at
    write_timeout_s = TracingSettings().write_timeout_s
    return OutageReport(
        scenario=fault.name,
        run_id=run_id,
        rate=options.rate,
        outage_s=round(back_at - began_at, 2),
        calls=len(load.calls),
        generator_lag_ms=round(load.max_lag_s * 1000, 2),
        first_call_ms=first_call_ms,
        audit=audit(load.calls, stored),
        latency=latency_by_phase(load.calls),
        spans_complete_s=rounded(complete_s),
        drain_s=rounded(monitor.drained_at - back_at if monitor.drained_at and back_at else None),
        rss=Rss(
            ready_mb=round(ready_mb, 1),
            start_mb=round(monitor.rss_start_mb, 1),
            after_warmup_mb=round(rss_warm, 1),
            max_mb=round(monitor.rss_max_mb, 1),
            max_by_phase_mb=monitor.rss_max_by_phase_mb,
            end_mb=round(rss_end, 1),
            growth_mb=round(monitor.rss_max_mb - monitor.rss_start_mb, 1),
        ),
        writer=monitor.writer,
        log_problems=log_problems(glassgate.log()),
        queue_depth=QueueDepth(
            samples=monitor.metrics_samples_by_phase[fault.name],
            max=monitor.queue_depth_max_by_phase.get(fault.name),
            max_by_phase=monitor.queue_depth_max_by_phase,
            write_timeout_s=write_timeout_s,
            bound=options.rate * (write_timeout_s + QUEUE_SLACK_S),
        ),
    )


def problems(report: OutageReport) -> list[str]:
    """The checks every fault under load must pass: no failed or slow call, one span per call, bounded RSS."""
    found = []
    a = report.audit
    if report.generator_lag_ms > GENERATOR_LAG_LIMIT_MS:
        found.append(f"the load generator fell {report.generator_lag_ms} ms behind: the latencies are its own")
    if a.failed:
        found.append(f"{a.failed} of {a.sent} calls failed: {a.examples}")
    for kind in ("json", "stream"):
        warm, down = report.latency["warmup"][kind].p99_ms, report.latency[report.scenario][kind].p99_ms
        if warm is not None and down is not None and down > latency_bound_ms(warm):
            found.append(f"{kind} p99 {down} ms during the {report.scenario}, {warm} ms before")
    spans = (a.rows, a.distinct_span_ids, a.lost, a.mismatched, a.duplicated)
    if spans != (report.calls, report.calls, 0, 0, 0):
        found.append(
            f"{a.rows} spans stored for {report.calls} calls"
            f" ({a.lost} lost, {a.mismatched} mismatched, {a.duplicated} duplicated)"
        )
    if report.rss.growth_mb > RSS_BUDGET_MB:
        found.append(f"RSS grew {report.rss.growth_mb} MB (budget {RSS_BUDGET_MB:g})")
    return found


def summary(report: OutageReport, fault: Fault) -> str:
    """A few lines for a terminal; --json has everything."""
    a, rss, depth = report.audit, report.rss, report.queue_depth
    lines = [
        f"calls: {report.calls} at {report.rate:g}/s (generator lag {report.generator_lag_ms} ms),"
        f" {a.failed} failed; spans stored: {a.rows}"
        f" ({a.distinct_span_ids} distinct, {a.lost} lost)",
        f"PostgreSQL {fault.state} {report.outage_s}s; spill replayed {report.drain_s}s after it returned;"
        f" all spans stored {report.spans_complete_s}s after the load",
    ]
    for phase, kinds in report.latency.items():
        cells = ", ".join(f"{k} p50 {v.p50_ms} / p99 {v.p99_ms} ms" for k, v in kinds.items() if k != "all")
        lines.append(f"  {phase:<9} {kinds['all'].calls:>5} calls: {cells}")
    lines.append(
        f"RSS MB: ready {rss.ready_mb}, load start {rss.start_mb}, max {rss.max_mb}, end {rss.end_mb}"
        f" (+{rss.growth_mb}); first call {report.first_call_ms} ms"
    )
    lines.append(
        f"queue depth while {fault.state}: max {depth.max} in {depth.samples} samples"
        f" (bound {depth.bound}: {report.rate:g}/s × ({depth.write_timeout_s:g} + {QUEUE_SLACK_S:g}) s)"
    )
    lines.append(f"writer: {report.writer}")
    return "\n".join(lines) + "\n"
