"""The most tokens a call can use, known before it is sent: what the limiter reserves.

The prompt is estimated at one token per four characters of the request's text (every JSON
string but base64 payloads and data URLs: an image costs its vendor's own count, which the
settlement brings in after the call). Tokenizing on the request path would cost far more CPU,
and the reservation is corrected to the vendor's count once the call ends anyway.

The answer is bounded by the request's own limit, whichever field its API names it by
(`max_tokens`, `max_completion_tokens`, `max_output_tokens`, Bedrock's `inferenceConfig.maxTokens`,
...), times `n` choices; a request without one reserves the configured default.
"""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4
# Keys whose string values are base64 payloads (Anthropic and Bedrock images and documents).
_BINARY_KEYS = frozenset({"data", "bytes", "b64_json"})
# Where each API puts its answer limit: OpenAI chat (new, then old), Responses, Anthropic and most
# Bedrock InvokeModel families, Bedrock Converse, Amazon Nova, Titan, Llama.
_OUTPUT_LIMITS: tuple[tuple[str, ...], ...] = (
    ("max_completion_tokens",),
    ("max_tokens",),
    ("max_output_tokens",),
    ("inferenceConfig", "maxTokens"),
    ("inferenceConfig", "max_new_tokens"),
    ("textGenerationConfig", "maxTokenCount"),
    ("max_gen_len",),
)


def prompt_tokens(body: Any) -> int:
    """About one token per four characters of the request's strings (an upper-leaning estimate)."""
    chars = 0
    stack = [body]
    while stack:  # iterative: a deeply nested body must not exhaust the recursion limit
        value = stack.pop()
        if isinstance(value, str):
            if not value.startswith("data:"):
                chars += len(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str):
                    if key not in _BINARY_KEYS and not item.startswith("data:"):
                        chars += len(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return -(-chars // CHARS_PER_TOKEN)


def output_tokens(body: Any, path: str, default: int) -> int:
    """The answer's limit as the request sets it, else `default`; 0 for embeddings."""
    if path.rstrip("/").endswith("/embeddings"):
        return 0
    if not isinstance(body, dict):
        return default
    limit = default
    for fields in _OUTPUT_LIMITS:
        value: Any = body
        for name in fields:
            value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            limit = value
            break
    choices = body.get("n")
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
        limit *= choices
    return limit
