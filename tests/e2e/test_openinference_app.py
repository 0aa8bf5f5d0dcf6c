"""An app instrumented with openinference-instrumentation-openai sends its spans to Glassgate's
`/v1/traces`, and they join the proxy's span of the same call in one trace.

The app is built the way users build theirs: an OpenTelemetry SDK `TracerProvider` with the
OTLP/HTTP exporter, `OpenAIInstrumentor`, and the official openai SDK pointed at Glassgate.
It runs in the test process with a local provider (never the global one), and is
uninstrumented afterwards.

The instrumentor does not propagate context over HTTP: its span is only made current
around `OpenAI.request`. So the app adds W3C `traceparent` itself, with an event hook on the
SDK's HTTP client that injects the current span's context, which is what users do (or
install opentelemetry-instrumentation-httpx). The proxy's span is therefore the child of the
instrumentor's LLM span, which is the child of the app's agent span.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openinference.instrumentation import using_attributes
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tests.fakes import openai_fixtures as fx
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, openai_config, start_glassgate

PROPAGATOR = TraceContextTextMapPropagator()


class App:
    """The instrumented app's tracing: what it exports to Glassgate, and a copy it keeps."""

    def __init__(self, glassgate: GlassgateProcess) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": "support-app"}))
        self.provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(
                    endpoint=f"{glassgate.url}/v1/traces",
                    headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
                    timeout=10,
                )
            )
        )
        self.kept = InMemorySpanExporter()
        self.provider.add_span_processor(SimpleSpanProcessor(self.kept))
        self.proxy_span_ids: list[str] = []

    def inject_traceparent(self, request: httpx2.Request) -> None:
        PROPAGATOR.inject(request.headers)

    def remember_span_id(self, response: httpx2.Response) -> None:
        self.proxy_span_ids.append(response.headers["x-glassgate-span-id"])

    def finished(self, name: str) -> ReadableSpan:
        spans = [span for span in self.kept.get_finished_spans() if span.name == name]
        assert len(spans) == 1, [span.name for span in self.kept.get_finished_spans()]
        return spans[0]


@pytest.fixture
def glassgate(tmp_path: Path, database_url: str) -> Iterator[GlassgateProcess]:
    upstream = ServerThread(FakeVendor().app()).start()
    config = openai_config(tmp_path / "data", database_url, upstream.url, tracing={"flush_interval_ms": 10})
    process = start_glassgate(config, tmp_path / "gg")
    try:
        yield process
    finally:
        process.stop()
        upstream.stop()


@pytest.fixture
def app(glassgate: GlassgateProcess) -> Iterator[App]:
    app = App(glassgate)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=app.provider)
    try:
        yield app
    finally:
        instrumentor.uninstrument()
        app.provider.shutdown()


def hex_ids(span: ReadableSpan) -> tuple[str, str, str | None]:
    """(trace id, span id, parent span id) as 32/16 hex digits."""
    context = span.get_span_context()
    assert context is not None
    parent = f"{span.parent.span_id:016x}" if span.parent is not None else None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}", parent


def test_instrumented_app_and_proxy_share_one_trace(glassgate: GlassgateProcess, app: App) -> None:
    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [app.inject_traceparent],
        "response": [app.remember_span_id],
    }
    tracer = app.provider.get_tracer("support-app")
    agent_attributes = {"openinference.span.kind": "AGENT", "session.id": "s-42", "user.id": "u-7"}
    with httpx2.Client(event_hooks=hooks, timeout=10) as http_client:
        client = openai.OpenAI(
            base_url=f"{glassgate.url}/openai/v1", api_key="sk-test", max_retries=0, http_client=http_client
        )
        # `using_attributes` is how OpenInference users tag the instrumentor's spans with a session.
        with (
            tracer.start_as_current_span("support-agent", attributes=agent_attributes),
            using_attributes(session_id="s-42", user_id="u-7"),
        ):
            completion = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Where is my order?"}]
            )
    assert completion.choices[0].message.content == fx.TEXT
    assert app.provider.force_flush(timeout_millis=15_000), "the app's spans were not exported in 15 s"

    trace_id, agent_id, agent_parent = hex_ids(app.finished("support-agent"))
    llm = app.finished("ChatCompletion")  # the instrumentor's span
    llm_trace, llm_id, llm_parent = hex_ids(llm)
    assert agent_parent is None and (llm_trace, llm_parent) == (trace_id, agent_id)
    sent: dict[str, Any] = dict(llm.attributes or {})
    assert sent["openinference.span.kind"] == "LLM" and sent["llm.model_name"] == fx.SERVED_MODEL
    assert [sent["llm.token_count.prompt"], sent["llm.token_count.completion"]] == [12, 6]
    [proxied] = app.proxy_span_ids
    glassgate.span(proxied)  # waits for the proxy's span writer
    response = glassgate.api(f"/traces/{trace_id}")
    assert response.status_code == 200, f"{response.text}\n{glassgate.log()[-3000:]}"
    by_id = {span["span_id"]: span for span in response.json()["spans"]}
    assert set(by_id) == {agent_id, llm_id, proxied}, f"{by_id}\n{glassgate.log()[-3000:]}"

    agent = by_id[agent_id]
    assert (agent["kind"], agent["parent_span_id"], agent["status"]) == ("agent", None, "ok")
    assert (agent["session_id"], agent["user_id"]) == ("s-42", "u-7")
    assert agent["attributes"]["service.name"] == "support-app" and agent["project"] == "default"

    ingested = by_id[llm_id]  # the instrumentor's OpenInference attributes, on the neutral fields
    assert (ingested["kind"], ingested["parent_span_id"], ingested["status"]) == ("llm", agent_id, "ok")
    # OpenInference carries one model name, the response's (`llm.model_name`); `llm.system` gives the vendor.
    assert (ingested["vendor"], ingested["model"]) == ("openai", fx.SERVED_MODEL)
    tokens = [ingested[f"{key}_tokens"] for key in ("input", "output", "cached", "reasoning")]
    assert tokens == [12, 6, 4, 2], ingested
    assert ingested["session_id"] == "s-42" and ingested["user_id"] == "u-7"
    assert ingested["attributes"]["llm.input_messages.0.message.content"] == "Where is my order?"
    assert ingested["attributes"]["otel.name"] == "ChatCompletion"

    proxy = by_id[proxied]  # the proxy's own record of the same call, one level down
    assert (proxy["kind"], proxy["parent_span_id"], proxy["upstream"]) == ("llm", llm_id, "openai")
    assert (proxy["model"], proxy["response_model"]) == ("gpt-4o-mini", fx.SERVED_MODEL)
    assert (proxy["input_tokens"], proxy["output_tokens"]) == (12, 6)
    started = {span_id: datetime.fromisoformat(by_id[span_id]["started_at"]) for span_id in by_id}
    assert started[agent_id] <= started[llm_id] <= started[proxied], started
    assert proxy["latency_ms"] <= ingested["latency_ms"] <= agent["latency_ms"]
