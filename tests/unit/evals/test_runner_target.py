"""evals.target without a network: templates, and answers read into outcomes (text, usage, cost, tools)."""

from __future__ import annotations

import orjson
import pytest

from glassgate.evals import chat_wire, target
from glassgate.evals.chat_wire import Endpoint
from glassgate.evals.judge_client import Answer, header_text
from glassgate.evals.online import sampled
from tests.fakes import bedrock_fixtures as bedrock_fx
from tests.fakes import openai_fixtures as fx

ITEM = {
    "item_id": "it_1",
    "input": {"question": "Capital of France?", "context": {"docs": ["Paris is the capital."]}},
    "expected_output": "Paris",
    "metadata": {"topic": "geo"},
}


def test_a_template_takes_the_items_columns() -> None:
    template: target.Template = [
        {"role": "system", "content": "Use: {{ input.context.docs.0 }} ({{ metadata.topic }})"},
        {"role": "user", "content": "{{question}} / {{ expected_output }} / {{ item_id }} / {{ context }}"},
    ]
    assert target.check_template(template) == {
        "input.context.docs.0",
        "metadata.topic",
        "question",
        "expected_output",
        "item_id",
        "context",
    }
    assert target.render(template, ITEM) == [
        {"role": "system", "content": "Use: Paris is the capital. (geo)"},
        {"role": "user", "content": 'Capital of France? / Paris / it_1 / {"docs":["Paris is the capital."]}'},
    ]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ answer }}", "template variable {{answer}} is unknown: item it_1 has no column 'answer' (its input has "),
        ("{{ input.topic }}", "dataset column input.topic is missing from item it_1"),
        ("{{ metadata.owner.name }}", "dataset column metadata.owner is missing from item it_1"),
    ],
)
def test_an_item_that_cannot_fill_the_template_is_told_why(template: str, message: str) -> None:
    with pytest.raises(target.TemplateError) as raised:
        target.render(template, ITEM)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hello {{ name", "a '{{' is never closed"),
        ("{{ two words }}", "is not a placeholder"),
        ([], "non-empty list"),
        ([{"role": "robot", "content": "x"}], "role is one of"),
        ([{"role": "user"}], "needs exactly `role` and `content`"),
    ],
)
def test_a_malformed_template_is_refused_before_any_item(template: target.Template, message: str) -> None:
    with pytest.raises(target.TemplateError) as raised:
        target.check_template(template)
    assert message in str(raised.value)


def test_without_a_template_text_and_conversations_are_sent_as_they_are() -> None:
    plain = target.Target("openai", "m")
    assert target.messages_for(plain, {"input": "hi"}) == [{"role": "user", "content": "hi"}]
    openai_style = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}
    assert target.messages_for(plain, {"input": openai_style}) == openai_style["messages"]
    neutral = {"messages": [{"role": "user", "parts": [{"type": "text", "text": "from a span"}]}], "parameters": {}}
    assert target.messages_for(plain, {"input": neutral}) == [{"role": "user", "content": "from a span"}]
    with pytest.raises(target.TemplateError, match="neither text nor a conversation"):
        target.messages_for(plain, {"item_id": "it_9", "input": {"question": "q"}})


def answer(endpoint: Endpoint, body: bytes, span_id: str | None = None) -> Answer:
    summary = chat_wire.summarize(endpoint, b"{}", 200, "application/json", [body], {})
    return Answer(summary, span_id, 12.0)


def test_answers_give_text_usage_cost_and_tool_calls() -> None:
    openai = Endpoint("o", "openai", "gpt-4o-mini")
    body = fx.chat_completion({}, azure=False)
    outcome = target.outcome_of(openai, answer(openai, orjson.dumps(body), "00000000000000ab"))
    assert (outcome.output, outcome.output_span_id, outcome.input_tokens, outcome.output_tokens) == (
        fx.TEXT,
        "00000000000000ab",
        12,
        6,
    )
    assert outcome.cost_usd is not None and outcome.cost_usd > 0
    assert (outcome.latency_ms, outcome.ttft_ms) == (12.0, None)  # not streamed: no time to first token
    with_tools = fx.chat_completion({"tools": [{"type": "function"}]}, azure=False)
    called = target.outcome_of(openai, answer(openai, orjson.dumps(with_tools))).output
    assert called["messages"][0]["parts"][0]["name"] == "get_weather"
    anthropic = Endpoint("c", "anthropic", "claude-3-5-haiku-latest")
    message = {
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-latest",
        "content": [{"type": "text", "text": "Bonjour"}],
        "usage": {"input_tokens": 10, "output_tokens": 3, "cache_read_input_tokens": 5},
    }
    read = target.outcome_of(anthropic, answer(anthropic, orjson.dumps(message)))
    assert (read.output, read.input_tokens, read.output_tokens) == ("Bonjour", 15, 3)
    assert target.outcome_of(openai, answer(openai, b"<html>")).error == "the answer is not a JSON object"


def test_a_converse_answer_gives_text_usage_cost_and_tool_calls() -> None:
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    bedrock = Endpoint("b", "bedrock", model)
    read = target.outcome_of(bedrock, answer(bedrock, orjson.dumps(bedrock_fx.converse({}))))
    # Converse counts cache reads apart from inputTokens; outcomes count them in, as spans do.
    assert (read.output, read.input_tokens, read.output_tokens) == (bedrock_fx.TEXT, 16, 6)
    assert read.cost_usd is not None and read.cost_usd > 0  # priced by the model id in the path
    tools = bedrock_fx.converse({"toolConfig": {"tools": []}})
    called = target.outcome_of(bedrock, answer(bedrock, orjson.dumps(tools))).output
    assert called["messages"][0]["parts"][0] == {
        "type": "tool_call",
        "id": "tooluse_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }


def test_sampling_is_deterministic_and_proportional() -> None:
    ids = [f"{n:016x}" for n in range(10_000)]
    assert [sampled(span_id, 0.25) for span_id in ids] == [sampled(span_id, 0.25) for span_id in ids]
    share = sum(sampled(span_id, 0.25) for span_id in ids) / len(ids)
    assert 0.23 < share < 0.27
    assert not any(sampled(span_id, 0.0) for span_id in ids) and all(sampled(span_id, 1.0) for span_id in ids)
    # A span sampled at a rate is sampled at every higher rate: raising a rate only adds spans.
    assert all(sampled(span_id, 0.5) for span_id in ids if sampled(span_id, 0.25))


def test_header_values_travel_as_ascii() -> None:
    assert header_text("exact match (v2)") == "exact match (v2)"
    assert header_text("exactitude-é") == "exactitude-%C3%A9"
    assert header_text("line\nbreak") == "line%0Abreak"
