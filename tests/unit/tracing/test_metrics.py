"""Prometheus metrics from spans: values, labels, and a bound on client-chosen label values."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from glassgate.tracing.metrics import MAX_MODELS, Metrics
from glassgate.tracing.span import Span


def span(model: str = "gpt-4o-mini", status: str = "ok", **fields: object) -> Span:
    values: dict[str, object] = {
        "span_id": "0" * 16,
        "trace_id": "0" * 32,
        "project": "default",
        "kind": "llm",
        "status": status,
        "started_at": datetime(2026, 11, 27, tzinfo=UTC),
        "upstream": "openai",
        "model": model,
        "latency_ms": 250.0,
        "ttft_ms": 40.0,
        "input_tokens": 12,
        "output_tokens": 6,
        "cached_tokens": 4,
        **fields,
    }
    return Span(**values)  # type: ignore[arg-type]


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_calls_tokens_latency_and_ttft() -> None:
    metrics = Metrics()
    metrics.observe(span())
    metrics.observe(
        span(status="error", latency_ms=5.0, ttft_ms=None, input_tokens=None, output_tokens=None, cached_tokens=None)
    )
    values = samples(metrics)
    labels = (("model", "gpt-4o-mini"), ("status", "ok"), ("upstream", "openai"))
    assert values[("glassgate_calls_total", labels)] == 1
    assert (
        values[("glassgate_calls_total", (("model", "gpt-4o-mini"), ("status", "error"), ("upstream", "openai")))] == 1
    )
    by_kind = {
        kind: values[("glassgate_tokens_total", (("kind", kind), ("model", "gpt-4o-mini"), ("upstream", "openai")))]
        for kind in ("input", "output", "cached")
    }
    assert by_kind == {"input": 12, "output": 6, "cached": 4}
    model_labels = (("model", "gpt-4o-mini"), ("upstream", "openai"))
    assert values[("glassgate_call_latency_seconds_count", model_labels)] == 2
    assert values[("glassgate_call_latency_seconds_sum", model_labels)] == 0.255
    assert values[("glassgate_time_to_first_token_seconds_count", model_labels)] == 1


def test_the_served_model_is_the_label_when_known() -> None:
    metrics = Metrics()
    metrics.observe(span(model="my-deployment", response_model="gpt-4o-2024-11-20"))
    assert any(("model", "gpt-4o-2024-11-20") in labels for _, labels in samples(metrics))


def test_model_labels_are_bounded() -> None:
    metrics = Metrics()
    for number in range(MAX_MODELS + 50):
        metrics.observe(span(model=f"model-{number}"))
    models = {dict(labels).get("model") for name, labels in samples(metrics) if name == "glassgate_calls_total"}
    assert len(models) == MAX_MODELS + 1 and "other" in models


def test_writer_counters_are_read_at_scrape_time() -> None:
    metrics = Metrics()
    counters = {"queued": 5, "written": 3, "dropped": 1, "capture_failed": 0, "write_failures": 2}
    depth = [2.0]
    metrics.watch_writer(lambda: depth[0], lambda: counters)
    counters["written"] = 4
    depth[0] = 7.0
    values = samples(metrics)
    assert values[("glassgate_trace_written", ())] == 4
    assert values[("glassgate_trace_dropped", ())] == 1
    assert values[("glassgate_trace_queue_depth", ())] == 7


def test_search_indexer_progress_is_read_at_scrape_time() -> None:
    metrics = Metrics()
    counters = {"indexed": 0, "backlog": 0, "vacuums": 0}
    metrics.watch_search_indexer(lambda: counters)
    counters.update(indexed=1500, backlog=250, vacuums=3)
    values = samples(metrics)
    assert values[("glassgate_search_indexed", ())] == 1500
    assert values[("glassgate_search_backlog", ())] == 250
    assert values[("glassgate_search_queue_vacuums", ())] == 3
