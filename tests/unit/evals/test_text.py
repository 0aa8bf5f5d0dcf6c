"""Outputs, expected answers and inputs as text, whatever shape they come in."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.evals.text import answer_text, is_chat_like, json_text, prompt_text, value_text

OPENAI_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"},
        {"index": 1, "message": {"role": "assistant", "content": "Lyon."}, "finish_reason": "stop"},
    ],
}
OPENAI_TOOL_CALL = {
    "choices": [
        {
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}
                ],
            }
        }
    ]
}
ANTHROPIC = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Bonjour"}]}
RESPONSES = {
    "object": "response",
    "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there"}]}],
}
CONVERSE = {"output": {"message": {"role": "assistant", "content": [{"text": "From Bedrock"}]}}}
DATASET_EXPECTED = {
    "messages": [
        {"role": "assistant", "parts": [{"type": "text", "text": "The answer is 42."}], "choice": 0},
        {"role": "assistant", "parts": [{"type": "text", "text": "Another choice"}], "choice": 1},
    ]
}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("plain text", "plain text"),
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        (OPENAI_CHAT, "Paris."),
        (OPENAI_TOOL_CALL, '[tool call] weather {"city":"Paris"}'),
        (ANTHROPIC, "Bonjour"),
        (RESPONSES, "Hi there"),
        (CONVERSE, "From Bedrock"),
        (DATASET_EXPECTED, "The answer is 42."),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a1"}], "a1"),
        ([{"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]}], "x\ny"),
        ({"role": "assistant", "content": "single message"}, "single message"),
        (
            [
                {
                    "role": "assistant",
                    "content": [{"text": "Converse"}, {"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}],
                }
            ],
            "Converse\n[tool call] f {}",
        ),
        (
            [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "g", "input": {"b": 2}}]}],
            '[tool call] g {"b":2}',
        ),
        ({"messages": [{"role": "user", "parts": [{"type": "text", "text": "only a question"}]}]}, "only a question"),
        ({"b": 1, "a": [1, 2]}, '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}'),
        (["a", "b"], '[\n  "a",\n  "b"\n]'),
    ],
)
def test_answer_text(value: Any, text: str) -> None:
    assert answer_text(value) == text


def test_reasoning_and_media_are_not_part_of_the_answer() -> None:
    message = {
        "role": "assistant",
        "parts": [
            {"type": "reasoning", "text": "hmm", "redacted": False},
            {"type": "image", "media_type": "image/png", "detail": "inline data, 3 kB", "url": None},
            {"type": "text", "text": "Done"},
        ],
    }
    assert answer_text([message]) == "Done"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("What is 2+2?", "What is 2+2?"),
        ({"messages": [{"role": "user", "parts": [{"type": "text", "text": "Hi"}]}], "parameters": {}}, "Hi"),
        (
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]},
            "system: Be brief.\n\nuser: Hi",
        ),
        ({"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}, "system: Be brief.\n\nuser: Hi"),
        (
            [
                {"role": "user", "content": "Look"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            ],
            "user: Look\n\nuser: [image: remote URL]",
        ),
        ({"model": "gpt-5", "input": "Responses API"}, "Responses API"),
        ({"model": "gpt-5", "input": [{"role": "user", "content": "Responses list"}]}, "Responses list"),
        ({"messages": [{"role": "user", "content": [{"text": "Converse question"}]}]}, "Converse question"),
        ({"model": "davinci-002", "prompt": "Once upon"}, "Once upon"),
        ({"question": "q"}, '{\n  "question": "q"\n}'),
        (None, ""),
    ],
)
def test_prompt_text(value: Any, text: str) -> None:
    assert prompt_text(value) == text


def test_value_text() -> None:
    assert value_text(["doc one", "doc two"]) == "doc one\n\ndoc two"
    assert value_text("x") == "x"
    assert value_text(None) == ""
    assert value_text([{"text": "a"}]) == '[\n  {\n    "text": "a"\n  }\n]'


def test_json_text_never_raises() -> None:
    assert json_text({1: object()}).startswith("{1: <object")
    assert json_text(2**70) == str(2**70)


def test_chat_like() -> None:
    assert is_chat_like(OPENAI_CHAT)
    assert is_chat_like(DATASET_EXPECTED)
    assert is_chat_like([{"role": "assistant", "content": "x"}])
    assert not is_chat_like({"answer": "x"})
    assert not is_chat_like([1, 2])
    assert not is_chat_like([{"role": "user"}])  # a role but nothing said


@pytest.mark.parametrize(
    "odd",
    [
        {"choices": "not a list"},
        {"choices": [None, 3]},
        {"messages": [{"role": 3}]},
        {"type": "message", "content": [None]},
        {"output": {"message": "x"}},
        [{"role": "assistant", "parts": [None, {"type": "text"}]}],
        {"role": "assistant", "content": {"weird": True}},
    ],
)
def test_odd_shapes_never_raise(odd: Any) -> None:
    assert isinstance(answer_text(odd), str)
    assert isinstance(prompt_text(odd), str)
