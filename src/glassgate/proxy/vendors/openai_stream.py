"""Assemble OpenAI-style SSE streams (Chat Completions, legacy Completions, Responses) into one value.

The assembled value has the shape of the non-streamed response, so a stored span looks the
same whether or not the client streamed. Azure's variants (a first chunk with `choices: []`,
annotation-only chunks, content-filter results) are handled here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glassgate.proxy.sse import parse_events
from glassgate.proxy.vendors.base import JSONValue, loads_or_none


@dataclass
class StreamResult:
    """The assembled response plus what only the stream tells: first content and errors."""

    response: dict[str, Any] = field(default_factory=dict)
    first_content_chunk: int | None = None
    error: str | None = None
    error_type: str | None = None


def _error_from(payload: JSONValue) -> tuple[str, str | None]:
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        kind = error.get("type") or error.get("code")
        return str(error.get("message") or "error in stream"), str(kind) if kind else None
    return "error in stream", None


def assemble_chat(chunks: Sequence[bytes], *, text_completion: bool = False) -> StreamResult:
    """Join `chat.completion.chunk` (or legacy `text_completion`) deltas per choice index."""
    result = StreamResult()
    top: dict[str, Any] = {}
    choices: dict[int, dict[str, Any]] = {}
    for event in parse_events(chunks):
        if event.data.strip() == "[DONE]":
            continue
        payload = loads_or_none(event.data)
        if not isinstance(payload, dict):
            continue
        if "error" in payload and payload.get("error"):
            result.error, result.error_type = _error_from(payload)
            continue
        for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
            if payload.get(key):
                top[key] = payload[key]
        if payload.get("usage"):
            top["usage"] = payload["usage"]
        if payload.get("prompt_filter_results"):
            top["prompt_filter_results"] = payload["prompt_filter_results"]
        delta_choices = payload.get("choices")
        for delta_choice in delta_choices if isinstance(delta_choices, list) else []:
            if not isinstance(delta_choice, dict):
                continue
            index = delta_choice.get("index", 0)
            index = index if isinstance(index, int) else 0
            choice = choices.setdefault(index, _new_choice(index, text_completion))
            if _merge_choice(choice, delta_choice, text_completion) and result.first_content_chunk is None:
                result.first_content_chunk = event.index
    top["object"] = "text_completion" if text_completion else "chat.completion"
    top["choices"] = [_finish_choice(choices[index]) for index in sorted(choices)]
    result.response = top
    return result


def _new_choice(index: int, text_completion: bool) -> dict[str, Any]:
    if text_completion:
        return {"index": index, "text": "", "finish_reason": None}
    return {"index": index, "message": {"role": "assistant", "content": None}, "finish_reason": None, "_tools": {}}


def _merge_choice(choice: dict[str, Any], delta_choice: dict[str, Any], text_completion: bool) -> bool:
    """Fold one delta into the choice; True when it carried content (the TTFT anchor)."""
    if delta_choice.get("finish_reason"):
        choice["finish_reason"] = delta_choice["finish_reason"]
    if delta_choice.get("content_filter_results"):
        choice["content_filter_results"] = delta_choice["content_filter_results"]
    if delta_choice.get("logprobs"):
        choice.setdefault("logprobs_chunks", []).append(delta_choice["logprobs"])
    if text_completion:
        text = delta_choice.get("text")
        if isinstance(text, str) and text:
            choice["text"] += text
            return True
        return False
    delta = delta_choice.get("delta")
    if not isinstance(delta, dict):
        return False
    message = choice["message"]
    carried = False
    if delta.get("role"):
        message["role"] = delta["role"]
    for key in ("content", "refusal", "reasoning_content"):
        piece = delta.get(key)
        if isinstance(piece, str) and piece:
            message[key] = (message.get(key) or "") + piece
            carried = True
    calls = delta.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict):
            _merge_tool_call(choice["_tools"], call)
            carried = True
    return carried


def _merge_tool_call(tools: dict[int, dict[str, Any]], call: dict[str, Any]) -> None:
    index = call.get("index")
    index = index if isinstance(index, int) else len(tools)
    tool = tools.setdefault(index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
    if isinstance(call.get("id"), str):
        tool["id"] = call["id"]
    if isinstance(call.get("type"), str):
        tool["type"] = call["type"]
    function = call.get("function")
    if isinstance(function, dict):
        if isinstance(function.get("name"), str):
            tool["function"]["name"] += function["name"]
        if isinstance(function.get("arguments"), str):
            tool["function"]["arguments"] += function["arguments"]


def _finish_choice(choice: dict[str, Any]) -> dict[str, Any]:
    tools = choice.pop("_tools", None)
    if tools:
        choice["message"]["tool_calls"] = [tools[index] for index in sorted(tools)]
    return choice


_RESPONSES_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_RESPONSES_CONTENT = (
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.refusal.delta",
)


def assemble_responses(chunks: Sequence[bytes]) -> StreamResult:
    """Take the terminal event's `response`; without one (a cut stream), join the text deltas."""
    result = StreamResult()
    latest: dict[str, Any] = {}
    text_parts: list[str] = []
    for event in parse_events(chunks):
        if event.data.strip() == "[DONE]":
            continue
        payload = loads_or_none(event.data)
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type") or event.event
        if kind in _RESPONSES_CONTENT and result.first_content_chunk is None:
            result.first_content_chunk = event.index
        if kind == "response.output_text.delta" and isinstance(payload.get("delta"), str):
            text_parts.append(payload["delta"])
        response = payload.get("response")
        if isinstance(response, dict):
            latest = response
        if kind == "error":
            result.error = str(payload.get("message") or "error in stream")
            result.error_type = str(payload.get("code") or "error")
        elif kind == "response.failed":
            failure = latest.get("error")
            failure = failure if isinstance(failure, dict) else {}
            result.error = str(failure.get("message") or "response failed")
            result.error_type = str(failure.get("code") or "response_failed")
    if latest.get("status") in (None, "in_progress", "queued") and text_parts:
        latest = dict(latest)
        latest["output"] = [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "".join(text_parts)}]}
        ]
    result.response = latest
    return result
