"""Scenario `streams`: 1,000 streamed chat completions open through Glassgate at the same time.

Each client opens its own connection and asks the bench's mock upstream for a slow stream
(`STREAM_CHUNKS` events over `Options.stream_s`, 10 s by default); the connects are spread over a couple of
seconds, so every stream is open at once for several seconds. Memory of Glassgate and of its
PostgreSQL (every process of the bench's server) is sampled throughout: RSS summed over the
processes, and PSS (shared pages split between their sharers, the honest sum for PostgreSQL,
whose shared buffers every backend maps). Every stream must arrive whole and be traced: one
span each, status ok, the one its `x-glassgate-span-id` named.

`proxy.max_connections_per_upstream` is raised to 1,100 for this run: at its default (512) half
the streams would wait for an upstream connection instead of streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from dataclasses import dataclass, replace

import orjson

from bench.faults.audit import span_rows, wait_for_spans
from bench.faults.load import CHAT_PATH
from bench.faults.sampler import Sample, Sampler, peak
from bench.faults.scenario import Options, progress
from bench.faults.stack import Glassgate, log_problems, running_stack
from bench.faults.under_load import prime
from bench.procs import Tree

STREAM_CHUNKS = 20
CONNECT_SPREAD_S = 2.0
# Glassgate and its PostgreSQL together, in PSS: an RSS sum counts PostgreSQL's shared buffers and
# binaries once per backend (~130 MB for a dozen backends here, before any call), PSS once in all.
TREE_BUDGET_MB = 300.0
STREAM_TIMEOUT_S = 120.0


@dataclass
class Stream:
    seq: int
    status: int | None = None
    span_id: str | None = None
    events: int = 0
    done: bool = False  # data: [DONE] and the chunked body's end arrived
    started_at: float = 0.0
    first_event_s: float | None = None
    ended_after_s: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class StreamsReport:
    scenario: str
    run_id: str
    streams: int
    completed: int  # whole stream, [DONE] included
    failed: int
    traced: int  # exactly one span, status ok, the id the client was told
    span_problems: dict[str, int]  # missing / duplicated / wrong id / status → streams
    open_at_once: int  # streams open at the same moment, at most
    first_event_ms: dict[str, float | None]  # p50, max
    stream_s: float  # how long the upstream takes over each stream
    duration_s: dict[str, float | None]  # p50, max, as the clients saw them
    baseline_mb: dict[str, float | None]  # before the streams: glassgate RSS, tree RSS, tree PSS
    peak_mb: dict[str, float | None]  # while they ran
    end_mb: dict[str, float | None]  # once every span was written
    fds_peak: int
    log_problems: list[str]


def run_streams(options: Options) -> StreamsReport:
    with running_stack(options.keep_workdir) as stack:
        glassgate = stack.start_glassgate("glassgate", config={"proxy": {"max_connections_per_upstream": 1100}})
        tree = Tree(glassgate.child.pid, postgres_marker=str(stack.postgres.pgdata))
        report = asyncio.run(_run(glassgate, tree, stack.postgres.url, options))
        stack.stop(glassgate)
        return replace(report, log_problems=log_problems(glassgate.log()))


async def _run(glassgate: Glassgate, tree: Tree, database_url: str, options: Options) -> StreamsReport:
    await prime(glassgate)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    phase = "before"
    sampler = Sampler(glassgate.child.pid, 1.0, lambda: phase, tree)
    baseline = await asyncio.to_thread(sampler.sample)
    sampler.start()
    streams = [Stream(seq) for seq in range(options.streams)]
    progress(
        f"{options.streams} streams of {STREAM_CHUNKS} events over {options.stream_s:g}s,"
        f" connecting over {CONNECT_SPREAD_S:g}s"
    )
    phase = "streams"
    host, port = glassgate.url.removeprefix("http://").split(":")
    spread = CONNECT_SPREAD_S / max(1, options.streams)
    delay_ms = options.stream_s * 1000 / STREAM_CHUNKS
    await asyncio.gather(
        *(_stream(host, int(port), run_id, stream, stream.seq * spread, delay_ms) for stream in streams)
    )
    phase = "after"
    progress("every stream ended; waiting for their spans")
    await wait_for_spans(database_url, run_id, options.streams, options.drain_timeout_s)
    end = await asyncio.to_thread(sampler.sample)
    await sampler.stop()
    spans = await span_rows(database_url, run_id)
    problems: dict[str, int] = {}
    traced = 0
    for stream in streams:
        rows = spans.get(stream.seq, [])
        if not rows:
            problem = "missing"
        elif len(rows) > 1:
            problem = "duplicated"
        elif rows[0].span_id != stream.span_id:
            problem = "wrong id"
        elif rows[0].status != "ok" or not rows[0].output_tokens:
            problem = f"status {rows[0].status}, {rows[0].output_tokens} output tokens"
        else:
            traced += 1
            continue
        problems[problem] = problems.get(problem, 0) + 1
    during = sampler.of_phase("streams")
    firsts = [s.first_event_s * 1000 for s in streams if s.first_event_s is not None]
    durations = [s.ended_after_s for s in streams if s.ended_after_s is not None and s.done]
    return StreamsReport(
        scenario="streams",
        run_id=run_id,
        streams=options.streams,
        completed=sum(stream.done for stream in streams),
        failed=sum(not stream.done for stream in streams),
        traced=traced,
        span_problems=problems,
        open_at_once=_most_open_at_once(streams),
        first_event_ms=_p50_max(firsts),
        stream_s=options.stream_s,
        duration_s=_p50_max(durations),
        baseline_mb=_memory([baseline]),
        peak_mb=_memory(during),
        end_mb=_memory([end]),
        fds_peak=max((sample.fds for sample in during), default=0),
        log_problems=[],
    )


async def _stream(host: str, port: int, run_id: str, stream: Stream, delay_s: float, delay_ms: float) -> None:
    await asyncio.sleep(delay_s)
    body = orjson.dumps(
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": f"stream {stream.seq}"}],
            "stream": True,
            "bench": {"chunks": STREAM_CHUNKS, "delay_ms": delay_ms},
        }
    )
    head = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer sk-bench\r\nx-glassgate-session-id: {run_id}\r\n"
        f"x-glassgate-metadata-seq: {stream.seq}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode()
    stream.started_at = time.monotonic()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(head + body)
            response_head = await reader.readuntil(b"\r\n\r\n")
            _read_head(response_head, stream)
            received = b""
            while not received.endswith(b"0\r\n\r\n"):
                piece = await reader.read(65536)
                if not piece:
                    raise ConnectionError("closed before the end of the stream")
                if stream.first_event_s is None:
                    stream.first_event_s = time.monotonic() - stream.started_at
                received = received[-16:] + piece  # only the tail matters for the end marker
                stream.events += piece.count(b"data: ")
                stream.done = stream.done or b"data: [DONE]" in received
            stream.ended_after_s = round(time.monotonic() - stream.started_at, 2)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        stream.error = f"{type(exc).__name__}: {exc}"
        stream.done = False
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    stream.done = stream.done and stream.error is None and stream.status == 200


def _read_head(head: bytes, stream: Stream) -> None:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    stream.status = int(status_line.split(" ")[1])
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-glassgate-span-id":
            stream.span_id = value.strip()


def _memory(samples: list[Sample]) -> dict[str, float | None]:
    """The highest of the samples: Glassgate's RSS, and RSS and PSS summed over it and its PostgreSQL."""
    return {
        "glassgate_rss": peak(samples, "rss_mb"),
        "tree_rss": peak(samples, "tree_rss_mb"),
        "tree_pss": peak(samples, "tree_pss_mb"),
    }


