"""`python -m bench.faults_pipeline`: the span pipeline under faults (issue 4), scripted and bounded.

Scenario `outage` (default): a steady open-loop load of chat completions, JSON and streamed,
through a Glassgate whose `database_url` points at a PostgreSQL of the bench's own. After a
warm-up the database is stopped for `--outage-seconds`, started again, and the load goes on
for a while. Every call must succeed in its normal time, exactly one span per call must be
stored, and Glassgate's RSS must stay within 50 MB of where it started.

Scenario `sigterm`: Glassgate gets SIGTERM under load, once with the database up (the writer
drains before exiting) and once with it down (the writer spills to disk; a Glassgate
restarted on the same data_dir replays). Every call answered 200 must be stored exactly
once; a call may fail only if Glassgate never accepted it (it has no span).

Each call carries `x-glassgate-session-id: <run id>` and `x-glassgate-metadata-seq: <n>`, and
spans are counted with plain SQL. Everything runs on loopback in one temporary directory and
every process started is stopped on the way out. Progress goes to stderr, the report to
stdout (`--json` for all the numbers); the exit code is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import psutil
import yaml

from bench.procs import (
    BenchError,
    Child,
    Children,
    free_port,
    stop_child,
    stop_postgres,
    wait_for_http,
    wait_for_port,
)
from bench.stack import glassgate_executable

RSS_BUDGET_MB = 50.0
GENERATOR_LAG_LIMIT_MS = 100.0  # beyond it the client, not Glassgate, sets the latencies
ADMIN_TOKEN = "bench-faults-token-0123456789"
_CHAT_PATH = "/openai/v1/chat/completions"
_STREAM_EVERY = 3  # every third call streams
_CALL_TIMEOUT_S = 10.0
_MB = 1024 * 1024
_REPO = Path(__file__).resolve().parent.parent


def latency_bound_ms(warmup_p99_ms: float) -> float:
    """The p99 a phase may reach against the warm-up's: 3x it or 50 ms more, whichever is larger."""
    return max(3 * warmup_p99_ms, warmup_p99_ms + 50.0)


@dataclass(frozen=True)
class Options:
    rate: float = 40.0  # calls per second, open loop
    clients: int = 4  # HTTP clients (each its own connection pool) the calls are spread over
    outage_s: float = 30.0
    warmup_s: float = 5.0
    recovery_s: float = 10.0  # load after the database is back
    drain_timeout_s: float = 60.0  # longest wait for the spans once the load stops
    keep_workdir: bool = False


class Postgres:
    """A PostgreSQL of the bench's own (Unix socket only), so stopping it disturbs nothing else."""

    def __init__(self, pgdata: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs asks for XDG_RUNTIME_DIR
            import pgserver
        self.pgdata = pgdata
        # pgserver runs initdb and the first start (as an unprivileged user when we are root).
        self._server = pgserver.get_server(pgdata, cleanup_mode="delete")
        self.url: str = self._server.get_uri()
        self._socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]
        self._pg_ctl = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl")
        self._first_postmaster: int | None = self._server.get_pid()
        self.running = True

    def stop(self) -> None:
        self._pg_ctl_run(["-m", "fast", "stop"])
        self.running = False

    def start(self) -> None:
        self._pg_ctl_run(["-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", str(self.pgdata / "log"), "start"])
        self.running = True

    def close(self) -> None:
        if self.running:
            with contextlib.suppress(BenchError):
                self.stop()
        stop_postgres(str(self.pgdata))  # whatever pg_ctl could not stop
        # pgserver's cleanup stops the postmaster it started if that still "runs"; an exited one
        # not yet reaped (PID 1 of a container can take a second) counts, and pg_ctl would fail
        # on it loudly. Wait until it is gone.
        if self._first_postmaster is not None:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                psutil.Process(self._first_postmaster).wait(10)
        self._server.cleanup()  # pgserver's handle; removes the data directory

    def _pg_ctl_run(self, args: list[str]) -> None:
        argv = [self._pg_ctl, "-D", str(self.pgdata), "-w", "-t", "60", *args]
        # No pipes: the postmaster would inherit them and pg_ctl could hang on them.
        try:
            subprocess.run(
                argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=90, user=self._server.system_user,
            )  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise BenchError(f"pg_ctl {args[-1]} failed ({exc}); see {self.pgdata / 'log'}") from exc


