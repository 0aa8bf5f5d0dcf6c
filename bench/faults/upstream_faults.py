"""Scenario `upstream`: the upstream answers 5xx, goes silent past `read_timeout_s`, or resets the
connection (before its headers, mid-body, mid-stream), mixed with healthy calls under steady load.

Glassgate runs against bench/faults/faulty_upstream.py with `proxy.read_timeout_s` at 2 s. After a
baseline of healthy calls, a fault phase sends every kind of fault among healthy calls, then a
recovery phase healthy calls again. Each call must end the way its kind says:

- a 5xx is relayed as the vendor sent it; a reset or silence before the headers becomes the
  vendor-shaped 502 or 504 Glassgate writes; a break after the headers breaks the client's
  connection too (a clean end would let an SDK take a truncated answer for a whole one);
- every call has exactly one span, the one its `x-glassgate-span-id` named, with status `error`
  (or `ok` for healthy calls), the right HTTP status and `error.type`;
- healthy calls do not fail nor slow down while the faults go on, and RSS and open files come
  back to where they were.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, replace

import httpx
import orjson

from bench.faults.audit import SpanRow, span_rows, wait_for_spans
from bench.faults.load import Latency, latency
from bench.faults.sampler import Sampler, peak
from bench.faults.scenario import Options, progress
from bench.faults.stack import Glassgate, log_problems, running_stack
from bench.faults.traffic import HEALTHY, Kind, Sent, Traffic, healthy_mix
from bench.faults.under_load import GENERATOR_LAG_LIMIT_MS, latency_bound_ms, prime

READ_TIMEOUT_S = 2.0
RSS_BUDGET_MB = 30.0  # from the baseline to the end of the recovery
FDS_SLACK = 20  # open files after the run against before the faults: pooled connections come and go

FAULTY = (
    Kind("status-500", fault="status-500"),
    Kind("status-503", stream=True, fault="status-503"),
    Kind("reset-before-headers", fault="reset-before-headers"),
    Kind("reset-mid-body", fault="reset-mid-body"),
    Kind("reset-mid-stream", stream=True, fault="reset-mid-stream"),
    Kind("silent", fault="silent"),
    Kind("silent-mid-stream", stream=True, fault="silent-mid-stream"),
)


@dataclass(frozen=True)
class Expect:
    status: int  # the status line the client gets
    broken: bool  # the answer breaks off after the headers: the client sees a transport error
    vendor_error: bool  # the body is an OpenAI error object {"error": {"message": ...}}
    span_status: str
    error_type: str | None  # the span's error.type; None: not checked (the vendor's own 5xx)


EXPECT = {
    "ok-json": Expect(200, False, False, "ok", None),
    "ok-stream": Expect(200, False, False, "ok", None),
    "status-500": Expect(500, False, True, "error", None),
    "status-503": Expect(503, False, True, "error", None),
    "reset-before-headers": Expect(502, False, True, "error", "upstream_unreachable"),
    "reset-mid-body": Expect(200, True, False, "error", "upstream_reset"),
    "reset-mid-stream": Expect(200, True, False, "error", "upstream_reset"),
    "silent": Expect(504, False, True, "error", "upstream_timeout"),
    "silent-mid-stream": Expect(200, True, False, "error", "upstream_timeout"),
    # The client hangs up mid-stream (traffic.Kind.hang_up_after_events): the call is cancelled.
    "hang-up": Expect(200, False, False, "cancelled", None),
}


def fault_mix(seq: int) -> Kind:
    """Healthy and faulty calls alternate, so each fault lands among healthy calls."""
    if seq % 2 == 0:
        return HEALTHY[(seq // 2) % len(HEALTHY)]
    return FAULTY[(seq // 2) % len(FAULTY)]


def client_problem(call: Sent) -> str | None:
    """What is wrong with what the client saw, or None."""
    expect = EXPECT[call.kind]
    if call.status != expect.status:
        return f"status {call.status} ({call.error or call.body_head[:120]!r}), expected {expect.status}"
    if call.span_id is None:
        return "no x-glassgate-span-id header"
    if expect.broken:
        return None if call.error is not None else "the answer ended cleanly instead of breaking off"
    if expect.span_status == "cancelled":
        return None if call.hung_up else f"the client did not hang up: {call.error or call.body_head[-120:]!r}"
    if call.error is not None or not call.complete:
        return f"incomplete answer: {call.error or call.body_head[-120:]!r}"
    if expect.vendor_error:
        try:
            error = orjson.loads(call.body_head)["error"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return f"not a vendor error body: {call.body_head[:120]!r}"
        if not isinstance(error, dict) or not error.get("message"):
            return f"vendor error without a message: {call.body_head[:120]!r}"
    return None


def span_problem(call: Sent, spans: list[SpanRow]) -> str | None:
    expect = EXPECT[call.kind]
    if not spans:
        return "no span stored"
    if len(spans) > 1:
        return f"{len(spans)} spans stored"
    span = spans[0]
    if span.span_id != call.span_id:
        return f"stored span {span.span_id}, the client was told {call.span_id}"
    if span.status != expect.span_status or span.http_status != expect.status:
        return f"span {span.status}/{span.http_status}, expected {expect.span_status}/{expect.status}"
    if expect.error_type is not None and span.error_type != expect.error_type:
        return f"span error.type {span.error_type}, expected {expect.error_type}"
    return None


@dataclass(frozen=True)
class KindReport:
    calls: int
    client_as_expected: int
    spans_as_expected: int
    deliveries: dict[int, int]  # times the upstream received a call → calls


@dataclass(frozen=True)
class CallChecks:
    """Every call against what its kind expects, client side and span."""

    calls: int
    failed: int  # calls whose client outcome was not the one their kind expects (healthy ones included)
    spans_lost: int
    spans_duplicated: int
    spans_wrong: int  # stored once, but with the wrong id, status, HTTP status or error.type
    redelivered: int  # calls the upstream received more than once, beyond a reset before the headers
    by_kind: dict[str, KindReport]
    examples: list[str]

    def problems(self) -> list[str]:
        found = []
        if self.failed:
            found.append(f"{self.failed} of {self.calls} calls did not end as their kind expects: {self.examples}")
        if self.spans_lost or self.spans_duplicated or self.spans_wrong:
            found.append(
                f"spans: {self.spans_lost} lost, {self.spans_duplicated} duplicated, {self.spans_wrong} wrong:"
                f" {self.examples}"
            )
        if self.redelivered:
            found.append(f"{self.redelivered} calls reached the upstream more often than their fault allows")
        return found

    def summary(self) -> list[str]:
        lines = [
            f"not as expected: {self.failed} of {self.calls}; spans lost {self.spans_lost},"
            f" duplicated {self.spans_duplicated}, wrong {self.spans_wrong}; redelivered {self.redelivered}"
        ]
        for name, kind in self.by_kind.items():
            lines.append(
                f"  {name:<21} {kind.calls:>5} calls: client as expected {kind.client_as_expected},"
                f" span as expected {kind.spans_as_expected}; upstream deliveries {kind.deliveries}"
            )
        return lines


@dataclass(frozen=True)
class UpstreamReport:
    scenario: str
    run_id: str
    rate: float
    read_timeout_s: float
    calls: int
    faulted: int  # calls sent with a fault
    checks: CallChecks
    generator_lag_ms: float
    healthy_latency: dict[str, dict[str, Latency]]  # phase → json / stream
    rss_mb: dict[str, float | None]  # baseline, max, end, growth
    fds: dict[str, int]  # baseline, max, end
    log_problems: list[str]


def run_upstream_faults(options: Options) -> UpstreamReport:
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


async def _run(glassgate: Glassgate, database_url: str, upstream_url: str, options: Options) -> UpstreamReport:
    await prime(glassgate)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    traffic = Traffic(glassgate.url, run_id, options.rate, healthy_mix, clients=options.clients)
    sampler = Sampler(glassgate.child.pid, 0.5, lambda: traffic.phase)
    baseline = sampler.sample()
    sampler.start()
    traffic.start()
    try:
        progress(f"baseline: healthy calls at {options.rate:g}/s for {options.warmup_s:g}s")
        await asyncio.sleep(options.warmup_s)
        traffic.phase, traffic.kind_of = "faults", fault_mix
        progress(f"faults: half the calls faulty (5xx, resets, silence) for {options.fault_s:g}s")
        await asyncio.sleep(options.fault_s)
        traffic.phase, traffic.kind_of = "recovery", healthy_mix
        progress(f"recovery: healthy calls for {options.recovery_s:g}s")
        await asyncio.sleep(options.recovery_s)
    finally:
        await traffic.stop()
    traffic.phase = "after the load"
    progress(f"{len(traffic.calls)} calls sent; waiting for their spans")
    await wait_for_spans(database_url, run_id, len(traffic.calls), options.drain_timeout_s)
    await asyncio.sleep(1.0)  # idle pooled connections settle
    end = sampler.sample()
    await sampler.stop()
    spans = await span_rows(database_url, run_id)
    checks = check_calls(traffic.calls, spans, await deliveries(upstream_url, run_id))
    return _report(traffic, checks, sampler, baseline.rss_mb, baseline.fds, end.rss_mb, end.fds)


async def deliveries(upstream_url: str, run_id: str) -> dict[int, int]:
    """How often the faulty upstream received each call of the run (by seq)."""
    async with httpx.AsyncClient(timeout=10) as client:
        counts = (await client.get(f"{upstream_url}/bench/deliveries")).json()
    prefix = f"{run_id}-"
    return {int(key.removeprefix(prefix)): value for key, value in counts.items() if key.startswith(prefix)}


def check_calls(calls: list[Sent], spans: dict[int, list[SpanRow]], deliveries: dict[int, int]) -> CallChecks:
    examples: list[str] = []
    by_kind: dict[str, KindReport] = {}
    failed = lost = duplicated = wrong = redelivered = 0
    for name in EXPECT:
        of_kind = [call for call in calls if call.kind == name]
        client_ok = spans_ok = 0
        for call in of_kind:
            client = client_problem(call)
            span = span_problem(call, spans.get(call.seq, []))
            client_ok += client is None
            spans_ok += span is None
            failed += client is not None
            stored = len(spans.get(call.seq, []))
            lost += stored == 0
            duplicated += stored > 1
            wrong += stored == 1 and span is not None
            allowed = 2 if name == "reset-before-headers" else 1
            redelivered += deliveries.get(call.seq, 0) > allowed
            for problem in (client, span):
                if problem is not None and len(examples) < 10:
                    examples.append(f"#{call.seq} {name} ({call.phase}): {problem}")
        if of_kind:
            by_kind[name] = KindReport(
                calls=len(of_kind),
                client_as_expected=client_ok,
                spans_as_expected=spans_ok,
                deliveries=dict(sorted(Counter(deliveries.get(call.seq, 0) for call in of_kind).items())),
            )
    return CallChecks(len(calls), failed, lost, duplicated, wrong, redelivered, by_kind, examples)


def _report(
    traffic: Traffic,
    checks: CallChecks,
    sampler: Sampler,
    rss_start: float,
    fds_start: int,
    rss_end: float,
    fds_end: int,
) -> UpstreamReport:
    calls = traffic.calls
    healthy_latency = {
        phase: {kind.name: latency([c for c in calls if c.phase == phase and c.kind == kind.name]) for kind in HEALTHY}
        for phase in ("warmup", "faults", "recovery")
    }
    samples = sampler.samples
    return UpstreamReport(
        scenario="upstream",
        run_id=traffic.run_id,
        rate=traffic.rate,
        read_timeout_s=READ_TIMEOUT_S,
        calls=len(calls),
        faulted=sum(call.kind not in ("ok-json", "ok-stream") for call in calls),
        checks=checks,
        generator_lag_ms=round(traffic.max_lag_s * 1000, 2),
        healthy_latency=healthy_latency,
        rss_mb={
            "baseline": round(rss_start, 1),
            "max": peak(samples, "rss_mb"),
            "end": round(rss_end, 1),
            "growth": round(rss_end - rss_start, 1),
        },
        fds={"baseline": fds_start, "max": max(sample.fds for sample in samples), "end": fds_end},
        log_problems=[],
    )


def upstream_problems(report: UpstreamReport) -> list[str]:
    found = []
    if report.generator_lag_ms > GENERATOR_LAG_LIMIT_MS:
        found.append(f"the load generator fell {report.generator_lag_ms} ms behind: the latencies are its own")
    found += report.checks.problems()
    for kind in HEALTHY:
        before = report.healthy_latency["warmup"][kind.name].p99_ms
        during = report.healthy_latency["faults"][kind.name].p99_ms
        if before is not None and during is not None and during > latency_bound_ms(before):
            found.append(f"healthy {kind.name} p99 {during} ms during the faults, {before} ms before")
    growth = report.rss_mb["growth"]
    if growth is not None and growth > RSS_BUDGET_MB:
        found.append(f"RSS grew {growth} MB over the run (budget {RSS_BUDGET_MB:g})")
    if report.fds["end"] > report.fds["baseline"] + FDS_SLACK:
        found.append(f"open files {report.fds['baseline']} before, {report.fds['end']} after: a leak")
    if report.log_problems:
        found.append(f"errors logged: {report.log_problems}")
    return found


def upstream_summary(report: UpstreamReport) -> str:
    lines = [
        f"calls: {report.calls} at {report.rate:g}/s, {report.faulted} with an upstream fault"
        f" (read_timeout_s {report.read_timeout_s:g})",
        *report.checks.summary(),
    ]
    for phase, kinds in report.healthy_latency.items():
        cells = ", ".join(f"{k} p50 {v.p50_ms} / p99 {v.p99_ms} ms, {v.failures} failed" for k, v in kinds.items())
        lines.append(f"  healthy calls, {phase:<8}: {cells}")
    lines.append(f"RSS MB {report.rss_mb}; open files {report.fds}")
    return "\n".join(lines) + "\n"
