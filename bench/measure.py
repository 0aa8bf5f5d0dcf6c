"""The measurement phases, each run against one target (direct, nginx or Glassgate)."""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import uvloop

from bench.pg_roles import PostgresRoles
from bench.procs import BenchError, Memory, Tree, cpu_delta, memory, postgres_roots, sample_cpu, settle
from bench.stack import Stack, Target
from bench.streams import StreamStats, measure_gaps, measure_ttfb, summarize
from bench.wrk import WrkResult, run_wrk, write_script

# Long enough for the search indexer to work off a phase's calls at its default cap
# (2,000 spans/s: ~30 s for the throughput phase); a tree that is idle returns in 0.5 s.
SETTLE_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Plan:
    warmup_s: float
    latency_s: float
    throughput_s: float
    rss_requests: int
    ttfb_streams: int
    gap_streams: int
    chunks: int
    delay_ms: float
    steady_s: float = 15
    load_threads: int = 2
    load_connections: int = 32
    steady_connections: int = 16  # each paced at ~45 calls/s (bench.wrk.STEADY_BODY): ~750 calls/s in all


def make_plan(*, quick: bool, duration_scale: float) -> Plan:
    if quick:
        base = Plan(
            warmup_s=1,
            latency_s=2,
            throughput_s=3,
            rss_requests=2_000,
            ttfb_streams=30,
            gap_streams=3,
            chunks=10,
            delay_ms=20,
            steady_s=3,
        )
    else:
        base = Plan(
            warmup_s=3,
            latency_s=10,
            throughput_s=15,
            rss_requests=20_000,
            ttfb_streams=200,
            gap_streams=20,
            chunks=10,
            delay_ms=20,
        )
    return Plan(
        warmup_s=max(1.0, base.warmup_s * duration_scale),
        latency_s=max(1.0, base.latency_s * duration_scale),
        throughput_s=max(1.0, base.throughput_s * duration_scale),
        rss_requests=base.rss_requests,
        ttfb_streams=base.ttfb_streams,
        gap_streams=base.gap_streams,
        chunks=base.chunks,
        delay_ms=base.delay_ms,
        steady_s=max(1.0, base.steady_s * duration_scale),
    )


@dataclass(frozen=True)
class Throughput:
    wrk: WrkResult
    cpu_us_per_request: float
    postgres_cpu_us_per_request: float
    # Of cpu_us_per_request, what ran after the last response: batched span writes and the
    # search indexer, which is capped (tracing.search_max_per_s) and catches up after a burst.
    trailing_cpu_us_per_request: float
    trailing_s: float  # how long that took
    # The embedded PostgreSQL's share by job (bench/pg_roles.py), µs per request; empty without one.
    postgres_by_role: dict[str, float]
    cores_used: float  # the tree's CPU seconds per second of load
    host: HostLoad  # what else the host did meanwhile


@dataclass(frozen=True)
class TargetResult:
    name: str
    latency: WrkResult
    throughput: Throughput
    steady: Throughput  # the same measure at a fixed moderate rate (Plan.steady_connections paced streams)
    streams: StreamStats
    memory_after_load: Memory


@dataclass(frozen=True)
class MemoryPhase:
    """A dedicated fixed-count phase: memory growth per request shows a leak."""

    requests: int
    before: Memory
    after: Memory
    cpu_us_per_request: float