@dataclass(frozen=True)
class Glassgate:
    child: Child
    url: str

    def log(self) -> str:
        return self.child.log_path.read_text(errors="replace")


@dataclass
class Stack:
    """PostgreSQL, the mock upstream and the Glassgate processes of one run, in one work directory."""

    workdir: Path
    children: Children
    postgres: Postgres
    upstream_url: str

    @property
    def data_dir(self) -> Path:
        return self.workdir / "glassgate-data"  # shared by every Glassgate of the run: the spill lives here

    def start_glassgate(self, name: str) -> Glassgate:
        config = {
            "data_dir": str(self.data_dir),
            "database_url": self.postgres.url,
            "admin_token": ADMIN_TOKEN,
            "upstreams": {"openai": {"vendor": "openai", "url": self.upstream_url}},
        }
        config_path = self.workdir / f"{name}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        # This config only: no GLASSGATE_* or OTEL_* variable of the caller's may change it.
        env = {key: value for key, value in os.environ.items() if not key.startswith(("GLASSGATE_", "OTEL_"))}
        port = free_port()
        log_path = self.workdir / f"{name}.log"
        argv = [glassgate_executable(), "serve", "--config", str(config_path), "--port", str(port)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir, env=env,
                start_new_session=True,
            )  # fmt: skip
        child = Child(name, process, log_path)
        self.children.started.append(child)
        url = f"http://127.0.0.1:{port}"
        wait_for_http(child, f"{url}/readyz", timeout_s=90)
        return Glassgate(child, url)

    def stop(self, glassgate: Glassgate) -> None:
        if glassgate.child in self.children.started:
            self.children.started.remove(glassgate.child)
        stop_child(glassgate.child, grace_s=30)


@contextlib.contextmanager
def running_stack(keep_workdir: bool = False) -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="gg-faults-"))
    children = Children()
    postgres: Postgres | None = None
    try:
        _progress(f"starting PostgreSQL and the mock upstream in {workdir}")
        postgres = Postgres(workdir / "pg")
        port = free_port()
        argv = [sys.executable, "-m", "bench.mock_upstream", "--port", str(port), "--chunks", "5", "--delay-ms", "10"]
        wait_for_port(children.start("mock upstream", argv, workdir / "mock.log", cwd=_REPO), port, timeout_s=15)
        yield Stack(workdir, children, postgres, f"http://127.0.0.1:{port}")
    finally:
        children.stop_all()
        if postgres is not None:
            postgres.close()
        if keep_workdir:
            _progress(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


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
        self._url = glassgate_url + _CHAT_PATH
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
            await asyncio.wait_for(self._task, _CALL_TIMEOUT_S + 10)

    async def _run(self) -> None:
        clients = [httpx.AsyncClient(timeout=_CALL_TIMEOUT_S) for _ in range(self._clients)]
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


def writer_counters(metrics_text: str) -> dict[str, float]:
    """The span writer's gauges from /metrics, without the `glassgate_trace_` prefix."""
    counters = {}
    for line in metrics_text.splitlines():
        if line.startswith("glassgate_trace_"):
            name, _, value = line.partition(" ")
            counters[name.removeprefix("glassgate_trace_")] = float(value)
    return counters


class Monitor:
    """Glassgate's RSS and its span writer's counters, sampled four times a second."""

    def __init__(self, glassgate: Glassgate, load: Load) -> None:
        self._process = psutil.Process(glassgate.child.pid)
        self._metrics_url = glassgate.url + "/metrics"
        self._load = load
        self.rss_start_mb = self.rss_mb()
        self.rss_max_mb = self.rss_start_mb
        self.rss_max_by_phase_mb: dict[str, float] = {}
        self.writer: dict[str, float] = {}
        self.database_back_at: float | None = None
        self.drained_at: float | None = None  # first sample after database_back_at with the spill replayed
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def rss_mb(self) -> float:
        return float(self._process.memory_info().rss) / _MB

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while not self._stop.is_set():
                rss, phase = self.rss_mb(), self._load.phase
                self.rss_max_mb = max(self.rss_max_mb, rss)
                self.rss_max_by_phase_mb[phase] = round(max(self.rss_max_by_phase_mb.get(phase, 0.0), rss), 1)
                with contextlib.suppress(httpx.HTTPError):
                    self.writer = writer_counters((await client.get(self._metrics_url)).text)
                spilled, replayed = self.writer.get("spilled", 0.0), self.writer.get("replayed", 0.0)
                back = self.database_back_at is not None and self.drained_at is None
                if back and 0 < spilled <= replayed and self.writer.get("queue_depth") == 0:
                    self.drained_at = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.25)


