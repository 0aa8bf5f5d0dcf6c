"""Bedrock InvokeModel and InvokeModelWithResponseStream: the body is the model family's own JSON.

The family comes from the model id; an ARN (application inference profile, provisioned model)
can hide it, so the request body's markers and then the response's shape decide
(wire-formats.md §3.1-3.2). Token counts: the `X-Amzn-Bedrock-*` headers first (non-stream),
then the family's body, then the stream's `amazon-bedrock-invocationMetrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from glassgate.proxy.vendors.base import JSONValue, Usage, WireCall, as_int, dig, loads_or_none
from glassgate.proxy.vendors.bedrock_common import (
    METRICS_KEY,
    Parsed,
    cache_usage,
    converse_usage,
    header_usage,
    merge_usage,
    metrics_usage,
    read_stream,
    record_latency_header,
    record_metrics,
    text_of,
)
from glassgate.proxy.vendors.bedrock_converse import CONVERSE_EVENTS
from glassgate.proxy.vendors.bedrock_streams import (
    Assembler,
    ModelChunk,
    assemble_anthropic,
    assemble_choices,
    assemble_cohere,
    assemble_llama,
    assemble_nova,
    assemble_titan,
    assemble_unknown,
)
from glassgate.proxy.vendors.openai import usage_from as openai_usage

# Cross-region inference profiles put a geography before the model id: us.anthropic.claude-...
_GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "global", "us-gov"})
_ID_PREFIXES = (
    ("anthropic.", "anthropic"),
    ("amazon.nova", "nova"),
    ("amazon.titan-text", "titan"),
    ("amazon.titan-tg1", "titan"),
    ("meta.llama", "llama"),
    ("mistral.", "mistral"),
    ("cohere.command", "cohere"),
    ("openai.", "openai"),
)


def _family_of_id(model_id: str) -> str | None:
    head, dot, rest = model_id.partition(".")
    base = (rest if dot and head in _GEO_PREFIXES else model_id).lower()
    if "embed" in base:
        return "embedding"
    return next((family for prefix, family in _ID_PREFIXES if base.startswith(prefix)), None)


def family_from_model(model: str | None) -> str | None:
    """The family a (decoded) model id names; for an ARN, any resource segment that names one."""
    if not model:
        return None
    if not model.startswith("arn:"):
        return _family_of_id(model)
    # foundation-model/<id>, inference-profile/<geo.id>, custom-model/<base id>/<suffix>
    segments = model.split("/")[1:]
    return next((family for family in map(_family_of_id, segments) if family), None)


def family_from_request(request: JSONValue) -> str | None:
    """Body keys only one family uses (wire-formats.md §3.2)."""
    if not isinstance(request, dict):
        return None
    markers = (
        ("anthropic_version", "anthropic"),
        ("schemaVersion", "nova"),
        ("inferenceConfig", "nova"),
        ("inputText", "titan"),
        ("texts", "embedding"),
        ("max_gen_len", "llama"),
        ("message", "cohere"),
        ("chat_history", "cohere"),
    )
    return next((family for key, family in markers if key in request), None)


def family_from_response(sample: dict[str, Any]) -> str | None:
    """The family a response body (or one stream chunk) looks like."""
    kind = sample.get("type")
    if kind == "message" or (isinstance(kind, str) and kind.startswith(("message_", "content_block_"))):
        return "anthropic"
    if isinstance(dig(sample, "output", "message"), dict) or any(key in sample for key in CONVERSE_EVENTS):
        return "nova"
    checks = (
        (("embedding", "embeddings"), "embedding"),
        (("results", "outputText", "inputTextTokenCount"), "titan"),
        (("generation",), "llama"),
        (("outputs",), "mistral"),
        (("choices",), "openai"),
        (("generations", "event_type", "finish_reason"), "cohere"),
    )
    return next((family for keys, family in checks if any(key in sample for key in keys)), None)


def detect_family(model: str | None, request: JSONValue, samples: Sequence[dict[str, Any]]) -> str:
    found = family_from_model(model) or family_from_request(request)
    found = found or next((family for family in map(family_from_response, samples) if family), None)
    if found is None and isinstance(request, dict):
        # Shared shapes, so last: Mistral's (and Cohere command-text's) prompt form; OpenAI-style chat.
        if "prompt" in request and "max_tokens" in request:
            found = "mistral"
        elif "messages" in request:
            found = "openai"
    return found or "unknown"


# --- per family: usage and stop reason from the non-stream shape (assembled streams share it) ------


def _anthropic_usage(body: JSONValue) -> Usage:
    usage = dig(body, "usage")
    if not isinstance(usage, dict):
        return Usage()
    return cache_usage(
        as_int(usage.get("input_tokens")),
        as_int(usage.get("output_tokens")),
        as_int(usage.get("cache_read_input_tokens")),
        as_int(usage.get("cache_creation_input_tokens")),
    )


def _titan_usage(body: JSONValue) -> Usage:
    results = dig(body, "results")
    counts = [as_int(dig(result, "tokenCount")) for result in results] if isinstance(results, list) else []
    output = sum(count for count in counts if count is not None) if any(c is not None for c in counts) else None
    return Usage(input_tokens=as_int(dig(body, "inputTextTokenCount")), output_tokens=output)


def _llama_usage(body: JSONValue) -> Usage:
    return Usage(
        input_tokens=as_int(dig(body, "prompt_token_count")), output_tokens=as_int(dig(body, "generation_token_count"))
    )


def _cohere_usage(body: JSONValue) -> Usage:
    # Bedrock's Cohere bodies usually carry no counts (the headers do); Cohere's own API puts them here.
    billed = dig(body, "meta", "billed_units")
    return Usage(input_tokens=as_int(dig(billed, "input_tokens")), output_tokens=as_int(dig(billed, "output_tokens")))


def _embedding_usage(body: JSONValue) -> Usage:
    return Usage(input_tokens=as_int(dig(body, "inputTextTokenCount")), output_tokens=0)


def _first_of(body: JSONValue, list_key: str, *keys: str) -> str | None:
    items = dig(body, list_key)
    first = items[0] if isinstance(items, list) and items else None
    return next((text for text in (text_of(dig(first, key)) for key in keys) if text), None)


def _stop_key(*keys: str) -> Callable[[JSONValue], str | None]:
    return lambda body: next((text for text in (text_of(dig(body, key)) for key in keys) if text), None)


@dataclass(frozen=True, slots=True)
class Family:
    usage: Callable[[JSONValue], Usage]
    stop: Callable[[JSONValue], str | None]
    assemble: Assembler


FAMILIES: dict[str, Family] = {
    "anthropic": Family(_anthropic_usage, _stop_key("stop_reason"), assemble_anthropic),
    "nova": Family(lambda body: converse_usage(dig(body, "usage")), _stop_key("stopReason"), assemble_nova),
    "titan": Family(_titan_usage, lambda body: _first_of(body, "results", "completionReason"), assemble_titan),
    "llama": Family(_llama_usage, _stop_key("stop_reason"), assemble_llama),
    "mistral": Family(
        lambda body: openai_usage("chat", dig(body, "usage")),
        lambda body: (
            _first_of(body, "outputs", "stop_reason", "finish_reason")
            or _first_of(body, "choices", "finish_reason", "stop_reason")
        ),
        assemble_choices,
    ),
    "openai": Family(
        lambda body: openai_usage("chat", dig(body, "usage")),
        lambda body: _first_of(body, "choices", "finish_reason", "stop_reason"),
        assemble_choices,
    ),
    "cohere": Family(
        _cohere_usage,
        lambda body: _stop_key("finish_reason")(body) or _first_of(body, "generations", "finish_reason"),
        assemble_cohere,
    ),
    "embedding": Family(_embedding_usage, lambda body: None, assemble_unknown),
    "unknown": Family(lambda body: Usage(), _stop_key("stop_reason", "stopReason", "finish_reason"), assemble_unknown),
}


def _describe_vectors(value: JSONValue) -> JSONValue:
    """Vectors are large and useless in a trace: keep their shape, not their numbers."""
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
        return f"<{len(value)} vectors>"
    if isinstance(value, list):
        return f"<float vector, {len(value)} dims>"
    if isinstance(value, dict):
        return {key: _describe_vectors(item) for key, item in value.items()}
    return value


def shrink_vectors(response: JSONValue) -> JSONValue:
    """The response with its vectors described; the same object when it has none."""
    if not isinstance(response, dict) or not ("embedding" in response or "embeddings" in response):
        return response
    return {
        key: _describe_vectors(item) if key in ("embedding", "embeddings") else item for key, item in response.items()
    }


def _last_metrics(chunks: Sequence[ModelChunk]) -> JSONValue:
    """`amazon-bedrock-invocationMetrics`, which Bedrock adds to the last chunk."""
    return next((chunk[METRICS_KEY] for _, chunk in reversed(chunks) if isinstance(chunk.get(METRICS_KEY), dict)), None)


def _stream_chunks(call: WireCall, parsed: Parsed) -> list[ModelChunk]:
    return [(index, body) for index, kind, body in read_stream(call.chunks, parsed, invoke=True) if kind == "chunk"]


def _read_stream(family: Family, chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    family.assemble(chunks, parsed)
    metrics = _last_metrics(chunks)
    if metrics is not None and isinstance(parsed.response, dict):
        parsed.response[METRICS_KEY] = metrics  # kept: the stream's only record of Bedrock's own counts
    record_metrics(parsed, metrics)
    parsed.usage = merge_usage(family.usage(parsed.response), metrics_usage(metrics))


def _read_whole(call: WireCall, family: Family, body: JSONValue, parsed: Parsed) -> None:
    parsed.response = body
    parsed.first_content_chunk = 0 if call.chunks else None  # a whole JSON answer: its first byte is content
    record_latency_header(parsed, call.response_headers)
    parsed.usage = merge_usage(header_usage(call.response_headers), family.usage(body))


def parse_invoke(call: WireCall, request: JSONValue, model: str | None, parsed: Parsed, *, streamed: bool) -> None:
    """Fill `parsed` from an invoke call that did not fail at the HTTP level."""
    chunks = _stream_chunks(call, parsed) if streamed else []
    body = None if streamed or not call.chunks else loads_or_none(b"".join(call.chunks))
    samples = [chunk for _, chunk in chunks] if streamed else [body] if isinstance(body, dict) else []
    name = detect_family(model, request, samples)
    parsed.attributes["bedrock.model_family"] = name
    if streamed:
        _read_stream(FAMILIES[name], chunks, parsed)
    else:
        _read_whole(call, FAMILIES[name], body, parsed)
    parsed.finish_reason = FAMILIES[name].stop(parsed.response)
    parsed.response_model = text_of(dig(parsed.response, "model"))
    shrunk = shrink_vectors(parsed.response)
    if name == "embedding" or shrunk is not parsed.response:
        parsed.usage = merge_usage(parsed.usage, Usage(output_tokens=0))  # embeddings generate nothing
        parsed.response = shrunk
