"""Scenario `slowloris`: many clients dribble a request a byte at a time while others call as usual.

Half the slow clients send a request line and then headers that never end, one byte every
`DRIBBLE_S`; the other half send whole headers and then a body that never ends, the same way.
Meanwhile a steady load of healthy calls goes through. Glassgate (`glassgate serve` with its
`--header-timeout` and `--body-timeout`) must:

- close each slow connection within its deadline (plus slack): nothing is held forever;
- keep the healthy calls as fast as before the slow clients came (same bound as the other
  scenarios), with none failing;
- give back what the slow clients held: open files back to the baseline, RSS within a bound;
- record each cut-off body as one cancelled span, and send nothing of it upstream (a partial
  body must never reach the vendor as if it were the request).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import httpx

from bench.faults.audit import SpanRow, span_rows, wait_for_spans
from bench.faults.load import CHAT_PATH, Latency, latency
from bench.faults.sampler import Sampler, peak
from bench.faults.scenario import Options, progress
from bench.faults.stack import Glassgate, log_problems, running_stack
from bench.faults.traffic import HEALTHY, Traffic, healthy_mix
from bench.faults.under_load import GENERATOR_LAG_LIMIT_MS, latency_bound_ms, prime

DRIBBLE_S = 1.0  # a slow client's pause between two bytes
DEADLINE_SLACK_S = 3.0  # a slow connection must be closed within its deadline plus this
FDS_SLACK = 20
RSS_BUDGET_MB = 40.0  # peak over the baseline while the slow clients are connected


@dataclass
class Loris:
    seq: int
    part: str  # "head" or "body": what it dribbles
    opened_at: float = 0.0
    closed_after_s: float | None = None  # None: the server never closed it
    bytes_sent: int = 0
    answer: bytes = b""  # what the server wrote before closing (a 408 for a slow body)
    error: str | None = None  # could not connect


@dataclass(frozen=True)
class LorisReport:
    clients: int
    connected: int
    closed_by_server: int
    never_closed: int
    closed_after_s: dict[str, float | None]  # median, max
    answered_408: int


@dataclass(frozen=True)
class SlowlorisReport:
    scenario: str
    run_id: str
    rate: float
    header_timeout_s: float
    body_timeout_s: float
    calls: int  # healthy calls
    failed: int
    generator_lag_ms: float
    latency: dict[str, dict[str, Latency]]  # phase → kind
    head: LorisReport
    body: LorisReport
    body_spans: dict[str, int]  # the slow bodies' spans: status → count ("missing" when none)
    body_upstream_deliveries: int  # the slow bodies that reached the upstream: must be 0
    rss_mb: dict[str, float | None]  # baseline, peak, end
    fds: dict[str, int]  # baseline, peak, end
    log_problems: list[str]


def run_slowloris(options: Options) -> SlowlorisReport:
    with running_stack(options.keep_workdir) as stack:
        upstream_url = stack.start_faulty_upstream()
        args = ["--header-timeout", f"{options.header_timeout_s:g}", "--body-timeout", f"{options.body_timeout_s:g}"]
        glassgate = stack.start_glassgate(
            "glassgate", config={"upstreams": {"openai": {"vendor": "openai", "url": upstream_url}}}, serve_args=args
        )
        report = asyncio.run(_run(glassgate, stack.postgres.url, upstream_url, options))
        stack.stop(glassgate)
        return replace(report, log_problems=log_problems(glassgate.log()))


async def _run(glassgate: Glassgate, database_url: str, upstream_url: str, options: Options) -> SlowlorisReport:
    await prime(glassgate)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    traffic = Traffic(glassgate.url, run_id, options.rate, healthy_mix, clients=options.clients)
    sampler = Sampler(glassgate.child.pid, 0.5, lambda: traffic.phase)
    baseline = sampler.sample()
    sampler.start()
    traffic.start()
    hold_s = max(options.header_timeout_s, options.body_timeout_s) + DEADLINE_SLACK_S + 1
    loop = asyncio.get_running_loop()
    # In a process of their own, so that the slow clients' work does not delay the healthy calls.
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        progress(f"baseline: healthy calls at {options.rate:g}/s for {options.warmup_s:g}s")
        await asyncio.gather(asyncio.sleep(options.warmup_s), loop.run_in_executor(pool, swarm, "", "", 0, 0.0))
        traffic.phase = "slowloris"
        progress(f"{options.loris} slow clients (heads and bodies, a byte every {DRIBBLE_S:g}s) for {hold_s:g}s")
        lorises = await loop.run_in_executor(pool, swarm, glassgate.url, run_id, options.loris, hold_s)
        traffic.phase = "after"
        progress(f"slow clients gone; healthy calls for {options.recovery_s:g}s")
        await asyncio.sleep(options.recovery_s)
    finally:
        pool.shutdown(cancel_futures=True)
        await traffic.stop()
    traffic.phase = "after the load"
    await wait_for_spans(database_url, run_id, len(traffic.calls), options.drain_timeout_s)
    body_run = f"{run_id}-loris"
    await wait_for_spans(database_url, body_run, options.loris // 2, 15)
    await asyncio.sleep(1.0)
    end = sampler.sample()
    await sampler.stop()
    loris_spans = await span_rows(database_url, body_run)
    deliveries = await _loris_deliveries(upstream_url, body_run)
    samples = sampler.samples
    phases = ("warmup", "slowloris", "after")
    return SlowlorisReport(
        scenario="slowloris",
        run_id=run_id,
        rate=options.rate,
        header_timeout_s=options.header_timeout_s,
        body_timeout_s=options.body_timeout_s,
        calls=len(traffic.calls),
        failed=sum(not call.ok for call in traffic.calls),
        generator_lag_ms=round(traffic.max_lag_s * 1000, 2),
        latency={
            phase: {
                kind.name: latency([c for c in traffic.calls if c.phase == phase and c.kind == kind.name])
                for kind in HEALTHY
            }
            for phase in phases
        },
        head=_loris_report([loris for loris in lorises if loris.part == "head"]),
        body=_loris_report([loris for loris in lorises if loris.part == "body"]),
        body_spans=_span_statuses([loris for loris in lorises if loris.part == "body"], loris_spans),
        body_upstream_deliveries=deliveries,
        rss_mb={"baseline": round(baseline.rss_mb, 1), "peak": peak(samples, "rss_mb"), "end": round(end.rss_mb, 1)},
        fds={"baseline": baseline.fds, "peak": max(sample.fds for sample in samples), "end": end.fds},
        log_problems=[],
    )


def _request_head(run_id: str, loris: Loris) -> bytes:
    lines = [
        f"POST {CHAT_PATH} HTTP/1.1",
        "host: 127.0.0.1",
        "content-type: application/json",
        "authorization: Bearer sk-bench",
        f"x-glassgate-session-id: {run_id}-loris",
        f"x-glassgate-metadata-seq: {loris.seq}",
        f"x-bench-call: {run_id}-loris-{loris.seq}",
        "content-length: 4096",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def swarm(url: str, run_id: str, clients: int, hold_s: float) -> list[Loris]:
    """The slow clients, half heads and half bodies, each for at most `hold_s`."""
    lorises = [Loris(seq, "head" if seq % 2 == 0 else "body") for seq in range(clients)]

    async def run() -> None:
        await asyncio.gather(*(_dribble(url, run_id, loris, hold_s) for loris in lorises))

    asyncio.run(run())
    return lorises


async def _dribble(url: str, run_id: str, loris: Loris, hold_s: float) -> None:
    """Open, then send one byte every DRIBBLE_S until the server closes or `hold_s` is over."""
    host, port = url.removeprefix("http://").split(":")
    await asyncio.sleep(loris.seq * 0.002)  # spread the connects over a second or two
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
    except OSError as exc:
        loris.error = f"{type(exc).__name__}: {exc}"
        return
    loris.opened_at = time.monotonic()
    head = _request_head(run_id, loris)
    if loris.part == "head":
        dribble = head[: head.index(b"\r\n") + 2] + b"x-loris: " + b"a" * 100_000
    else:
        writer.write(head)
        dribble = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"a" * 100_000
    answer = asyncio.ensure_future(reader.read(4096))
    try:
        for index in range(len(dribble)):
            if answer.done() or time.monotonic() - loris.opened_at > hold_s:
                break
            writer.write(dribble[index : index + 1])
            loris.bytes_sent += 1
            await asyncio.wait({answer}, timeout=DRIBBLE_S)
        with contextlib.suppress(ConnectionError):
            loris.answer = await asyncio.wait_for(answer, timeout=0.1) if not answer.done() else answer.result()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        if answer.done() and not answer.cancelled():
            loris.closed_after_s = round(time.monotonic() - loris.opened_at, 2)
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _loris_report(lorises: list[Loris]) -> LorisReport:
    closed = [loris.closed_after_s for loris in lorises if loris.closed_after_s is not None]
    connected = [loris for loris in lorises if loris.error is None]
    return LorisReport(
        clients=len(lorises),
        connected=len(connected),
        closed_by_server=len(closed),
        never_closed=len(connected) - len(closed),
        closed_after_s={
            "median": round(statistics.median(closed), 2) if closed else None,
            "max": max(closed) if closed else None,
        },
        answered_408=sum(loris.answer.startswith(b"HTTP/1.1 408") for loris in lorises),
    )


def _span_statuses(lorises: list[Loris], spans: dict[int, list[SpanRow]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for loris in lorises:
        rows = spans.get(loris.seq, [])
        key = "missing" if not rows else "duplicated" if len(rows) > 1 else rows[0].status
        counts[key] = counts.get(key, 0) + 1
    return counts


async def _loris_deliveries(upstream_url: str, body_run: str) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        counts: dict[str, int] = (await client.get(f"{upstream_url}/bench/deliveries")).json()
    return sum(value for key, value in counts.items() if key.startswith(f"{body_run}-"))


def slowloris_problems(report: SlowlorisReport) -> list[str]:
    found = []
    if report.generator_lag_ms > GENERATOR_LAG_LIMIT_MS:
        found.append(f"the load generator fell {report.generator_lag_ms} ms behind: the latencies are its own")
    if report.failed:
        found.append(f"{report.failed} of {report.calls} healthy calls failed")
    for kind in HEALTHY:
        before = report.latency["warmup"][kind.name].p99_ms
        during = report.latency["slowloris"][kind.name].p99_ms
        if before is not None and during is not None and during > latency_bound_ms(before):
            found.append(f"healthy {kind.name} p99 {during} ms with the slow clients, {before} ms before")
    for part, loris, deadline in (
        ("head", report.head, report.header_timeout_s),
        ("body", report.body, report.body_timeout_s),
    ):
        if loris.connected < loris.clients:
            found.append(f"only {loris.connected} of {loris.clients} slow {part} clients could connect")
        if loris.never_closed:
            found.append(f"{loris.never_closed} slow {part} connections were never closed by the server")
        longest = loris.closed_after_s["max"]
        if longest is not None and longest > deadline + DEADLINE_SLACK_S:
            found.append(f"a slow {part} connection was closed only after {longest}s (deadline {deadline:g}s)")
    if report.body_spans != {"cancelled": report.body.clients}:
        found.append(f"the cut-off bodies' spans: {report.body_spans}, expected one cancelled span each")
    if report.body_upstream_deliveries:
        found.append(f"{report.body_upstream_deliveries} cut-off bodies were sent upstream")
    growth = (report.rss_mb["peak"] or 0.0) - (report.rss_mb["baseline"] or 0.0)
    if growth > RSS_BUDGET_MB:
        found.append(f"RSS peaked {growth:.1f} MB over the baseline (budget {RSS_BUDGET_MB:g})")
    if report.fds["end"] > report.fds["baseline"] + FDS_SLACK:
        found.append(f"open files {report.fds['baseline']} before, {report.fds['end']} after the slow clients")
    if report.log_problems:
        found.append(f"errors logged: {report.log_problems}")
    return found


def slowloris_summary(report: SlowlorisReport) -> str:
    lines = [
        f"healthy calls: {report.calls} at {report.rate:g}/s, {report.failed} failed"
        f" (generator lag {report.generator_lag_ms} ms)",
    ]
    for phase, kinds in report.latency.items():
        cells = ", ".join(f"{k} p50 {v.p50_ms} / p99 {v.p99_ms} ms" for k, v in kinds.items())
        lines.append(f"  {phase:<9}: {cells}")
    for part, loris, deadline in (
        ("heads", report.head, report.header_timeout_s),
        ("bodies", report.body, report.body_timeout_s),
    ):
        lines.append(
            f"slow {part}: {loris.clients} (deadline {deadline:g}s), closed by the server {loris.closed_by_server}"
            f" after {loris.closed_after_s} s, never closed {loris.never_closed}, 408 answers {loris.answered_408}"
        )
    lines.append(
        f"cut-off bodies: spans {report.body_spans}, sent upstream {report.body_upstream_deliveries};"
        f" RSS MB {report.rss_mb}; open files {report.fds}"
    )
    return "\n".join(lines) + "\n"