@dataclass(frozen=True)
class Stored:
    rows: int  # count(*)
    distinct_span_ids: int
    span_ids_by_seq: dict[int, list[str]]


async def stored_spans(database_url: str, run_id: str) -> Stored:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        where = "FROM spans WHERE session_id = $1"
        counts = await connection.fetchrow(f"SELECT count(*) AS n, count(DISTINCT span_id) AS ids {where}", run_id)
        records = await connection.fetch(f"SELECT span_id, attributes->'metadata'->>'seq' AS seq {where}", run_id)
    finally:
        await connection.close()
    by_seq: dict[int, list[str]] = {}
    for record in records:
        by_seq.setdefault(int(record["seq"]), []).append(record["span_id"])
    return Stored(int(counts["n"]), int(counts["ids"]), by_seq)


async def wait_for_spans(
    database_url: str, run_id: str, expected: int, timeout_s: float
) -> tuple[Stored, float | None]:
    """Poll until `expected` spans of the run are stored: (the last count, seconds it took or None)."""
    started = time.monotonic()
    stored = Stored(0, 0, {})
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):  # a database starting up
            stored = await stored_spans(database_url, run_id)
        if stored.rows >= expected:
            took = time.monotonic() - started
            await asyncio.sleep(1.0)  # anything beyond `expected` (a duplicate) would show now
            return await stored_spans(database_url, run_id), took
        if time.monotonic() - started > timeout_s:
            return stored, None
        await asyncio.sleep(0.25)


@dataclass(frozen=True)
class Latency:
    calls: int
    failures: int
    p50_ms: float | None  # of the calls that succeeded
    p99_ms: float | None
    max_ms: float | None


def latency(calls: list[Call]) -> Latency:
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


@dataclass(frozen=True)
class Audit:
    """Calls against stored spans, matched by the seq each call carried as metadata."""

    sent: int
    answered: int  # 200 with a complete answer
    failed: int
    failed_not_accepted: int  # failed, and no span: Glassgate never took the call
    failed_after_accepted: int  # failed, yet a span exists: Glassgate took the call and did not answer it
    lost: int  # answered, but no span stored
    mismatched: int  # answered, but the stored span is not the one the x-glassgate-span-id header named
    duplicated: int  # calls with more than one span
    rows: int
    distinct_span_ids: int
    failure_kinds: dict[str, int]
    examples: list[str]  # a few failed or lost calls


def audit(calls: list[Call], stored: Stored) -> Audit:
    spans = stored.span_ids_by_seq
    answered = [call for call in calls if call.ok]
    failed = [call for call in calls if not call.ok]
    lost = [call for call in answered if not spans.get(call.seq)]
    mismatched = [call for call in answered if spans.get(call.seq) and call.span_id not in spans[call.seq]]
    kinds = Counter((call.error or f"HTTP {call.status}").split(":")[0] for call in failed)
    examples = [f"#{call.seq} ({call.phase}): {call.error or f'HTTP {call.status}'}" for call in failed[:5]] + [
        f"#{call.seq} ({call.phase}): answered 200, span {call.span_id} not stored" for call in lost[:5]
    ]
    return Audit(
        sent=len(calls),
        answered=len(answered),
        failed=len(failed),
        failed_not_accepted=sum(not spans.get(call.seq) for call in failed),
        failed_after_accepted=sum(bool(spans.get(call.seq)) for call in failed),
        lost=len(lost),
        mismatched=len(mismatched),
        duplicated=sum(len(ids) > 1 for ids in spans.values()),
        rows=stored.rows,
        distinct_span_ids=stored.distinct_span_ids,
        failure_kinds=dict(kinds),
        examples=examples,
    )


