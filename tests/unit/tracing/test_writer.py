"""Unit tests for `glassgate.tracing.writer.SpanWriter` with an in-memory inserter (no database)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence

import orjson
import pytest

from glassgate.config import TracingSettings
from glassgate.proxy.exchange import Exchange
from glassgate.tracing import tokens
from glassgate.tracing import writer as writer_module
from glassgate.tracing.span import Span
from glassgate.tracing.writer import SpanWriter

_real_sleep = asyncio.sleep


class FakeInserter:
    """Records every batch it is given; raises OSError for the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0
        self.batches: list[list[Span]] = []

    async def __call__(self, spans: Sequence[Span]) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise OSError("connection refused")
        self.batches.append(list(spans))

    @property
    def span_ids(self) -> list[str]:
        return [span.span_id for batch in self.batches for span in batch]


class StuckInserter:
    """Never returns, like a database that accepted the connection and then went silent."""

    def __init__(self) -> None:
        self.cancelled = False

    async def __call__(self, spans: Sequence[Span]) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def make_exchange(
    number: int = 0, *, request_body: bytes = b"", captured_bytes: int = 0, vendor: str = "openai"
) -> Exchange:
    return Exchange(
        span_id=f"{number:016x}",
        upstream="openai",
        vendor=vendor,
        method="GET",
        path="/v1/models",
        query="",
        started_at=1735689600.0,
        request_body=request_body,
        status=200,
        raw_response_headers=[(b"content-type", b"application/json")],
        chunks=[b'{"data": []}'],
        chunk_times=[0.01],
        captured_bytes=captured_bytes,
        ended_at=0.02,
    )


def settings(queue_size: int = 100, batch_size: int = 10, flush_interval_ms: int = 60_000) -> TracingSettings:
    return TracingSettings(queue_size=queue_size, batch_size=batch_size, flush_interval_ms=flush_interval_ms)


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await _real_sleep(0.001)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the writer's backoff instant and record each delay it asked for (not its bare yields)."""
    recorded: list[float] = []

    async def fake_sleep(delay: float) -> None:
        if delay:
            recorded.append(delay)
        await _real_sleep(0)

    # The writer calls `asyncio.sleep` through the module, so this patches its backoff for this test only.
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return recorded


# --- submit: the bounded queue ----------------------------------------------------------------


def test_submit_queues_without_a_running_writer() -> None:
    writer = SpanWriter(FakeInserter(), settings())
    for number in range(3):
        writer.submit(make_exchange(number))
    assert writer.depth == 3
    assert writer.counters.queued == 3
    assert writer.counters.dropped == 0


def test_full_queue_by_count_drops_and_counts() -> None:
    writer = SpanWriter(FakeInserter(), settings(queue_size=2))
    for number in range(5):
        writer.submit(make_exchange(number))
    assert writer.depth == 2
    assert writer.counters.queued == 2
    assert writer.counters.dropped == 3


def test_full_queue_by_bytes_drops_and_counts() -> None:
    writer = SpanWriter(FakeInserter(), settings(), max_queued_bytes=100)
    writer.submit(make_exchange(0, request_body=b"x" * 20, captured_bytes=40))  # 60 bytes
    writer.submit(make_exchange(1, request_body=b"x" * 20, captured_bytes=40))  # 120 > 100: dropped
    writer.submit(make_exchange(2, captured_bytes=40))  # exactly 100: fits
    writer.submit(make_exchange(3, request_body=b"x"))  # 101: dropped
    assert writer.depth == 2
    assert writer.counters.dropped == 2
    assert writer.counters.queued == 2


def test_drop_warning_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    writer = SpanWriter(FakeInserter(), settings(queue_size=1))
    with caplog.at_level(logging.WARNING, logger="glassgate.tracing.writer"):
        for number in range(4):
            writer.submit(make_exchange(number))
    warnings = [record for record in caplog.records if "trace queue full" in record.getMessage()]
    assert len(warnings) == 1
    assert writer.counters.dropped == 3


# --- the writing task -------------------------------------------------------------------------


async def test_stop_without_start_keeps_the_queue() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange())
    await writer.stop()
    assert inserter.calls == 0
    assert writer.depth == 1


async def test_stop_drains_everything_in_batches() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings(batch_size=3))
    for number in range(7):
        writer.submit(make_exchange(number))
    writer.start()
    await writer.stop()
    assert [len(batch) for batch in inserter.batches] == [3, 3, 1]
    assert inserter.span_ids == [f"{number:016x}" for number in range(7)]
    assert writer.counters.written == 7
    assert writer.depth == 0


async def test_spans_are_built_from_the_exchanges() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange(42))
    writer.start()
    await writer.stop()
    [span] = inserter.batches[0]
    assert span.span_id == "000000000000002a"
    assert (span.vendor, span.operation, span.status, span.http_status) == ("openai", "generic", "ok", 200)
    assert span.response_body == {"data": []}


