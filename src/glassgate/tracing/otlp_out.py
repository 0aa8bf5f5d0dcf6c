"""Export spans as OTLP/HTTP protobuf to any OpenTelemetry collector or backend.

Best effort by design: the spans are already safe in PostgreSQL, so an exporter outage only
costs exported copies, dropped and counted, never memory (the queue is bounded) or the
proxy's time (it runs in its own task, after the span writer built the span). The span keeps
Glassgate's ids, so `x-glassgate-span-id` finds it in the backend too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from yarl import URL

from glassgate.config import OtlpSettings
from glassgate.errors import UpstreamError
from glassgate.proxy.http1 import ConnectionPool
from glassgate.tracing.semconv import AttributeValue, attributes, span_name
from glassgate.tracing.span import Span

log = logging.getLogger(__name__)


def _value(value: AttributeValue) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=str(item)) for item in value]))
    return AnyValue(string_value=str(value))


def to_otlp(span: Span, *, capture_messages: bool) -> OtlpSpan:
    start = int(span.started_at.timestamp() * 1e9)
    end = start + int((span.latency_ms or 0.0) * 1e6)
    status = (
        Status(code=Status.STATUS_CODE_ERROR, message=span.error or span.status) if span.status == "error" else Status()
    )
    return OtlpSpan(
        trace_id=bytes.fromhex(span.trace_id),
        span_id=bytes.fromhex(span.span_id),
        parent_span_id=bytes.fromhex(span.parent_span_id) if span.parent_span_id else b"",
        name=span_name(span),
        kind=OtlpSpan.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=[
            KeyValue(key=key, value=_value(value))
            for key, value in attributes(span, capture_messages=capture_messages).items()
        ],
        status=status,
    )


def export_request(spans: list[Span], settings: OtlpSettings) -> bytes:
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=settings.service_name))])
    scope = InstrumentationScope(name="glassgate")
    converted = [to_otlp(span, capture_messages=settings.capture_messages) for span in spans]
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=converted)])]
    )
    serialized: bytes = request.SerializeToString()
    return serialized


class OtlpExporter:
    """A bounded queue and one task that posts batches every `schedule_delay_s` or when full."""

    def __init__(self, settings: OtlpSettings) -> None:
        assert settings.endpoint is not None
        self._settings = settings
        url = URL(settings.endpoint)
        self._target = url.raw_path_qs or "/v1/traces"
        self._pool = ConnectionPool(
            url.scheme,
            str(url.host),
            int(url.port or 443),
            connect_timeout=settings.timeout_s,
            read_timeout=settings.timeout_s,
            max_connections=2,
        )
        self._headers = [("Content-Type", "application/x-protobuf"), *settings.headers.items()]
        self._queue: deque[Span] = deque()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.exported = 0
        self.dropped = 0

    def submit(self, span: Span) -> None:
        if len(self._queue) >= self._settings.max_queue_size:
            self.dropped += 1
            return
        self._queue.append(span)
        if len(self._queue) >= self._settings.max_export_batch_size:
            self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="glassgate-otlp-exporter")

    async def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            self._task.cancel()
        await self._pool.close()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._settings.schedule_delay_s)
                self._wakeup.clear()
                continue
            size = self._settings.max_export_batch_size
            batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
            await self._post(batch)

    async def _post(self, batch: list[Span]) -> None:
        body = export_request(batch, self._settings)
        try:
            response = await self._pool.request("POST", self._target, self._headers, body)
            try:
                async for _ in response:
                    pass
            finally:
                response.release()
        except (UpstreamError, ValueError) as exc:
            self.dropped += len(batch)
            log.warning("OTLP export of %d spans failed: %s", len(batch), exc)
            return
        if response.status >= 300:
            self.dropped += len(batch)
            log.warning("OTLP endpoint answered %d; %d spans not exported", response.status, len(batch))
            return
        self.exported += len(batch)
