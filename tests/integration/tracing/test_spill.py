"""Spill to disk while the database is down; replay in order, exactly once, when it returns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from glassgate.config import TracingSettings
from glassgate.guardrails.engine import Finding
from glassgate.proxy.exchange import Exchange
from glassgate.tracing.span import Span
from glassgate.tracing.spill import SpillStore
from glassgate.tracing.writer import SpanWriter

T0 = datetime(2026, 11, 27, tzinfo=UTC)


def span(number: int) -> Span:
    return Span(
        span_id=f"{number:016x}",
        trace_id=f"{number:032x}",
        project="p",
        kind="llm",
        status="ok",
        started_at=T0 + timedelta(milliseconds=number),
        upstream="openai",
        tags=("a", "b"),
        request_body={"messages": [{"role": "user", "content": f"hi {number}"}]},
        attributes={"n": number},
        cost_usd=0.25,
        findings=(Finding("p", "input", "pii", "EMAIL", 1.0, "redact", "messages[0].content", 3, 12),),
    )


def exchange(number: int) -> Exchange:
    return Exchange(
        span_id=f"{number:016x}",
        upstream="openai",
        vendor="openai",
        method="GET",
        path="/v1/models",
        query="",
        started_at=1735689600.0 + number,
        status=200,
        raw_response_headers=[(b"content-type", b"application/json")],
        chunks=[b'{"data": []}'],
        chunk_times=[0.01],
        ended_at=0.02,
    )


def test_spans_round_trip_in_order(tmp_path: Path) -> None:
    store = SpillStore(tmp_path, max_bytes=10_000_000, segment_bytes=2_000)
    store.append([span(n) for n in range(10)])
    store.append([span(n) for n in range(10, 20)])
    segments = store.segments()
    assert len(segments) > 1, "segments rotate by size"
    replayed = [item for segment in segments for item in store.read(segment)]
    assert replayed == [span(n) for n in range(20)]


def test_the_spill_is_bounded(tmp_path: Path) -> None:
    store = SpillStore(tmp_path / "small", max_bytes=1_000)
    dropped = store.append([span(n) for n in range(20)])
    assert 0 < dropped < 20 and store.size <= 1_000


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    store = SpillStore(tmp_path, max_bytes=10**9)
    store.append([span(1), span(2)])
    segment = store.segments()[0]
    segment.write_bytes(segment.read_bytes() + b'{"span_id": "torn')
    assert store.read(segment) == [span(1), span(2)]


class FlakyDatabase:
    def __init__(self) -> None:
        self.up = True
        self.rows: list[Span] = []

    async def insert(self, spans: object) -> None:
        if not self.up:
            raise ConnectionRefusedError("database down")
        assert isinstance(spans, list)
        known = {row.span_id for row in self.rows}
        self.rows.extend(item for item in spans if item.span_id not in known)  # ON CONFLICT DO NOTHING


async def test_outage_spills_and_recovery_replays_in_order(tmp_path: Path) -> None:
    database = FlakyDatabase()
    settings = TracingSettings(queue_size=50, batch_size=10, flush_interval_ms=5)
    writer = SpanWriter(database.insert, settings, spill=SpillStore(tmp_path, 10**9))
    writer.start()
    database.up = False
    for number in range(500):  # ten times the queue: only the spill can hold them
        writer.submit(exchange(number))
        while writer.depth > 25:  # a bursty client; the writer gets the loop between bursts
            await asyncio.sleep(0.005)
    await asyncio.sleep(0.2)
    assert writer.counters.dropped == 0 and writer.counters.spilled == 500
    assert writer.depth == 0, "memory stays bounded: the queue is drained into the spill"
    database.up = True
    for _ in range(200):
        if len(database.rows) == 500:
            break
        await asyncio.sleep(0.05)
    await writer.stop()
    assert [row.span_id for row in database.rows] == [f"{n:016x}" for n in range(500)], "in order, exactly once"
    assert writer.counters.replayed == 500 and not list(tmp_path.glob("*.jsonl"))


async def test_shutdown_during_an_outage_keeps_spans_for_the_next_start(tmp_path: Path) -> None:
    database = FlakyDatabase()
    database.up = False
    settings = TracingSettings(queue_size=100, batch_size=10, flush_interval_ms=5)
    first = SpanWriter(database.insert, settings, spill=SpillStore(tmp_path, 10**9))
    first.start()
    for number in range(30):
        first.submit(exchange(number))
    await first.stop(timeout_s=5)
    assert database.rows == [] and first.counters.spilled == 30
    database.up = True
    second = SpanWriter(database.insert, settings, spill=SpillStore(tmp_path, 10**9))
    second.start()
    for _ in range(100):
        if len(database.rows) == 30:
            break
        await asyncio.sleep(0.02)
    await second.stop()
    assert sorted(row.span_id for row in database.rows) == [f"{n:016x}" for n in range(30)]