async def test_the_tokenizer_loads_off_the_event_loop_at_the_first_call_without_usage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tokens, "_loaded", {})  # as in a fresh process: nothing loads at start
    loaded_in: list[threading.Thread] = []
    real_get_encoding = tokens.get_encoding

    def recording_get_encoding(name: str, *, load: bool = True) -> object:
        if load and name not in tokens._loaded:
            loaded_in.append(threading.current_thread())
        return real_get_encoding(name, load=load)

    monkeypatch.setattr(tokens, "get_encoding", recording_get_encoding)
    monkeypatch.setattr(writer_module, "get_encoding", recording_get_encoding)
    answer = {"choices": [{"message": {"role": "assistant", "content": "Paris is the capital of France."}}]}
    exchange = make_exchange(7, request_body=b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}')
    exchange.path, exchange.method, exchange.chunks = "/v1/chat/completions", "POST", [orjson.dumps(answer)]
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings())
    writer.submit(exchange)
    writer.start()
    await writer.stop()
    [span] = inserter.batches[0]
    assert span.usage_estimated and span.output_tokens == 7
    assert loaded_in and threading.main_thread() not in loaded_in, "the vocabulary must load in a worker thread"
    assert "o200k_base" in tokens._loaded


async def test_a_full_batch_wakes_the_writer_before_the_interval() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings(batch_size=2, flush_interval_ms=60_000))
    writer.start()
    await _real_sleep(0.01)
    writer.submit(make_exchange(0))
    writer.submit(make_exchange(1))
    await wait_until(lambda: writer.counters.written == 2)
    assert [len(batch) for batch in inserter.batches] == [2]
    await writer.stop()


async def test_a_partial_batch_waits_for_the_interval() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings(batch_size=10, flush_interval_ms=60_000))
    writer.start()
    await _real_sleep(0.01)
    writer.submit(make_exchange(0))
    await _real_sleep(0.05)
    assert inserter.calls == 0
    await writer.stop()
    assert writer.counters.written == 1


async def test_a_short_interval_flushes_a_partial_batch() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings(batch_size=100, flush_interval_ms=5))
    writer.start()
    await _real_sleep(0.01)
    writer.submit(make_exchange(0))
    await wait_until(lambda: writer.counters.written == 1)
    assert inserter.span_ids == ["0000000000000000"]
    await writer.stop()


async def test_written_exchanges_free_their_bytes() -> None:
    writer = SpanWriter(FakeInserter(), settings(batch_size=1, flush_interval_ms=5), max_queued_bytes=100)
    writer.start()
    writer.submit(make_exchange(0, captured_bytes=60))
    await wait_until(lambda: writer.counters.written == 1)
    writer.submit(make_exchange(1, captured_bytes=60))
    assert writer.counters.dropped == 0
    await writer.stop()
    assert writer.counters.written == 2


async def test_capture_failure_stores_the_span_unparsed() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange(0, vendor="no-such-vendor"))
    writer.submit(make_exchange(1))
    writer.start()
    await writer.stop()
    assert writer.counters.capture_failed == 1
    assert writer.counters.written == 2
    unparsed, parsed = inserter.batches[0]
    assert (unparsed.span_id, unparsed.operation) == ("0000000000000000", "unparsed")
    assert unparsed.attributes["capture_error"] == "KeyError: 'no-such-vendor'"
    assert (parsed.span_id, parsed.operation) == ("0000000000000001", "generic")


async def test_insert_failure_retries_the_same_batch_with_backoff(sleeps: list[float]) -> None:
    inserter = FakeInserter(failures=3)
    writer = SpanWriter(inserter, settings(batch_size=5))
    writer.submit(make_exchange(0))
    writer.submit(make_exchange(1))
    writer.start()
    await wait_until(lambda: writer.counters.written == 2)
    assert sleeps == [0.1, 0.2, 0.4]
    assert writer.counters.write_failures == 3
    assert inserter.calls == 4
    assert inserter.span_ids == ["0000000000000000", "0000000000000001"]
    await writer.stop()


async def test_backoff_is_capped(sleeps: list[float]) -> None:
    inserter = FakeInserter(failures=8)
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange(0))
    writer.start()
    await wait_until(lambda: writer.counters.written == 1)
    assert sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    await writer.stop()


async def test_backoff_resets_after_a_success(sleeps: list[float]) -> None:
    inserter = FakeInserter(failures=2)
    writer = SpanWriter(inserter, settings(flush_interval_ms=5))
    writer.submit(make_exchange(0))
    writer.start()
    await wait_until(lambda: writer.counters.written == 1)
    inserter.failures = 1
    writer.submit(make_exchange(1))
    await wait_until(lambda: writer.counters.written == 2)
    assert sleeps == [0.1, 0.2, 0.1]
    await writer.stop()


async def test_gives_up_at_shutdown_when_the_database_stays_down(sleeps: list[float]) -> None:
    inserter = FakeInserter(failures=1_000)
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange(0))
    writer.submit(make_exchange(1))
    writer.start()
    await writer.stop(timeout_s=5.0)
    assert writer.counters.written == 0
    assert writer.counters.write_failures == 4
    assert inserter.calls == 4
    assert len(sleeps) == 3


