"""Scenario `soak`: steady mixed traffic for `--soak-minutes`, Glassgate's RSS sampled every few seconds.

The mix, through bench/faults/faulty_upstream.py: JSON and streamed answers, the vendor's 500s,
streams the upstream resets midway, and clients that hang up mid-stream. After a warm-up that
is not measured (pools fill, the allocator settles), RSS is sampled every `soak_sample_s` (5 s).
Growth is the mean of the last `WINDOW_FRACTION` of the samples minus the mean of the first
(single samples are noisy); the slope is a least-squares fit over all of them, per hour. Every
call must end as its kind expects and have exactly one span (upstream_faults.check_calls).
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from dataclasses import dataclass, replace

from bench.faults.audit import span_rows, wait_for_spans
from bench.faults.sampler import Sample, Sampler, slope_mb_per_hour
from bench.faults.scenario import Options, progress
from bench.faults.stack import Glassgate, log_problems, running_stack
from bench.faults.traffic import Kind, Traffic
from bench.faults.under_load import prime
from bench.faults.upstream_faults import READ_TIMEOUT_S, CallChecks, check_calls, deliveries

WINDOW_FRACTION = 0.1  # growth: the last tenth of the samples against the first tenth
RSS_GROWTH_BUDGET_MB = 20.0
MIX = (
    *[Kind("ok-json")] * 4,
    *[Kind("ok-stream", stream=True)] * 3,
    Kind("status-500", fault="status-500"),
    Kind("reset-mid-stream", stream=True, fault="reset-mid-stream"),
    # Slow enough (8 events 200 ms apart) that the client always leaves before the end.
    Kind("hang-up", stream=True, hang_up_after_events=2, stream_delay_ms=200),
)


def soak_mix(seq: int) -> Kind:
    return MIX[seq % len(MIX)]


@dataclass(frozen=True)
class SoakReport:
    scenario: str
    run_id: str
    rate: float
    minutes: float
    calls: int
    checks: CallChecks
    generator_lag_ms: float
    rss_mb: dict[str, float]  # ready, start and end (window means), min, max, growth
    slope_mb_per_hour: float | None
    fds: dict[str, int]  # start, max, end
    samples: list[tuple[float, float]]  # (seconds, RSS MB), every SAMPLE_EVERY_S
    log_problems: list[str]


def run_soak(options: Options) -> SoakReport:
    with running_stack(options.keep_workdir) as stack:
        upstream_url = stack.start_faulty_upstream()
        glassgate = stack.start_glassgate(
            "glassgate",
            config={
                "upstreams": {"openai": {"vendor": "openai", "url": upstream_url}},
                "proxy": {"read_timeout_s": READ_TIMEOUT_S},
            },
        )
        report = asyncio.run(_run(glassgate, stack.postgres.url, upstream_url, options))
        stack.stop(glassgate)
        return replace(report, log_problems=log_problems(glassgate.log()))


async def _run(glassgate: Glassgate, database_url: str, upstream_url: str, options: Options) -> SoakReport:
    await prime(glassgate)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    traffic = Traffic(glassgate.url, run_id, options.rate, soak_mix, clients=options.clients)
    ready_mb = Sampler(glassgate.child.pid, 1, lambda: "").sample().rss_mb
    sampler = Sampler(glassgate.child.pid, options.soak_sample_s, lambda: traffic.phase)
    traffic.start()
    try:
        progress(f"warm-up: mixed calls at {options.rate:g}/s for {options.warmup_s:g}s (not measured)")
        await asyncio.sleep(options.warmup_s)
        traffic.phase = "soak"
        progress(f"soak: {options.soak_minutes:g} min, RSS every {options.soak_sample_s:g}s")
        sampler.start()
        await asyncio.sleep(options.soak_minutes * 60)
        await sampler.stop()
    finally:
        await traffic.stop()
    progress(f"{len(traffic.calls)} calls sent; waiting for their spans")
    await wait_for_spans(database_url, run_id, len(traffic.calls), options.drain_timeout_s)
    spans = await span_rows(database_url, run_id)
    checks = check_calls(traffic.calls, spans, await deliveries(upstream_url, run_id))
    return _report(traffic, checks, sampler.samples, ready_mb, options.soak_minutes)


def _report(traffic: Traffic, checks: CallChecks, samples: list[Sample], ready_mb: float, minutes: float) -> SoakReport:
    window = max(1, round(len(samples) * WINDOW_FRACTION))
    start = statistics.fmean(sample.rss_mb for sample in samples[:window])
    end = statistics.fmean(sample.rss_mb for sample in samples[-window:])
    rss = [sample.rss_mb for sample in samples]
    return SoakReport(
        scenario="soak",
        run_id=traffic.run_id,
        rate=traffic.rate,
        minutes=minutes,
        calls=len(traffic.calls),
        checks=checks,
        generator_lag_ms=round(traffic.max_lag_s * 1000, 2),
        rss_mb={
            "ready": round(ready_mb, 1),
            "start": round(start, 1),
            "end": round(end, 1),
            "min": round(min(rss), 1),
            "max": round(max(rss), 1),
            "growth": round(end - start, 1),
        },
        slope_mb_per_hour=slope_mb_per_hour(samples),
        fds={"start": samples[0].fds, "max": max(s.fds for s in samples), "end": samples[-1].fds},
        samples=[(sample.at_s, round(sample.rss_mb, 2)) for sample in samples],
        log_problems=[],
    )


def soak_problems(report: SoakReport) -> list[str]:
    found = report.checks.problems()
    if report.rss_mb["growth"] > RSS_GROWTH_BUDGET_MB:
        found.append(f"RSS grew {report.rss_mb['growth']} MB over the soak (budget {RSS_GROWTH_BUDGET_MB:g})")
    if report.log_problems:
        found.append(f"errors logged: {report.log_problems}")
    return found


def soak_summary(report: SoakReport) -> str:
    lines = [
        f"soak: {report.minutes:g} min at {report.rate:g}/s, {report.calls} calls"
        f" (generator lag {report.generator_lag_ms} ms), {len(report.samples)} RSS samples",
        *report.checks.summary(),
        f"RSS MB {report.rss_mb}; slope {report.slope_mb_per_hour} MB/h; open files {report.fds}",
    ]
    return "\n".join(lines) + "\n"