class Runner:
    """Runs the phases; owns the wrk scripts and the host-wide CPU accounting."""

    def __init__(self, stack: Stack, plan: Plan, workdir: Path) -> None:
        self.stack = stack
        self.plan = plan
        self._script = write_script(workdir)
        self._steady_script = write_script(workdir, steady=True)
        self._workdir = workdir

    def measure(self, target: Target) -> TargetResult:
        plan = self.plan
        self._load(target, self._script, plan.load_connections, plan.warmup_s)  # pools and caches; not recorded
        latency = run_wrk(target.url, self._script, threads=1, connections=1, duration_s=plan.latency_s)
        throughput = self._cpu_phase(target, self._script, self.plan.load_connections, self.plan.throughput_s)
        steady = self._cpu_phase(target, self._steady_script, self.plan.steady_connections, self.plan.steady_s)
        streams = self._streams(target)
        return TargetResult(target.name, latency, throughput, steady, streams, memory(target.tree))

    def _load(self, target: Target, script: Path, connections: int, duration_s: float) -> WrkResult:
        return run_wrk(
            target.url, script, threads=self.plan.load_threads, connections=connections, duration_s=duration_s
        )

    def _cpu_phase(self, target: Target, script: Path, connections: int, duration_s: float) -> Throughput:
        # The previous phases' trailing work (span writes, the search indexing of the latency
        # phase's ~50,000 calls) must not be billed here: wait until the tree is idle.
        before = settle(target.tree, timeout_s=SETTLE_TIMEOUT_S)
        roles = _postgres_roles(target.tree)
        host_before = self._host_sample()
        started = time.monotonic()
        result = self._load(target, script, connections, duration_s)
        wall = time.monotonic() - started
        at_end = sample_cpu(target.tree)
        host_after = self._host_sample()
        # Work that trails the responses (batched span inserts, search indexing) belongs to these requests too.
        after = settle(target.tree, timeout_s=SETTLE_TIMEOUT_S)
        trailing_s = time.monotonic() - started - wall
        by_role = roles.stop() if roles is not None else {}
        used = cpu_delta(before, after)
        requests = max(1, result.requests)
        return Throughput(
            wrk=result,
            cpu_us_per_request=used.total_s / requests * 1e6,
            postgres_cpu_us_per_request=used.postgres_s / requests * 1e6,
            trailing_cpu_us_per_request=cpu_delta(at_end, after).total_s / requests * 1e6,
            trailing_s=trailing_s,
            postgres_by_role={role: seconds / requests * 1e6 for role, seconds in by_role.items()},
            cores_used=used.total_s / result.duration_s if result.duration_s else 0.0,
            host=host_after.since(host_before, wall),
        )

    def _streams(self, target: Target) -> StreamStats:
        plan = self.plan
        ttfbs = uvloop.run(measure_ttfb("127.0.0.1", target.port, target.path, plan.ttfb_streams))
        gaps = uvloop.run(
            measure_gaps("127.0.0.1", target.port, target.path, plan.gap_streams, plan.chunks, plan.delay_ms)
        )
        return summarize(ttfbs, gaps, plan.delay_ms)

    def memory_phase(self, target: Target, expected_rps: float) -> MemoryPhase:
        """At least `rss_requests` requests (wrk stops each thread after its share)."""
        threads = self.plan.load_threads
        before_memory = memory(target.tree)
        before_cpu = settle(target.tree, timeout_s=SETTLE_TIMEOUT_S)
        done = 0
        while done < self.plan.rss_requests:
            remaining = self.plan.rss_requests - done
            script = write_script(self._workdir, stop_after=math.ceil(remaining / threads))
            # wrk always sleeps for its full -d, so size it from the measured rate, with headroom.
            duration = remaining / max(expected_rps, 1.0) * 1.5 + 2
            result = run_wrk(
                target.url, script, threads=threads, connections=self.plan.load_connections, duration_s=duration
            )
            if result.requests == 0:
                raise BenchError(f"{target.name}: no request completed in the memory phase")
            done += result.requests
        after_cpu = settle(target.tree, timeout_s=SETTLE_TIMEOUT_S)
        used = cpu_delta(before_cpu, after_cpu)
        return MemoryPhase(done, before_memory, memory(target.tree), used.total_s / done * 1e6)

    def _host_sample(self) -> HostSample:
        return HostSample.take([target.tree for target in self.stack.targets])


@dataclass(frozen=True)
class HostSample:
    """Host-wide CPU, split so that other people's processes can be told apart from the bench's.

    Loopback network processing shows up as softirq time, charged to no process, so it is kept
    apart from the process time; steal is CPU the hypervisor gave to other guests.
    """

    process_s: float  # user + nice + system, all processes
    softirq_s: float
    steal_s: float
    ours_s: float  # the bench itself, wrk and the three process trees

    @classmethod
    def take(cls, trees: list[Tree]) -> HostSample:
        times = psutil.cpu_times()
        process = times.user + times.nice + times.system
        own = resource.getrusage(resource.RUSAGE_SELF)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk runs, once waited for
        ours = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
        ours += sum(sample_cpu(tree).total() for tree in trees)
        softirq = getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
        return cls(process, softirq, getattr(times, "steal", 0.0), ours)

    def since(self, earlier: HostSample, wall_s: float) -> HostLoad:
        foreign = (self.process_s - earlier.process_s) - (self.ours_s - earlier.ours_s)
        return HostLoad(
            foreign_cores=max(0.0, foreign) / wall_s,
            softirq_cores=(self.softirq_s - earlier.softirq_s) / wall_s,
            steal_cores=(self.steal_s - earlier.steal_s) / wall_s,
        )


@dataclass(frozen=True)
class HostLoad:
    foreign_cores: float  # processes outside the bench: someone else is using the machine
    softirq_cores: float  # mostly the loopback traffic of the phase itself
    steal_cores: float


def _postgres_roles(tree: Tree) -> PostgresRoles | None:
    """A running sampler of the tree's embedded PostgreSQL, if it has one."""
    if tree.postgres_marker is None:
        return None
    roots = postgres_roots(tree.postgres_marker)
    if not roots:
        return None
    roles = PostgresRoles(tree.postgres_marker, roots[0].pid)  # the data directory is also the socket's
    roles.start()
    return roles