async def test_earlier_outages_do_not_shorten_the_shutdown_retries(sleeps: list[float]) -> None:
    inserter = FakeInserter(failures=4)
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange(0))
    writer.start()
    await wait_until(lambda: writer.counters.written == 1)  # recovered after 4 failures
    inserter.failures = 1  # one transient failure during shutdown
    writer.submit(make_exchange(1))
    await writer.stop(timeout_s=5.0)
    assert writer.counters.written == 2


async def test_stop_timeout_cancels_a_stuck_writer() -> None:
    inserter = StuckInserter()
    writer = SpanWriter(inserter, settings())
    writer.submit(make_exchange(0))
    writer.start()
    await writer.stop(timeout_s=0.05)
    await wait_until(lambda: inserter.cancelled)
    assert writer.counters.written == 0


async def test_the_next_batch_is_built_while_one_is_written_but_writes_never_overlap() -> None:
    in_progress = 0
    overlapped = False
    built_during_write: list[int] = []
    order: list[str] = []
    writer: SpanWriter

    async def slow_insert(spans: Sequence[Span]) -> None:
        nonlocal in_progress, overlapped
        in_progress += 1
        overlapped |= in_progress > 1
        queued_before = writer.depth
        await _real_sleep(0.02)
        built_during_write.append(queued_before - writer.depth)
        order.extend(span.span_id for span in spans)
        in_progress -= 1

    writer = SpanWriter(slow_insert, settings(batch_size=10))
    for number in range(40):
        writer.submit(make_exchange(number))
    writer.start()
    await writer.stop()
    assert order == [f"{number:016x}" for number in range(40)], "batches are written in order"
    assert not overlapped, "one write at a time"
    assert any(built > 0 for built in built_during_write), "capture of the next batch overlaps the write"


async def test_under_steady_traffic_a_partial_batch_waits_out_the_interval() -> None:
    """Calls arriving while a batch is written are not taken at once, a few at a time, but
    gathered until the flush interval has passed since the previous batch was taken."""
    taken_at: list[float] = []
    writer: SpanWriter

    async def slow_insert(spans: Sequence[Span]) -> None:
        taken_at.append(time.monotonic())
        if len(taken_at) < 4:  # traffic keeps coming while the batch is written: the queue is never empty
            writer.submit(make_exchange(100 + len(taken_at)))
        await _real_sleep(0.01)

    writer = SpanWriter(slow_insert, settings(batch_size=100, flush_interval_ms=150))
    writer.submit(make_exchange(0))
    writer.start()
    await wait_until(lambda: len(taken_at) == 4)
    await writer.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(taken_at)]
    assert len(gaps) == 3 and all(gap >= 0.14 for gap in gaps), gaps


async def test_a_full_batch_does_not_wait_out_the_interval_under_steady_traffic() -> None:
    inserter = FakeInserter()
    writer = SpanWriter(inserter, settings(batch_size=5, queue_size=100, flush_interval_ms=60_000))
    for number in range(12):
        writer.submit(make_exchange(number))
    writer.start()
    await wait_until(lambda: writer.counters.written == 10)
    assert [len(batch) for batch in inserter.batches] == [5, 5]
    await writer.stop()
    assert writer.counters.written == 12


class _LoopTurns:
    """Counts the event loop's turns, as a proxied call in flight would see them advance."""

    def __init__(self) -> None:
        self.turns = 0
        self._task: asyncio.Task[None] | None = None

    async def _spin(self) -> None:
        while True:
            self.turns += 1
            await _real_sleep(0)

    def __enter__(self) -> _LoopTurns:
        self._task = asyncio.create_task(self._spin())
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _most_spans_built_in_one_turn(queued: int, batch_size: int) -> tuple[int, list[int]]:
    """Build `queued` spans in batches of `batch_size`; the most built without a yield, and the encode slices."""
    encode_slices: list[int] = []

    async def prepare(spans: list[Span], slice_size: int) -> list[Span]:
        encode_slices.append(slice_size)
        return spans

    built_at_turn: list[int] = []
    with _LoopTurns() as loop:
        writer = SpanWriter(
            FakeInserter(),
            settings(batch_size=batch_size, queue_size=queued, flush_interval_ms=5),
            prepare=prepare,
            observe=lambda span: built_at_turn.append(loop.turns),
        )
        for number in range(queued):
            writer.submit(make_exchange(number))
        writer.start()
        await wait_until(lambda: writer.counters.written == queued)
        await writer.stop()
    return max(collections.Counter(built_at_turn).values()), encode_slices


async def test_capture_yields_to_the_event_loop_every_few_spans() -> None:
    most, encode_slices = await _most_spans_built_in_one_turn(queued=32, batch_size=64)
    assert most == writer_module._SLICES.build
    assert encode_slices == [writer_module._SLICES.encode]


async def test_capture_takes_larger_slices_when_the_writer_is_behind() -> None:
    # A full batch queued when the writer takes one: it is falling behind, and small slices
    # would give it too small a share of the loop to catch up.
    most, encode_slices = await _most_spans_built_in_one_turn(queued=64, batch_size=32)
    assert most == writer_module._SLICES_BEHIND.build > writer_module._SLICES.build
    assert encode_slices[0] == writer_module._SLICES_BEHIND.encode
