"""evals.target and evals.judge_client, without a network: templates, requests and answers in each format."""

from __future__ import annotations

import orjson
import pytest

from glassgate.evals import target
from glassgate.evals.judge_client import Endpoint, answer_text, chat_body, header_text
from glassgate.evals.online import sampled
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


def test_requests_are_written_in_each_vendors_format() -> None:
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    openai = Endpoint("o", "openai", "gpt-4o-mini")
    assert chat_body(openai, messages, {"temperature": 0}) == {
        "model": "gpt-4o-mini",
        "messages": messages,
        "temperature": 0,
    }
    azure = Endpoint("a", "azure", "my-deployment", "2024-10-21")
    assert azure.path() == (
        ("openai", "deployments", "my-deployment", "chat", "completions"),
        {"api-version": "2024-10-21"},
    )
    assert "model" not in chat_body(azure, messages, {})
    anthropic = Endpoint("c", "anthropic", "claude-x")
    assert chat_body(anthropic, messages, {"max_tokens": 50}) == {
        "model": "claude-x",
        "max_tokens": 50,
        "system": "sys",
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_answers_give_text_usage_cost_and_tool_calls() -> None:
    openai = Endpoint("o", "openai", "gpt-4o-mini")
    body = fx.chat_completion({}, azure=False)
    assert answer_text(openai, orjson.dumps(body)) == fx.TEXT
    outcome = target.outcome_of(openai, orjson.dumps(body), "00000000000000ab", 12.0)
    assert (outcome.output, outcome.output_span_id, outcome.input_tokens, outcome.output_tokens) == (
        fx.TEXT,
        "00000000000000ab",
        12,
        6,
    )
    assert outcome.cost_usd is not None and outcome.cost_usd > 0
    with_tools = fx.chat_completion({"tools": [{"type": "function"}]}, azure=False)
    called = target.outcome_of(openai, orjson.dumps(with_tools), None, 1.0).output
    assert called["messages"][0]["parts"][0]["name"] == "get_weather"
    anthropic = Endpoint("c", "anthropic", "claude-3-5-haiku-latest")
    message = {
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-latest",
        "content": [{"type": "text", "text": "Bonjour"}],
        "usage": {"input_tokens": 10, "output_tokens": 3, "cache_read_input_tokens": 5},
    }
    assert answer_text(anthropic, orjson.dumps(message)) == "Bonjour"
    read = target.outcome_of(anthropic, orjson.dumps(message), None, 1.0)
    assert (read.output, read.input_tokens, read.output_tokens) == ("Bonjour", 15, 3)
    assert target.outcome_of(openai, b"<html>", None, 1.0).error == "the answer is not JSON"


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
