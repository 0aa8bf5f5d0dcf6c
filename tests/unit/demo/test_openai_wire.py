"""The simulated vendor's OpenAI API, as the official `openai` SDK reads it."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageParam

from glassgate.demo import catalog
from glassgate.demo.simulation import FAULT_HEADER, Simulation
from tests.unit.demo.sdk_clients import openai_sdk, transport

SUPPORT = catalog.script().support[0]
TOOL_TASK = catalog.script().tools[0]
SYSTEM: ChatCompletionMessageParam = {"role": "system", "content": catalog.SUPPORT_SYSTEM}


def ask(prompt: str) -> list[ChatCompletionMessageParam]:
    return [SYSTEM, {"role": "user", "content": prompt}]


def test_chat_answers_from_the_script_with_usage(openai_client: openai.OpenAI) -> None:
    turn = SUPPORT.turns[0]
    completion = openai_client.chat.completions.create(model="gpt-4o-mini", messages=ask(turn.prompt))
    assert completion.choices[0].message.content == turn.answer
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini-2024-07-18"
    usage = completion.usage
    assert (
        usage is not None and usage.prompt_tokens > 10 and usage.completion_tokens == catalog.count_tokens(turn.answer)
    )
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_an_unknown_prompt_gets_the_fallback(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(model="gpt-4o", messages=ask("What is the meaning of life?"))
    assert completion.choices[0].message.content == catalog.FALLBACK


def test_chat_stream_with_usage_assembles_to_the_same_answer(openai_client: openai.OpenAI) -> None:
    turn = SUPPORT.turns[1]
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=ask(turn.prompt), stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == turn.answer
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    *content, last = chunks
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    assert all(chunk.usage is None for chunk in content)


def test_chat_stream_without_include_usage_reports_none(openai_client: openai.OpenAI) -> None:
    chunks = list(openai_client.chat.completions.create(model="gpt-4o", messages=ask("Hi"), stream=True))
    assert all(chunk.choices and chunk.usage is None for chunk in chunks)


def test_the_stream_ends_with_done(simulation: Simulation) -> None:
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "stream": True}).encode()
    answer = simulation.respond("POST", "/v1/chat/completions", {"authorization": "Bearer k"}, body)
    assert answer.streamed and answer.chunks[-1] == b"data: [DONE]\n\n"
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") for chunk in answer.chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_then_final_answer(openai_client: openai.OpenAI, stream: bool) -> None:
    messages = ask(TOOL_TASK.prompt)
    tools: Any = [catalog.OPENAI_ORDER_TOOL]
    if stream:
        with openai_client.chat.completions.stream(model="gpt-4o", messages=messages, tools=tools) as events:
            for _ in events:
                pass
            message: ChatCompletionMessage = events.get_final_completion().choices[0].message
    else:
        message = (
            openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools).choices[0].message
        )
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.type == "function" and call.id == TOOL_TASK.call.openai_id
    assert call.function.name == "get_order_status"
    assert json.loads(call.function.arguments) == TOOL_TASK.call.arguments
    assistant: ChatCompletionMessageParam = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
        ],
    }
    result: ChatCompletionMessageParam = {
        "role": "tool",
        "tool_call_id": call.id,
        "content": json.dumps(TOOL_TASK.result),
    }
    follow_up = [*messages, assistant, result]
    final = openai_client.chat.completions.create(model="gpt-4o", messages=follow_up, tools=tools)
    assert final.choices[0].message.content == TOOL_TASK.answer


def test_responses_whole_and_streamed(openai_client: openai.OpenAI) -> None:
    summary = catalog.script().summaries[0]
    response = openai_client.responses.create(model="gpt-4.1-mini", instructions="Be brief.", input=summary.prompt)
    assert response.output_text == summary.answer and response.status == "completed"
    assert response.usage is not None and response.usage.output_tokens > 0
    with openai_client.responses.stream(model="gpt-4.1-mini", input=summary.prompt) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert final.output_text == summary.answer
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]


def test_responses_tool_call(openai_client: openai.OpenAI) -> None:
    tool: Any = {"type": "function", "name": "get_order_status", "parameters": {"type": "object"}, "strict": False}
    with openai_client.responses.stream(model="gpt-4.1-mini", input=TOOL_TASK.prompt, tools=[tool]) as stream:
        for _ in stream:
            pass
        item = stream.get_final_response().output[0]
    assert item.type == "function_call" and json.loads(item.arguments) == TOOL_TASK.call.arguments


@pytest.mark.parametrize("encoding", ["sdk-default-base64", "float"])
def test_embeddings_are_unit_vectors_stable_per_text(simulation: Simulation, encoding: str) -> None:
    texts = ["refund policy", "sso", "refund policy"]
    with httpx2.Client(transport=transport(simulation)) as http:
        if encoding == "float":
            result = openai_sdk(http).embeddings.create(
                model="text-embedding-3-small", input=texts, encoding_format="float"
            )
        else:
            # The SDK asks for base64 and decodes it after validating: its strict mode would reject the string.
            result = openai_sdk(http, strict=False).embeddings.create(model="text-embedding-3-small", input=texts)
    vectors = [item.embedding for item in result.data]
    assert [len(vector) for vector in vectors] == [1536] * 3
    assert vectors[0] == pytest.approx(vectors[2]) and vectors[0] != vectors[1]
    assert math.sqrt(sum(value * value for value in vectors[1])) == pytest.approx(1.0, abs=1e-4)
    assert result.usage.prompt_tokens > 0


def test_faults_raise_the_sdks_usual_errors(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as limited:
        openai_client.chat.completions.create(
            model="gpt-4o", messages=ask("Hi"), extra_headers={FAULT_HEADER: "rate_limit"}
        )
    assert limited.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(
            model="gpt-4o", messages=ask("Hi"), extra_headers={FAULT_HEADER: "server_error"}
        )
    broken = openai_client.chat.completions.create(
        model="gpt-4o", messages=ask("Hi"), stream=True, extra_headers={FAULT_HEADER: "stream_error"}
    )
    with pytest.raises(openai.APIError, match="server had an error"):
        list(broken)


def test_a_call_without_a_key_is_refused(simulation: Simulation) -> None:
    answer = simulation.respond("POST", "/v1/chat/completions", {}, b"{}")
    assert answer.status == 401 and json.loads(answer.body)["error"]["type"] == "invalid_request_error"
    assert simulation.respond("GET", "/v1/models", {"authorization": "Bearer k"}, b"").status == 404


def test_timing_is_realistic_and_the_same_for_the_same_call(simulation: Simulation) -> None:
    def timing(stream: bool) -> tuple[float, float]:
        body: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": SUPPORT.turns[0].prompt}]}
        if stream:
            body["stream"] = True
        answer = simulation.respond(
            "POST", "/v1/chat/completions", {"authorization": "Bearer k"}, json.dumps(body).encode()
        )
        return answer.first_delay_s, answer.gap_s

    whole, _ = timing(False)
    assert 0.05 <= whole <= 0.4 and timing(False) == (whole, 0.0)
    first_token, gap = timing(True)
    assert 0.08 <= first_token <= 0.3 and 0.005 <= gap <= 0.015
