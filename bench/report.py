"""Turn the measurements into a Markdown table (stdout) and JSON (bench/results/latest.json)."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import MemoryPhase, Plan, TargetResult, Throughput
from bench.pg_roles import INTERVAL_S
from bench.procs import Memory
from bench.streams import StreamStats
from bench.wrk import STEADY_PACE_MS

# Glassgate's performance budgets; nginx is shown beside them as the reference proxy.
BUDGET_ADDED_P50_MS = 0.3
BUDGET_CPU_US = 200.0
BUDGET_ADDED_TTFB_MS = 0.5
BUDGET_RSS_MB = 150.0


@dataclass(frozen=True)
class WriterCounters:
    queued: int
    written: int
    dropped: int
    capture_failed: int


@dataclass(frozen=True)
class TracingCheck:
    newest_span_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    streamed: bool | None
    writer: WriterCounters | None  # from Glassgate's shutdown log line
    queue_full_warnings: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.input_tokens is not None


@dataclass(frozen=True)
class Results:
    plan: Plan
    environment: dict[str, Any]
    targets: dict[str, TargetResult]
    glassgate_memory_at_ready: Memory
    glassgate_memory_phase: MemoryPhase
    tracing: TracingCheck

    def added_ms(self, name: str, pick: str) -> float:
        """proxy − direct for one wrk latency percentile at 1 connection, in ms."""
        proxy: float = getattr(self.targets[name].latency, pick)
        direct: float = getattr(self.targets["direct"].latency, pick)
        return (proxy - direct) / 1000

    def added_ttfb_ms(self, name: str, pick: str) -> float:
        proxy: float = getattr(self.targets[name].streams, pick)
        direct: float = getattr(self.targets["direct"].streams, pick)
        return proxy - direct

    def glassgate_rss_mb(self) -> float:
        return max(
            self.targets["glassgate"].memory_after_load.root_rss_mb, self.glassgate_memory_phase.after.root_rss_mb
        )

    def verdicts(self) -> dict[str, bool]:
        glassgate = self.targets["glassgate"]
        return {
            "added_p50_1conn": self.added_ms("glassgate", "p50_us") <= BUDGET_ADDED_P50_MS,
            "cpu_per_request_32conn": glassgate.throughput.cpu_us_per_request <= BUDGET_CPU_US,
            "added_ttfb_p50": self.added_ttfb_ms("glassgate", "ttfb_p50_ms") <= BUDGET_ADDED_TTFB_MS,
            "chunks_one_by_one": glassgate.streams.one_by_one,
            "rss": self.glassgate_rss_mb() <= BUDGET_RSS_MB,
            "tracing_on": self.tracing.ok,
        }

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["derived"] = {
            name: {
                "added_p50_ms": self.added_ms(name, "p50_us"),
                "added_p99_ms": self.added_ms(name, "p99_us"),
                "added_ttfb_p50_ms": self.added_ttfb_ms(name, "ttfb_p50_ms"),
                "added_ttfb_p99_ms": self.added_ttfb_ms(name, "ttfb_p99_ms"),
                "rps_32conn": self.targets[name].throughput.wrk.rps,
                "steady_rps": self.targets[name].steady.wrk.rps,
            }
            for name in ("nginx", "glassgate")
        }
        data["budgets"] = {
            "added_p50_ms": BUDGET_ADDED_P50_MS,
            "cpu_us_per_request": BUDGET_CPU_US,
            "added_ttfb_ms": BUDGET_ADDED_TTFB_MS,
            "rss_mb": BUDGET_RSS_MB,
        }
        data["verdicts"] = self.verdicts()
        return data


def write_json(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results.to_json(), indent=2, default=str) + "\n")


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "**FAIL**"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _ms(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f} ms"


def _added(value: float) -> str:
    return f"{value:+.3f} ms"


def _row(label: str, direct: str, nginx: str, glassgate: str, budget: str = "", verdict: str = "") -> str:
    return f"| {label} | {direct} | {nginx} | {glassgate} | {budget} | {verdict} |"


def markdown(results: Results) -> str:
    d, n, g = (results.targets[name] for name in ("direct", "nginx", "glassgate"))
    ok = results.verdicts()
    plan = results.plan
    rows = [
        _row("Metric", "direct", "nginx", "glassgate", "budget (glassgate)", "glassgate"),
        "|---|---:|---:|---:|---:|:---:|",
        *_latency_rows(results, ok),
        *_throughput_rows(d, n, g, ok),
        *_steady_rows(d, n, g, plan),
        *_stream_rows(results, ok),
        *_memory_rows(results, ok),
        _row(
            "wrk socket errors / non-2xx (measured phases)",
            _errors(d),
            _errors(n),
            _errors(g),
        ),
        _row("CPU of other processes on the host, 32 conns", _foreign(d), _foreign(n), _foreign(g)),
    ]
    lines = [
        f"## Glassgate proxy overhead ({results.environment['cpus']} CPUs, load generator on the same cores)",
        "",
        *rows,
        "",
        f"Phases per target: {plan.warmup_s:g}s warm-up; wrk -t1 -c1 {plan.latency_s:g}s; "
        f"wrk -t{plan.load_threads} -c{plan.load_connections} {plan.throughput_s:g}s; "
        f"wrk -t{plan.load_threads} -c{plan.steady_connections} {plan.steady_s:g}s of streams of 2 events "
        f"{STEADY_PACE_MS} ms apart (a steady, moderate rate); {plan.ttfb_streams} short streams (TTFB); "
        f"{plan.gap_streams} streams of {plan.chunks} events "
        f"{plan.delay_ms:g} ms apart (relay pace). Then {results.glassgate_memory_phase.requests} requests "
        "more through Glassgate for the memory check.",
        "",
        "Glassgate's CPU per request covers the proxy, the span writer and the search indexing of those calls "
        "(after the last response too, until the tree is idle), and also work that runs at a fixed rate whatever "
        "the traffic, billed to the requests of the phase: the embeddings worker (default `embeddings.max_per_s` "
        "50, ~2 ms of PostgreSQL per span, mostly its HNSW index) and PostgreSQL's background processes.",
        "",
        _postgres_roles_line(results.targets["glassgate"].throughput, "32-connection"),
        "",
        _postgres_roles_line(results.targets["glassgate"].steady, "steady-rate"),
        "",
        "At the steady rate the span writer and the search indexer store smaller batches (one per "
        "`tracing.flush_interval_ms`), and what a batch costs PostgreSQL is mostly per batch; the fixed-rate "
        "embeddings worker is billed to fewer calls.",
        "",
        _tracing_line(results.tracing),
        "",
        _guardrails_line(results.environment),
        "",
        _host_speed_line(results.environment),
    ]
    return "\n".join(lines) + "\n"


def _postgres_roles_line(throughput: Throughput, phase: str) -> str:
    by_role = throughput.postgres_by_role
    if not by_role:
        return "PostgreSQL by job: not sampled (no embedded PostgreSQL)."
    shares = "; ".join(f"{role} {us:.0f} µs" for role, us in by_role.items() if us >= 0.5)
    python = throughput.cpu_us_per_request - throughput.postgres_cpu_us_per_request
    return (
        f"Where the {phase} CPU per request went: Glassgate's own process {python:.0f} µs; PostgreSQL by job "
        f"(bench/pg_roles.py, sampled every {INTERVAL_S:g} s): {shares}."
    )


def _latency_rows(results: Results, ok: dict[str, bool]) -> list[str]:
    d, n, g = (results.targets[name].latency for name in ("direct", "nginx", "glassgate"))
    return [
        _row("latency p50, 1 conn", _ms(d.p50_us / 1000), _ms(n.p50_us / 1000), _ms(g.p50_us / 1000)),
        _row("latency p99, 1 conn", _ms(d.p99_us / 1000), _ms(n.p99_us / 1000), _ms(g.p99_us / 1000)),
        _row(
            "**added p50**, 1 conn",
            "—",
            _added(results.added_ms("nginx", "p50_us")),
            _added(results.added_ms("glassgate", "p50_us")),
            f"≤ {BUDGET_ADDED_P50_MS} ms",
            _verdict(ok["added_p50_1conn"]),
        ),
        _row(
            "added p99, 1 conn",
            "—",
            _added(results.added_ms("nginx", "p99_us")),
            _added(results.added_ms("glassgate", "p99_us")),
        ),
    ]


def _rate(phase: Throughput, unit: str) -> str:
    return f"{phase.wrk.rps:,.0f} {unit}"


def _cpu(phase: Throughput) -> str:
    return f"{phase.cpu_us_per_request:.0f} µs"


def _throughput_rows(d: TargetResult, n: TargetResult, g: TargetResult, ok: dict[str, bool]) -> list[str]:
    def rps(result: TargetResult) -> str:
        return _rate(result.throughput, "req/s")

    def lat(result: TargetResult) -> str:
        wrk = result.throughput.wrk
        return f"{wrk.p50_us / 1000:.2f} / {wrk.p99_us / 1000:.2f} ms"

    def cpu(result: TargetResult) -> str:
        return _cpu(result.throughput)

    pg = g.throughput.postgres_cpu_us_per_request
    trail = g.throughput.trailing_cpu_us_per_request
    return [
        _row("throughput, 32 conns", rps(d), rps(n), rps(g)),
        _row("latency p50 / p99, 32 conns", lat(d), lat(n), lat(g)),
        _row(
            "**CPU per request**, 32 conns (whole process tree)",
            cpu(d) + " (mock itself)",
            cpu(n),
            f"{cpu(g)} (PostgreSQL {pg:.0f} µs of it; after the last response {trail:.0f} µs, "
            f"{g.throughput.trailing_s:.0f} s)",
            f"≤ {BUDGET_CPU_US:.0f} µs",
            _verdict(ok["cpu_per_request_32conn"]),
        ),
        _row(
            "CPU cores busy, 32 conns",
            f"{d.throughput.cores_used:.2f}",
            f"{n.throughput.cores_used:.2f}",
            f"{g.throughput.cores_used:.2f}",
        ),
    ]


def _steady_rows(d: TargetResult, n: TargetResult, g: TargetResult, plan: Plan) -> list[str]:
    pg = g.steady.postgres_cpu_us_per_request
    return [
        _row(
            f"steady rate, {plan.steady_connections} conns of paced streams",
            *(_rate(result.steady, "calls/s") for result in (d, n, g)),
        ),
        _row(
            "CPU per request at the steady rate (whole process tree)",
            _cpu(d.steady) + " (mock itself)",
            _cpu(n.steady),
            f"{_cpu(g.steady)} (PostgreSQL {pg:.0f} µs of it)",
        ),
    ]


def _stream_rows(results: Results, ok: dict[str, bool]) -> list[str]:
    d, n, g = (results.targets[name].streams for name in ("direct", "nginx", "glassgate"))

    def gaps(stats: StreamStats) -> str:
        return f"{stats.gap_median_ms:.1f} ({stats.gap_p10_ms:.1f}–{stats.gap_p90_ms:.1f}) ms"

    def ttfb(stats: StreamStats) -> str:
        return f"{stats.ttfb_p50_ms:.3f} / {stats.ttfb_p99_ms:.3f} ms"

    return [
        _row("stream TTFB p50 / p99", ttfb(d), ttfb(n), ttfb(g)),
        _row(
            "**added TTFB p50** (stream)",
            "—",
            _added(results.added_ttfb_ms("nginx", "ttfb_p50_ms")),
            _added(results.added_ttfb_ms("glassgate", "ttfb_p50_ms")),
            f"≤ {BUDGET_ADDED_TTFB_MS} ms",
            _verdict(ok["added_ttfb_p50"]),
        ),
        _row(
            "added TTFB p99 (stream)",
            "—",
            _added(results.added_ttfb_ms("nginx", "ttfb_p99_ms")),
            _added(results.added_ttfb_ms("glassgate", "ttfb_p99_ms")),
        ),
        _row(f"event gap median (p10–p90), upstream {d.expected_gap_ms:g} ms", gaps(d), gaps(n), gaps(g)),
        _row(
            "**chunks relayed one by one**",
            _yes(d.one_by_one),
            _yes(n.one_by_one),
            _yes(g.one_by_one),
            "yes",
            _verdict(ok["chunks_one_by_one"]),
        ),
    ]


def _memory_rows(results: Results, ok: dict[str, bool]) -> list[str]:
    n, g = results.targets["nginx"], results.targets["glassgate"]
    phase = results.glassgate_memory_phase
    ready = results.glassgate_memory_at_ready
    growth = phase.after.root_rss_mb - phase.before.root_rss_mb
    return [
        _row("RSS at start (process)", "—", "—", f"{ready.root_rss_mb:.1f} MB"),
        _row(
            "**RSS after the load phases** (process)",
            "—",
            f"{n.memory_after_load.tree_rss_mb:.1f} MB (master + worker)",
            f"{g.memory_after_load.root_rss_mb:.1f} MB",
            f"≤ {BUDGET_RSS_MB:.0f} MB",
            _verdict(ok["rss"]),
        ),
        _row(
            f"RSS after {phase.requests:,} more requests (process)",
            "—",
            "—",
            f"{phase.after.root_rss_mb:.1f} MB ({growth:+.1f} MB)",
            f"≤ {BUDGET_RSS_MB:.0f} MB",
        ),
        _row(
            f"CPU per request over those {phase.requests:,} requests (incl. idle tail, autovacuum)",
            "—",
            "—",
            f"{phase.cpu_us_per_request:.0f} µs",
        ),
        _row(
            "whole tree PSS after the load phases",
            "—",
            f"{n.memory_after_load.tree_pss_mb:.1f} MB",
            f"{g.memory_after_load.tree_pss_mb:.1f} MB (with PostgreSQL)",
        ),
    ]


def _foreign(result: TargetResult) -> str:
    host = result.throughput.host
    return f"{host.foreign_cores:.2f} cores (steal {host.steal_cores:.2f})"


def _errors(result: TargetResult) -> str:
    errors = result.latency.errors + result.throughput.wrk.errors
    non_2xx = result.latency.non_2xx + result.throughput.wrk.non_2xx
    return f"{errors} / {non_2xx}"


def _tracing_line(tracing: TracingCheck) -> str:
    if tracing.error is not None:
        return f"Tracing check: **FAILED** ({tracing.error})"
    writer = tracing.writer
    counters = (
        f"span writer at shutdown: {writer.queued:,} queued, {writer.written:,} written, "
        f"{writer.dropped:,} dropped, {writer.capture_failed:,} capture failures"
        if writer is not None
        else "span writer counters: not found in Glassgate's log"
    )
    status = "on" if tracing.ok else "**NOT VERIFIED**"
    return (
        f"Tracing {status}: newest span {tracing.newest_span_id} has input_tokens={tracing.input_tokens}, "
        f"output_tokens={tracing.output_tokens}, streamed={tracing.streamed}; {counters}; "
        f"'trace queue full' warnings: {tracing.queue_full_warnings}."
    )


def emit(results: Results, json_path: Path) -> None:
    write_json(results, json_path)
    sys.stdout.write(markdown(results))
    sys.stdout.write(f"\nJSON: {json_path}\n")


# What `python_loop_us` measured on this VM on quiet days (sessions of 2026-11).
QUIET_HOST_LOOP_US = 9.0


def _guardrails_line(environment: dict[str, Any]) -> str:
    if environment.get("guardrails", "default") == "inline":
        return (
            "Guardrails: inline (`--guardrails inline`): every request is scanned for PII, secrets and injection "
            "before it goes upstream (redact, block), and every answer as it streams back (redact within the "
            "sliding window). The bench's texts hold nothing to redact, as most real calls do not."
        )
    return (
        "Guardrails: Glassgate's default policy (flag PII, secrets and injection in every request, in the span "
        "writer, off the client's time). `--guardrails inline` measures redact and block on the request path."
    )


def _host_speed_line(environment: dict[str, Any]) -> str:
    loop_us = environment.get("python_loop_us")
    if not loop_us:
        return ""
    return (
        f"Host speed: `sum(range(1000))` took {loop_us:.1f} µs in this run ({QUIET_HOST_LOOP_US:g} µs on a quiet day "
        f"on this VM): Python ran {loop_us / QUIET_HOST_LOOP_US:.1f}× as slow as then, and Glassgate's CPU and latency "
        "figures are inflated by up to that factor."
    )
