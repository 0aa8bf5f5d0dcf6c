"""Prometheus metrics for /metrics: calls, errors, latency, TTFT and tokens, plus the writer's health.

Updated by the span writer as spans are built, so the request path pays nothing for them.
Label values come from clients (the model name), so they are bounded: past `MAX_MODELS`
distinct models, new ones are counted under "other" rather than growing memory without end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from glassgate.tracing.span import Span

if TYPE_CHECKING:
    from glassgate.limits import Limiter

MAX_MODELS = 200
CONTENT_TYPE = CONTENT_TYPE_LATEST
# LLM calls span milliseconds (errors, embeddings) to minutes (long generations).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)


def _reader(counters: Callable[[], dict[str, int]], name: str) -> Callable[[], float]:
    return lambda: float(counters().get(name, 0))


class Metrics:
    """One registry per app (never the global one), so tests and replicas stay independent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("upstream", "model", "status")
        self.calls = Counter("glassgate_calls", "LLM calls through the proxy", labels, registry=self.registry)
        self.latency = Histogram(
            "glassgate_call_latency_seconds",
            "Total call time",
            ("upstream", "model"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttft = Histogram(
            "glassgate_time_to_first_token_seconds",
            "Time to the first content of the answer",
            ("upstream", "model"),
            buckets=_TTFT_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "glassgate_tokens", "Tokens reported by the vendors", ("upstream", "model", "kind"), registry=self.registry
        )
        # Policy names come from the config and categories from the detectors: bounded label sets.
        self.findings = Counter(
            "glassgate_guardrail_findings",
            "Guardrail findings (matches), by policy, category, action taken and phase",
            ("policy", "category", "action", "phase"),
            registry=self.registry,
        )
        self._models: set[str] = set()
        # The labelled children of each (upstream, model): `labels()` validates and looks them
        # up again on every call, which was most of the cost of observing a span.
        self._series: dict[tuple[str, str], _Series] = {}

    def watch_writer(self, depth: Callable[[], float], counters: Callable[[], dict[str, int]]) -> None:
        """Expose the span writer's queue depth and counters, read at scrape time."""
        Gauge("glassgate_trace_queue_depth", "Calls waiting to be written", registry=self.registry).set_function(depth)
        for name in ("queued", "written", "dropped", "capture_failed", "write_failures", "spilled", "replayed"):
            gauge = Gauge(
                f"glassgate_trace_{name}", f"Span writer: {name.replace('_', ' ')} since start", registry=self.registry
            )
            gauge.set_function(_reader(counters, name))

    def watch_search_indexer(self, counters: Callable[[], dict[str, int]]) -> None:
        """Expose the search indexer's progress, read at scrape time."""
        Gauge(
            "glassgate_search_backlog",
            "Stored spans waiting to be indexed for search, as this replica last counted",
            registry=self.registry,
        ).set_function(_reader(counters, "backlog"))
        Gauge(
            "glassgate_search_indexed", "Spans indexed for search by this replica since start", registry=self.registry
        ).set_function(_reader(counters, "indexed"))
        Gauge(
            "glassgate_search_queue_vacuums",
            "Vacuums of the search queue by this replica since start (0 while the role may not vacuum)",
            registry=self.registry,
        ).set_function(_reader(counters, "vacuums"))

    def watch_limits(self, limiter: Limiter) -> None:
        """Expose the rate limiter's decisions and Redis errors, read at scrape time."""
        self.registry.register(_LimitsCollector(limiter))

    def _model_label(self, model: str | None) -> str:
        if not model:
            return ""
        if model in self._models:
            return model
        if len(self._models) < MAX_MODELS:
            self._models.add(model)
            return model
        return "other"

    def observe(self, span: Span) -> None:
        upstream = span.upstream or ""
        model = self._model_label(span.response_model or span.model)
        series = self._series.get((upstream, model))
        if series is None:
            series = self._series[(upstream, model)] = _Series(self, upstream, model)
        calls = series.calls.get(span.status)
        if calls is None:
            calls = series.calls[span.status] = self.calls.labels(upstream, model, span.status)
        calls.inc()
        if span.latency_ms is not None:
            series.latency.observe(span.latency_ms / 1000.0)
        if span.ttft_ms is not None:
            series.ttft.observe(span.ttft_ms / 1000.0)
        if span.input_tokens:
            series.input_tokens.inc(span.input_tokens)
        if span.output_tokens:
            series.output_tokens.inc(span.output_tokens)
        if span.cached_tokens:
            series.cached_tokens.inc(span.cached_tokens)
        if span.reasoning_tokens:
            series.reasoning_tokens.inc(span.reasoning_tokens)
        for finding in span.findings:
            self.findings.labels(finding.policy, finding.category, finding.action, finding.phase).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Series:
    """The children of one (upstream, model) label pair, looked up once."""

    __slots__ = ("cached_tokens", "calls", "input_tokens", "latency", "output_tokens", "reasoning_tokens", "ttft")

    def __init__(self, metrics: Metrics, upstream: str, model: str) -> None:
        self.calls: dict[str, Counter] = {}  # by status
        self.latency = metrics.latency.labels(upstream, model)
        self.ttft = metrics.ttft.labels(upstream, model)
        self.input_tokens = metrics.tokens.labels(upstream, model, "input")
        self.output_tokens = metrics.tokens.labels(upstream, model, "output")
        self.cached_tokens = metrics.tokens.labels(upstream, model, "cached")
        self.reasoning_tokens = metrics.tokens.labels(upstream, model, "reasoning")


class _LimitsCollector(Collector):
    """The limiter keeps plain integers on the request path; they become counters only when scraped."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter

    def collect(self) -> Iterator[CounterMetricFamily]:
        counters = self._limiter.counters
        checks = CounterMetricFamily(
            "glassgate_limit_checks",
            "Rate limit checks: allowed, refused (429), unchecked (Redis unavailable, forwarded: on_redis_error "
            "open), unavailable (Redis unavailable, refused with 503: on_redis_error closed)",
            labels=("result",),
        )
        checks.add_metric(("allowed",), counters.allowed)
        checks.add_metric(("refused",), sum(counters.refused.values()))
        checks.add_metric(("unchecked",), counters.unchecked)
        checks.add_metric(("unavailable",), counters.unavailable)
        yield checks
        refusals = CounterMetricFamily(
            "glassgate_limit_refusals", "Calls refused (429) by rule and cap", labels=("rule", "limit")
        )
        for (rule, kind), count in sorted(counters.refused.items()):
            refusals.add_metric((rule, kind), count)
        yield refusals
        yield CounterMetricFamily(
            "glassgate_limit_redis_errors", "Calls to Redis that failed or timed out", value=self._limiter.redis_errors
        )
        yield CounterMetricFamily(
            "glassgate_limit_adjust_failures",
            "Settlements and releases Redis did not take (the reservation stays until its window ends)",
            value=counters.adjust_failures,
        )
