"""The simulated vendor's Anthropic Messages API, as the official `anthropic` SDK reads it."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from anthropic.types import Message, MessageParam, TextBlock, ToolUseBlock

from glassgate.demo import catalog
from glassgate.demo.simulation import FAULT_HEADER, Simulation

CODE = catalog.script().code[0]
TOOL_TASK = catalog.script().tools[1]
CACHED_SYSTEM: Any = [{"type": "text", "text": catalog.CODE_SYSTEM, "cache_control": {"type": "ephemeral"}}]


def ask(prompt: str) -> list[MessageParam]:
    return [{"role": "user", "content": prompt}]


def test_message_answers_from_the_script(anthropic_client: anthropic.Anthropic) -> None:
    turn = CODE.turns[0]
    message = anthropic_client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=ask(turn.prompt))
    assert message.content == [TextBlock(type="text", text=turn.answer, citations=None)]
    assert message.stop_reason == "end_turn" and message.model == "claude-sonnet-4-6"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens == catalog.count_tokens(turn.answer)


def test_a_cached_system_prompt_is_written_once_then_read(anthropic_client: anthropic.Anthropic) -> None:
    def usage() -> anthropic.types.Usage:
        return anthropic_client.messages.create(
            model="claude-sonnet-4-6", max_tokens=1024, system=CACHED_SYSTEM, messages=ask(CODE.turns[0].prompt)
        ).usage

    first, second = usage(), usage()
    system_tokens = catalog.count_tokens(catalog.CODE_SYSTEM)
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (system_tokens, 0)
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, system_tokens)
    # Anthropic counts cache tokens apart from input_tokens.
    assert first.input_tokens == second.input_tokens


def test_stream_follows_the_real_event_sequence(anthropic_client: anthropic.Anthropic) -> None:
    turn = CODE.turns[1]
    request: Any = {
        "model": "claude-haiku-4-5",
        "max_tokens": 1024,
        "system": CACHED_SYSTEM,
        "messages": ask(turn.prompt),
    }
    kinds = [event.type for event in anthropic_client.messages.create(**request, stream=True)]
    deltas = len(kinds) - 5
    assert kinds == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert deltas > 10
    with anthropic_client.messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert [(block.type, getattr(block, "text", None)) for block in final.content] == [("text", turn.answer)]
    assert final.usage.output_tokens == catalog.count_tokens(turn.answer)
    assert final.usage.cache_read_input_tokens == catalog.count_tokens(catalog.CODE_SYSTEM)  # the second call


def test_raw_stream_has_a_ping_and_cumulative_usage(simulation: Simulation) -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "stream": True, "messages": ask("Hi")}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    answer = simulation.respond("POST", "/v1/messages", headers, json.dumps(body).encode())
    events = [chunk.decode().split("\n")[:2] for chunk in answer.chunks]
    kinds = [kind.removeprefix("event: ") for kind, _ in events]
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert all(
        json.loads(data.removeprefix("data: "))["type"] == kind for kind, (_, data) in zip(kinds, events, strict=True)
    )
    start = json.loads(events[0][1].removeprefix("data: "))
    delta = json.loads(events[-2][1].removeprefix("data: "))
    assert start["message"]["usage"]["output_tokens"] == 1
    assert delta["usage"]["output_tokens"] == catalog.count_tokens(catalog.FALLBACK)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_then_final_answer(anthropic_client: anthropic.Anthropic, stream: bool) -> None:
    tools: Any = [catalog.ANTHROPIC_ORDER_TOOL]
    messages = ask(TOOL_TASK.prompt)
    if stream:
        with anthropic_client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=1024, messages=messages, tools=tools
        ) as events:
            message: Message = events.get_final_message()
    else:
        message = anthropic_client.messages.create(
            model="claude-sonnet-4-6", max_tokens=1024, messages=messages, tools=tools
        )
    assert message.stop_reason == "tool_use"
    text, use = message.content
    assert isinstance(text, TextBlock) and text.text == TOOL_TASK.preamble
    assert (
        isinstance(use, ToolUseBlock)
        and use.input == TOOL_TASK.call.arguments
        and use.id == TOOL_TASK.call.anthropic_id
    )
    follow_up: list[MessageParam] = [
        *messages,
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": text.text},
                {"type": "tool_use", "id": use.id, "name": use.name, "input": use.input},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": json.dumps(TOOL_TASK.result)}],
        },
    ]
    final = anthropic_client.messages.create(
        model="claude-sonnet-4-6", max_tokens=1024, messages=follow_up, tools=tools
    )
    assert final.content == [TextBlock(type="text", text=TOOL_TASK.answer, citations=None)]


def test_faults_raise_the_sdks_usual_errors(anthropic_client: anthropic.Anthropic) -> None:
    def create(fault: str) -> None:
        anthropic_client.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=ask("Hi"), extra_headers={FAULT_HEADER: fault}
        )

    with pytest.raises(anthropic.RateLimitError):
        create("rate_limit")
    with pytest.raises(anthropic.OverloadedError):
        create("server_error")
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        anthropic_client.messages.stream(
            model="claude-haiku-4-5", max_tokens=10, messages=ask("Hi"), extra_headers={FAULT_HEADER: "stream_error"}
        ) as stream,
    ):
        list(stream)


def test_key_and_version_are_required(simulation: Simulation) -> None:
    body = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": ask("Hi")}).encode()
    without_key = simulation.respond("POST", "/v1/messages", {"anthropic-version": "2023-06-01"}, body)
    without_version = simulation.respond("POST", "/v1/messages", {"x-api-key": "k"}, body)
    assert without_key.status == 401 and json.loads(without_key.body)["error"]["type"] == "authentication_error"
    assert without_version.status == 400 and json.loads(without_version.body)["type"] == "error"
