"""Deterministic Bedrock Runtime answers in the exact wire format (wire-formats.md §3).

Pure functions from the model id and request to what the fake sends, so tests know exactly
what the client must receive.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import eventstream as es

TEXT_PIECES = ["Hel", "lo ", "there!"]
TEXT = "".join(TEXT_PIECES)
METRICS = {"inputTokenCount": 12, "outputTokenCount": 6, "invocationLatency": 321, "firstByteLatency": 123}
CONVERSE_USAGE = {
    "inputTokens": 12,
    "outputTokens": 6,
    "totalTokens": 18,
    "cacheReadInputTokens": 4,
    "cacheWriteInputTokens": 0,
}


def family(model_id: str) -> str:
    bare = (
        model_id.split(".", 1)[1]
        if model_id.split(".", 1)[0] in ("us", "eu", "apac", "global", "jp", "au")
        else model_id
    )
    return bare.split(".", 1)[0] if "." in bare else "anthropic"  # ARNs in the tests hide an Anthropic model


def _echoed(request: dict[str, Any]) -> str:
    """The answer text: fixed, or what a user block after "echo:" says (the model id is in the
    path, which the fixtures do not see, so the tests choose the answer in the message)."""
    for message in request.get("messages") or []:
        for block in message.get("content") or [] if isinstance(message, dict) else []:
            text = block.get("text") if isinstance(block, dict) else None
            if isinstance(text, str) and text.startswith("echo:"):
                return text[len("echo:") :]
    return TEXT


def _echoed_anthropic(request: dict[str, Any]) -> str:
    """`_echoed` for an Anthropic invoke body, whose user content may be a string."""
    for message in request.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str) and content.startswith("echo:"):
            return content[len("echo:") :]
    return _echoed(request)


def converse(request: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": _echoed(request)}]
    stop = "end_turn"
    if request.get("toolConfig"):
        content = [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}]
        stop = "tool_use"
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": CONVERSE_USAGE,
        "metrics": {"latencyMs": 321},
    }


def converse_stream(request: dict[str, Any], *, pieces: int = 1) -> list[bytes]:
    frames = [es.event("messageStart", {"role": "assistant", "p": "abc"})]
    if request.get("toolConfig"):
        frames.append(
            es.event(
                "contentBlockStart",
                {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}},
            )
        )
        for piece in ['{"ci', 'ty": "Pa', 'ris"}']:
            frames.append(
                es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}})
            )
        stop = "tool_use"
    else:
        said = _echoed(request)
        text_pieces = [said[start : start + 5] for start in range(0, len(said), 5)] if said != TEXT else TEXT_PIECES
        for piece in text_pieces * pieces:
            frames.append(es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}))
        stop = "end_turn"
    frames += [
        es.event("contentBlockStop", {"contentBlockIndex": 0}),
        es.event("messageStop", {"stopReason": stop}),
        es.event("metadata", {"usage": CONVERSE_USAGE, "metrics": {"latencyMs": 321}}),
    ]
    return frames


def invoke(model_id: str, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(body, headers) of a non-streamed InvokeModel for the model's family."""
    headers = {
        "X-Amzn-Bedrock-Input-Token-Count": "12",
        "X-Amzn-Bedrock-Output-Token-Count": "6",
        "X-Amzn-Bedrock-Invocation-Latency": "321",
    }
    kind = family(model_id)
    if kind == "amazon" and "nova" in model_id:
        body: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": [{"text": TEXT}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 12, "outputTokens": 6, "totalTokens": 18},
        }
    elif kind == "amazon":
        body = {
            "inputTextTokenCount": 12,
            "results": [{"tokenCount": 6, "outputText": TEXT, "completionReason": "FINISH"}],
        }
    elif kind == "meta":
        body = {"generation": TEXT, "prompt_token_count": 12, "generation_token_count": 6, "stop_reason": "stop"}
    elif kind == "mistral":
        body = {"outputs": [{"text": TEXT, "stop_reason": "stop"}]}
    elif kind == "cohere":
        body = {
            "response_id": "r1",
            "text": TEXT,
            "generation_id": "g1",
            "chat_history": [],
            "finish_reason": "COMPLETE",
        }
    else:
        body = {
            "id": "msg_bdrk_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-sonnet-20241022",
            "content": [{"type": "text", "text": _echoed_anthropic(request)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 12,
                "output_tokens": 6,
                "cache_read_input_tokens": 4,
                "cache_creation_input_tokens": 0,
            },
        }
        headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = "4"
    return body, headers


def invoke_stream_anthropic(*, fail_after_first: bool = False, request: dict[str, Any] | None = None) -> list[bytes]:
    message: dict[str, Any] = {
        "id": "msg_bdrk_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet-20241022",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    frames = [
        es.chunk({"type": "message_start", "message": message}),
        es.chunk({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    said = _echoed_anthropic(request or {})
    text_pieces = [said[start : start + 5] for start in range(0, len(said), 5)] if said != TEXT else TEXT_PIECES
    for number, piece in enumerate(text_pieces):
        frames.append(
            es.chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
        )
        if fail_after_first and number == 0:
            frames.append(es.exception("modelStreamErrorException", "The model stream failed"))
            return frames
    frames += [
        es.chunk({"type": "content_block_stop", "index": 0}),
        es.chunk(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 6},
            }
        ),
        es.chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": METRICS}),
    ]
    return frames


ERRORS = {
    "error-400": (400, "ValidationException", "Malformed input request: #: required key [messages] not found"),
    "throttled": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
}