def _most_open_at_once(streams: list[Stream]) -> int:
    events = []
    for stream in streams:
        if stream.ended_after_s is not None:
            events += [(stream.started_at, 1), (stream.started_at + stream.ended_after_s, -1)]
    most = current = 0
    for _, change in sorted(events):
        current += change
        most = max(most, current)
    return most


def _p50_max(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "max": None}
    return {"p50": round(statistics.median(values), 2), "max": round(max(values), 2)}


def streams_problems(report: StreamsReport) -> list[str]:
    found = []
    if report.failed:
        found.append(f"{report.failed} of {report.streams} streams did not arrive whole")
    if report.traced != report.streams:
        found.append(f"{report.streams - report.traced} streams not traced as they should be: {report.span_problems}")
    if report.open_at_once < report.streams * 0.95:
        found.append(f"only {report.open_at_once} streams were open at once (of {report.streams})")
    total = report.peak_mb["tree_pss"]
    if total is None or total > TREE_BUDGET_MB:
        found.append(f"Glassgate and its PostgreSQL peaked at {total} MB (PSS; budget {TREE_BUDGET_MB:g})")
    if report.log_problems:
        found.append(f"errors logged: {report.log_problems}")
    return found


def streams_summary(report: StreamsReport) -> str:
    return (
        f"streams: {report.streams}, open at once {report.open_at_once}, completed {report.completed},"
        f" failed {report.failed}, traced {report.traced} {report.span_problems or ''}\n"
        f"first event ms {report.first_event_ms}; duration s {report.duration_s}"
        f" (upstream alone {report.stream_s:g}s)\n"
        f"MB before {report.baseline_mb}\nMB peak   {report.peak_mb} (budget: tree PSS < {TREE_BUDGET_MB:g})\n"
        f"MB after  {report.end_mb}; open files at peak {report.fds_peak}\n"
    )