def log_problems(log_text: str) -> list[str]:
    """ERROR lines and tracebacks in a Glassgate log (the first ten)."""
    lines = [line for line in log_text.splitlines() if " ERROR " in line or line.startswith("Traceback")]
    return lines[:10]


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
class OutageReport:
    scenario: str
    run_id: str
    rate: float
    outage_s: float  # measured: PostgreSQL stopped until it answered again
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


def run_outage(options: Options) -> OutageReport:
    with running_stack(options.keep_workdir) as stack:
        return asyncio.run(_outage(stack, options))


async def prime(glassgate: Glassgate) -> float:
    """A JSON and a streamed call, then wait until their spans are written: the first span pays
    one-off costs (loading the price table) that would otherwise count as load latency and RSS
    growth. Returns the first call's latency in ms."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "prime"}]}
    headers = {"authorization": "Bearer sk-bench", "x-glassgate-session-id": "faults-prime"}
    async with httpx.AsyncClient(timeout=_CALL_TIMEOUT_S) as client:
        started = time.perf_counter()
        (await client.post(glassgate.url + _CHAT_PATH, json=body, headers=headers)).raise_for_status()
        first_call_ms = (time.perf_counter() - started) * 1000
        stream = body | {"stream": True}
        (await client.post(glassgate.url + _CHAT_PATH, json=stream, headers=headers)).raise_for_status()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if writer_counters((await client.get(glassgate.url + "/metrics")).text).get("written", 0) >= 2:
                return round(first_call_ms, 2)
            await asyncio.sleep(0.1)
    raise BenchError(f"the priming calls' spans were not written within 15 s:\n{glassgate.child.log_tail()}")


async def _outage(stack: Stack, options: Options) -> OutageReport:
    glassgate = stack.start_glassgate("glassgate")
    ready_mb = psutil.Process(glassgate.child.pid).memory_info().rss / _MB
    first_call_ms = await prime(glassgate)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    load = Load(glassgate.url, run_id, options)
    monitor = Monitor(glassgate, load)
    monitor.start()
    load.start()
    try:
        try:
            _progress(f"warm-up: {options.rate:g} calls/s for {options.warmup_s:g}s")
            await asyncio.sleep(options.warmup_s)
            rss_warm = monitor.rss_mb()
            load.phase = "outage"
            _progress(f"stopping PostgreSQL for {options.outage_s:g}s")
            await asyncio.to_thread(stack.postgres.stop)
            stopped_at = time.monotonic()
            await asyncio.sleep(options.outage_s)
            await asyncio.to_thread(stack.postgres.start)
            monitor.database_back_at = time.monotonic()
            _progress(f"PostgreSQL is back; load goes on for {options.recovery_s:g}s")
            load.phase = "recovery"
            await asyncio.sleep(options.recovery_s)
        finally:
            await load.stop()
        load.phase = "after the load"
        _progress(f"{len(load.calls)} calls sent; waiting for their spans")
        stored, complete_s = await wait_for_spans(stack.postgres.url, run_id, len(load.calls), options.drain_timeout_s)
        await asyncio.sleep(0.5)  # one more /metrics sample
        rss_end = monitor.rss_mb()
    finally:
        await monitor.stop()
    stack.stop(glassgate)
    back_at = monitor.database_back_at
    return OutageReport(
        scenario="outage",
        run_id=run_id,
        rate=options.rate,
        outage_s=round(back_at - stopped_at, 2),
        calls=len(load.calls),
        generator_lag_ms=round(load.max_lag_s * 1000, 2),
        first_call_ms=first_call_ms,
        audit=audit(load.calls, stored),
        latency=latency_by_phase(load.calls),
        spans_complete_s=_rounded(complete_s),
        drain_s=_rounded(monitor.drained_at - back_at if monitor.drained_at and back_at else None),
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
    )


def outage_problems(report: OutageReport) -> list[str]:
    problems = []
    a = report.audit
    if report.generator_lag_ms > GENERATOR_LAG_LIMIT_MS:
        problems.append(f"the load generator fell {report.generator_lag_ms} ms behind: the latencies are its own")
    if a.failed:
        problems.append(f"{a.failed} of {a.sent} calls failed: {a.examples}")
    for kind in ("json", "stream"):
        warm, down = report.latency["warmup"][kind].p99_ms, report.latency["outage"][kind].p99_ms
        if warm is not None and down is not None and down > latency_bound_ms(warm):
            problems.append(f"{kind} p99 {down} ms during the outage, {warm} ms before")
    if (a.rows, a.distinct_span_ids, a.lost, a.mismatched) != (report.calls, report.calls, 0, 0):
        problems.append(f"{a.rows} spans stored for {report.calls} calls ({a.lost} lost, {a.mismatched} mismatched)")
    if report.rss.growth_mb > RSS_BUDGET_MB:
        problems.append(f"RSS grew {report.rss.growth_mb} MB (budget {RSS_BUDGET_MB:g})")
    return problems


@dataclass(frozen=True)
class SigtermRound:
    database: str  # "up" or "down" when SIGTERM arrived
    run_id: str
    exit_code: int | None  # None: still running 60 s after SIGTERM (then killed)
    exit_s: float | None
    in_flight_at_signal: int  # calls sent before SIGTERM that had not finished
    in_flight_answered: int
    in_flight_not_accepted: int  # failed without a span (e.g. still in the listen backlog)
    lost_at_exit: int  # answered calls without a span once the first Glassgate had exited
    spill_bytes_at_exit: int
    restart_complete_s: float | None  # the restarted Glassgate: until every answered call has its span
    audit: Audit  # after the restart
    writer_at_exit: str | None  # the exiting Glassgate's last "span writer:" log line
    log_problems: list[str]


@dataclass(frozen=True)
class SigtermReport:
    scenario: str
    rounds: list[SigtermRound]


def run_sigterm(options: Options) -> SigtermReport:
    with running_stack(options.keep_workdir) as stack:
        return SigtermReport("sigterm", [asyncio.run(_sigterm_round(stack, down, options)) for down in (False, True)])


async def _sigterm_round(stack: Stack, database_down: bool, options: Options) -> SigtermRound:
    name = f"sigterm-database-{'down' if database_down else 'up'}"
    glassgate = stack.start_glassgate(name)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    load = Load(glassgate.url, run_id, options, slow_streams=True)
    load.start()
    try:
        _progress(f"{name}: load for {options.warmup_s:g}s, then SIGTERM")
        await asyncio.sleep(options.warmup_s)
        if database_down:
            load.phase = "database down"
            await asyncio.to_thread(stack.postgres.stop)
            await asyncio.sleep(2.0)
        load.phase = "after SIGTERM"
        signalled_at = time.monotonic()
        glassgate.child.process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(_exit_code, glassgate.child.process, 60.0)
        exit_s = time.monotonic() - signalled_at if exit_code is not None else None
        await asyncio.sleep(0.5)  # calls after the exit are refused: not accepted
    finally:
        await load.stop()
        stack.stop(glassgate)
    in_flight = [call for call in load.calls if call.sent_at < signalled_at < call.sent_at + call.latency_s]
    spill_bytes = sum(path.stat().st_size for path in (stack.data_dir / "spill").glob("*.jsonl"))
    if database_down:
        await asyncio.to_thread(stack.postgres.start)
    at_exit = await stored_spans(stack.postgres.url, run_id)
    restarted = stack.start_glassgate(f"{name}-restarted")
    try:
        answered = sum(call.ok for call in load.calls)
        stored, complete_s = await wait_for_spans(stack.postgres.url, run_id, answered, options.drain_timeout_s)
    finally:
        stack.stop(restarted)
    writer_lines = [line for line in glassgate.log().splitlines() if "span writer:" in line]
    return SigtermRound(
        database="down" if database_down else "up",
        run_id=run_id,
        exit_code=exit_code,
        exit_s=_rounded(exit_s),
        in_flight_at_signal=len(in_flight),
        in_flight_answered=sum(call.ok for call in in_flight),
        in_flight_not_accepted=sum(not call.ok and not stored.span_ids_by_seq.get(call.seq) for call in in_flight),
        lost_at_exit=audit(load.calls, at_exit).lost,
        spill_bytes_at_exit=spill_bytes,
        restart_complete_s=_rounded(complete_s),
        audit=audit(load.calls, stored),
        writer_at_exit=writer_lines[-1].split("span writer:", 1)[1].strip() if writer_lines else None,
        log_problems=log_problems(glassgate.log() + restarted.log()),
    )


def _exit_code(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


def sigterm_problems(report: SigtermReport) -> list[str]:
    problems = []
    for round_ in report.rounds:
        a, where = round_.audit, f"database {round_.database}"
        if round_.exit_code != 0:
            problems.append(f"{where}: Glassgate exited with {round_.exit_code} after SIGTERM")
        if a.lost or a.mismatched or a.duplicated:
            problems.append(f"{where}: {a.lost} answered calls lost, {a.mismatched} mismatched, {a.duplicated} dup")
        in_flight_ended_well = round_.in_flight_answered + round_.in_flight_not_accepted
        if a.failed_after_accepted or in_flight_ended_well < round_.in_flight_at_signal:
            problems.append(f"{where}: calls accepted but not answered: {a.examples}")
        if round_.database == "up" and round_.lost_at_exit:
            problems.append(f"{where}: {round_.lost_at_exit} spans were not written before the exit")
    return problems


def _rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def summary(report: OutageReport | SigtermReport) -> str:
    """A few lines for a terminal; --json has everything."""
    if isinstance(report, OutageReport):
        a, rss = report.audit, report.rss
        lines = [
            f"calls: {report.calls} at {report.rate:g}/s (generator lag {report.generator_lag_ms} ms),"
            f" {a.failed} failed; spans stored: {a.rows}"
            f" ({a.distinct_span_ids} distinct, {a.lost} lost)",
            f"PostgreSQL down {report.outage_s}s; spill replayed {report.drain_s}s after it returned;"
            f" all spans stored {report.spans_complete_s}s after the load",
        ]
        for phase, kinds in report.latency.items():
            cells = ", ".join(f"{k} p50 {v.p50_ms} / p99 {v.p99_ms} ms" for k, v in kinds.items() if k != "all")
            lines.append(f"  {phase:<9} {kinds['all'].calls:>5} calls: {cells}")
        lines.append(
            f"RSS MB: ready {rss.ready_mb}, load start {rss.start_mb}, max {rss.max_mb}, end {rss.end_mb}"
            f" (+{rss.growth_mb}); first call {report.first_call_ms} ms"
        )
        lines.append(f"writer: {report.writer}")
        return "\n".join(lines) + "\n"
    lines = []
    for r in report.rounds:
        lines.append(
            f"SIGTERM, database {r.database}: exit {r.exit_code} in {r.exit_s}s; {r.audit.answered} answered,"
            f" {r.audit.failed_not_accepted} refused before acceptance, {r.audit.failed_after_accepted} failed after;"
            f" in flight at the signal {r.in_flight_at_signal}: {r.in_flight_answered} answered,"
            f" {r.in_flight_not_accepted} not accepted; lost at exit {r.lost_at_exit},"
            f" after restart {r.audit.lost}; spill {r.spill_bytes_at_exit} B"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults_pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("outage", "sigterm"), default="outage")
    parser.add_argument("--outage-seconds", type=float, default=30.0, help="how long PostgreSQL stays down")
    parser.add_argument("--rate", type=float, default=40.0, help="calls per second (default 40)")
    parser.add_argument("--clients", type=int, default=4, help="HTTP clients the calls are spread over")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--keep-workdir", action="store_true", help="keep configs and logs of the run")
    args = parser.parse_args(argv)
    options = Options(
        rate=args.rate, clients=args.clients, outage_s=args.outage_seconds, keep_workdir=args.keep_workdir
    )
    # Ctrl-C and SIGTERM must unwind through the cleanup (see bench/run.py).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    report: OutageReport | SigtermReport
    try:
        if args.scenario == "outage":
            report = run_outage(options)
            problems = outage_problems(report)
        else:
            report = run_sigterm(options)
            problems = sigterm_problems(report)
    except BenchError as exc:
        sys.stderr.write(f"bench failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("bench interrupted; its processes are stopped\n")
        return 130
    sys.stdout.write(json.dumps(dataclasses.asdict(report), indent=2) + "\n" if args.json else summary(report))
    for problem in problems:
        sys.stderr.write(f"FAIL: {problem}\n")
    return 1 if problems else 0


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _progress(message: str) -> None:
    sys.stderr.write(f"[faults {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
