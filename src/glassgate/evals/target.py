"""An experiment's target: a model behind an upstream, asked each dataset item through the proxy.

The item becomes chat messages in one of two ways:
- with a prompt template: text (one user message) or a list of `{"role", "content"}`
  messages whose `{{ name }}` placeholders take the item's values: the input's own fields
  when the input is an object (`{{ question }}`), or `{{ input }}`, `{{ input.question }}`,
  `{{ expected_output }}`, `{{ metadata.topic }}`, `{{ item_id }}`. Strings go in as they
  are, other values as JSON;
- without one: a text input is the user message, and an input with `messages` (OpenAI-style
  or the neutral form of items made from spans) is the conversation.
A placeholder the item cannot fill is that item's error (`TemplateError`), and the run goes on.

The request is in the upstream's own format (`chat_wire`: OpenAI and Azure chat, Anthropic
Messages, Bedrock Converse); with `stream`, it asks for a stream (Bedrock: ConverseStream), read
as it arrives through the proxy. The answer's text is the output (or, when the model called
tools, the neutral `{"messages": [...]}` answer), with its span id, latency, time to first token
(streamed targets), token counts and cost (from the same price table the spans use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from glassgate.evals.chat_wire import Endpoint, chat_body
from glassgate.evals.judge_client import EXPERIMENT_TAG, Answer, ProxyClient
from glassgate.storage.eval_runs import TargetOutcome
from glassgate.tracing import pricing
from glassgate.tracing.conversation import conversation_of

_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w-]+)*")
_ITEM_FIELDS = ("input", "expected_output", "expected", "metadata", "item_id")
ROLES = frozenset({"system", "user", "assistant"})
# Fields of the request body the experiment itself sets (streaming is the target's `stream`).
RESERVED_PARAMETERS = frozenset({"model", "messages", "system", "stream", "stream_options", "n"})


class TemplateError(ValueError):
    """A template that cannot be read, or an item it cannot be filled from."""


Template = str | list[dict[str, str]]


@dataclass(frozen=True)
class Target:
    upstream: str
    model: str
    prompt_template: Template | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    api_version: str = "2024-10-21"  # azure only: the api-version query value
    stream: bool = False  # ask for a streamed answer (and time its first token)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Target:
        return cls(
            upstream=str(value["upstream"]),
            model=str(value["model"]),
            prompt_template=value.get("prompt_template"),
            parameters=dict(value.get("parameters") or {}),
            api_version=str(value.get("api_version") or "2024-10-21"),
            stream=bool(value.get("stream", False)),
        )


def check_template(template: Template) -> set[str]:
    """The placeholder names of a template; TemplateError when it is malformed."""
    messages = [{"role": "user", "content": template}] if isinstance(template, str) else template
    if not isinstance(messages, list) or not messages:
        raise TemplateError("a prompt template is text or a non-empty list of {role, content} messages")
    names: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or set(message) != {"role", "content"}:
            raise TemplateError(f"message {index}: needs exactly `role` and `content`")
        if message["role"] not in ROLES or not isinstance(message["content"], str):
            raise TemplateError(f"message {index}: role is one of {', '.join(sorted(ROLES))}; content is text")
        content = message["content"]
        for match in _PLACEHOLDER.finditer(content):
            if not _NAME.fullmatch(match.group(1)):
                raise TemplateError(f"message {index}: {match.group(0)!r} is not a placeholder like {{{{ question }}}}")
            names.add(match.group(1))
        if "{{" in _PLACEHOLDER.sub("", content):
            raise TemplateError(f"message {index}: a '{{{{' is never closed with '}}}}'")
    return names


def check_parameters(parameters: Mapping[str, Any]) -> None:
    reserved = sorted(set(parameters) & RESERVED_PARAMETERS)
    if reserved:
        raise ValueError(f"parameters cannot set {', '.join(reserved)} (the experiment sets them)")


def render(template: Template, item: Mapping[str, Any]) -> list[dict[str, str]]:
    """The template's messages, filled from the item."""
    messages = [{"role": "user", "content": template}] if isinstance(template, str) else template
    return [
        {"role": message["role"], "content": _PLACEHOLDER.sub(lambda m: _fill(m.group(1), item), message["content"])}
        for message in messages
    ]


def _fill(name: str, item: Mapping[str, Any]) -> str:
    value = _lookup(name, item)
    return value if isinstance(value, str) else "" if value is None else orjson.dumps(value).decode()


def _lookup(name: str, item: Mapping[str, Any]) -> Any:
    item_input = item.get("input")
    head, *rest = name.split(".")
    if head in _ITEM_FIELDS:
        value: Any = item.get("expected_output" if head == "expected" else head)
        where = head
    elif isinstance(item_input, Mapping) and head in item_input:
        value, where = item_input[head], f"input.{head}"
    else:
        columns = sorted(item_input) if isinstance(item_input, Mapping) else []
        has = f"its input has {', '.join(columns)}" if columns else "its input has no fields"
        raise TemplateError(
            f"template variable {{{{{name}}}}} is unknown: item {item.get('item_id')} has no column {head!r} "
            f"({has}; also input, expected_output, metadata, item_id)"
        )
    for step in rest:
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            raise TemplateError(f"dataset column {where}.{step} is missing from item {item.get('item_id')}")
        where = f"{where}.{step}"
    return value


def messages_for(target: Target, item: Mapping[str, Any]) -> list[dict[str, str]]:
    if target.prompt_template is not None:
        return render(target.prompt_template, item)
    item_input = item.get("input")
    if isinstance(item_input, str):
        return [{"role": "user", "content": item_input}]
    if isinstance(item_input, Mapping) and isinstance(item_input.get("messages"), list) and item_input["messages"]:
        given = item_input["messages"]
        neutral = all(isinstance(message, Mapping) and isinstance(message.get("parts"), list) for message in given)
        # OpenAI-style messages are read into the neutral form first: content may be a list of parts.
        neutral_messages = (
            given if neutral else conversation_of("openai", "chat", {"messages": given}, None)["messages"]
        )
        messages = [_plain(message) for message in neutral_messages]
        if messages:
            return messages
    raise TemplateError(
        f"item {item.get('item_id')}: its input is neither text nor a conversation (`messages`); "
        "give the experiment a prompt template that names its fields, e.g. {{ question }}"
    )


def _plain(message: Mapping[str, Any]) -> dict[str, str]:
    """A neutral message as an OpenAI-style text message (tool turns become user text)."""
    texts = []
    for part in message.get("parts") or []:
        kind = part.get("type")
        if kind in ("text", "refusal"):
            texts.append(str(part.get("text") or ""))
        elif kind == "tool_call":
            texts.append(f"[tool call] {part.get('name')} {orjson.dumps(part.get('arguments')).decode()}")
        elif kind == "tool_result":
            texts.append(f"[tool result] {part.get('content') or ''}")
    role = message.get("role")
    return {"role": role if role in ROLES else "user", "content": "\n".join(texts)}


async def ask(
    client: ProxyClient,
    endpoint: Endpoint,
    target: Target,
    item: Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    max_retries: int,
) -> TargetOutcome:
    """One item through the target. TemplateError and CallRefused are the item's; UpstreamError means try later."""
    body = chat_body(endpoint, messages_for(target, item), target.parameters)
    answer = await client.post(endpoint, body, {"x-glassgate-tags": EXPERIMENT_TAG, **headers}, max_retries)
    return outcome_of(endpoint, answer)


def outcome_of(endpoint: Endpoint, answer: Answer) -> TargetOutcome:
    summary = answer.summary
    timing = TargetOutcome(output_span_id=answer.span_id, latency_ms=answer.latency_ms, ttft_ms=answer.ttft_ms)
    response = summary.response_json
    if not isinstance(response, dict):
        return replace(timing, error="the answer is not a JSON object")
    usage = summary.usage
    served = summary.response_model or endpoint.model
    cost = pricing.price(
        endpoint.vendor,
        served,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    answered = conversation_of(endpoint.vendor, summary.operation, None, response, model=endpoint.model)["output"]
    first = [message for message in answered if message.get("choice") in (None, 0)]
    parts = [part for message in first for part in message.get("parts") or []]
    output: Any
    if any(part.get("type") == "tool_call" for part in parts):
        output = {"messages": first}
    else:
        output = "".join(str(part.get("text") or "") for part in parts if part.get("type") in ("text", "refusal"))
    return replace(
        timing, output=output, cost_usd=cost.usd, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens
    )
