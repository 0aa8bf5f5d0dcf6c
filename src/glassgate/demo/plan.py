"""Which calls the demo makes: a deterministic mix of the script's applications, as HTTP requests.

An `Episode` is what one user of one application does: the calls of a session, sent one after
another (a multi-turn chat, an embedding then the answer, a tool call then the final answer).
Episodes run concurrently. Each call carries the context headers an instrumented app would
send (`x-glassgate-session-id`, `-user-id`, `-tags`, `-metadata-*`, a W3C `traceparent` for
multi-call steps), and some ask the simulated vendor for a failure: a 429 or a 5xx (followed by
the client's retry, as the SDKs do) or a stream that breaks off (the episode ends there).
Pure: the same `calls` and `seed` always give the same plan.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from glassgate.demo.catalog import (
    AGENT_SYSTEM,
    ANTHROPIC_ORDER_TOOL,
    CODE_SYSTEM,
    OPENAI_ORDER_TOOL,
    SUMMARY_SYSTEM,
    SUPPORT_SYSTEM,
    Conversation,
    ToolTask,
    script,
)
from glassgate.demo.simulation import FAULT_HEADER

OPENAI_UPSTREAM = "demo-openai"
ANTHROPIC_UPSTREAM = "demo-anthropic"
# Faults on a fixed schedule, so that even a short demo has some: every 25th call gets a 429
# and every 50th a 5xx (each then retried), every 12th streamed call breaks off.
_RATE_LIMITED_EVERY, _SERVER_ERROR_EVERY, _STREAM_ERROR_EVERY = 25, 50, 12


@dataclass(frozen=True, slots=True)
class Call:
    upstream: str
    path: str  # under the upstream, e.g. /v1/chat/completions
    body: dict[str, Any]
    headers: dict[str, str]  # context and fault headers; the client adds the vendor key

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


@dataclass(frozen=True, slots=True)
class Episode:
    kind: str  # support, code, summarizer, rag, agent, guardrail
    calls: tuple[Call, ...]


History = list[tuple[str, str]]  # (prompt, answer) of earlier turns


def openai_chat(
    model: str, system: str, history: History, prompt: str, *, stream: bool, usage: bool = True
) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for asked, answered in history:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
    messages.append({"role": "user", "content": prompt})
    body: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0.3}
    if stream:
        body["stream"] = True
        if usage:
            body["stream_options"] = {"include_usage": True}
    return body


def anthropic_messages(model: str, system: str, history: History, prompt: str, *, stream: bool) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for asked, answered in history:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
    messages.append({"role": "user", "content": prompt})
    # The system prompt is marked for prompt caching, so later calls read it from the cache.
    cached_system = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    body: dict[str, Any] = {"model": model, "max_tokens": 1024, "system": cached_system, "messages": messages}
    if stream:
        body["stream"] = True
    return body


class _Planner:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.script = script()
        self.users = [f"user-{self.rng.randrange(1000, 9999)}" for _ in range(16)]
        self.risky = itertools.cycle(self.script.risky)
        self.calls_seen = self.streams_seen = 0

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def context(self, tags: list[str], *, session: bool = True, user: bool = True, **metadata: str) -> dict[str, str]:
        env = "staging" if self.rng.random() < 0.15 else "prod"
        headers = {"x-glassgate-tags": ",".join([*tags, env])}
        if session:
            headers["x-glassgate-session-id"] = f"sess_{self.hex(12)}"
        if user:
            headers["x-glassgate-user-id"] = self.rng.choice(self.users)
        headers.update({f"x-glassgate-metadata-{name.replace('_', '-')}": value for name, value in metadata.items()})
        headers["x-glassgate-metadata-app-version"] = self.rng.choice(["2.14.0", "2.14.0", "2.15.1"])
        return headers

    def traceparent(self) -> str:
        return f"00-{self.hex(32)}-{self.hex(16)}-01"

    def chat(self, conversation: Conversation, headers: dict[str, str], *, anthropic: bool, model: str) -> list[Call]:
        stream = self.rng.random() < 0.6
        usage = self.rng.random() < 0.8  # the rest: token counts estimated by Glassgate
        history: History = []
        calls = []
        for turn in conversation.turns:
            if anthropic:
                body = anthropic_messages(model, conversation.system, history, turn.prompt, stream=stream)
                calls.append(Call(ANTHROPIC_UPSTREAM, "/v1/messages", body, headers))
            else:
                body = openai_chat(model, conversation.system, history, turn.prompt, stream=stream, usage=usage)
                calls.append(Call(OPENAI_UPSTREAM, "/v1/chat/completions", body, headers))
            history.append((turn.prompt, turn.answer))
        return calls

    def support(self) -> Episode:
        conversation = self.rng.choice(self.script.support)
        plan = self.rng.choice(["free", "pro", "pro", "business"])
        headers = self.context(["support", self.rng.choice(["web", "mobile"])], plan=plan)
        anthropic = self.rng.random() < 0.25
        model = "claude-haiku-4-5" if anthropic else "gpt-4o-mini"
        return Episode("support", tuple(self.chat(conversation, headers, anthropic=anthropic, model=model)))

    def code(self) -> Episode:
        conversation = self.rng.choice(self.script.code)
        headers = self.context(["code-assistant", "ide"], feature="review")
        anthropic = self.rng.random() < 0.75
        model = "claude-sonnet-4-6" if anthropic else "gpt-4o"
        return Episode("code", tuple(self.chat(conversation, headers, anthropic=anthropic, model=model)))

    def summarizer(self) -> Episode:
        turn = self.rng.choice(self.script.summaries)
        headers = self.context(["summarizer", "batch"], session=False, user=False, job=f"nightly-{self.hex(6)}")
        if self.rng.random() < 0.6:
            body: dict[str, Any] = {"model": "gpt-4.1-mini", "instructions": SUMMARY_SYSTEM, "input": turn.prompt}
            if self.rng.random() < 0.4:
                body["stream"] = True
            return Episode("summarizer", (Call(OPENAI_UPSTREAM, "/v1/responses", body, headers),))
        body = anthropic_messages("claude-haiku-4-5", SUMMARY_SYSTEM, [], turn.prompt, stream=False)
        return Episode("summarizer", (Call(ANTHROPIC_UPSTREAM, "/v1/messages", body, headers),))

    def rag(self) -> Episode:
        question = self.rng.choice(self.script.rag)
        headers = {
            **self.context(["rag", "docs-search"], session=self.rng.random() < 0.5),
            "traceparent": self.traceparent(),
        }
        embed = {"model": "text-embedding-3-small", "input": question.question, "encoding_format": "base64"}
        system = "You answer questions about Lumen from its documentation."
        stream = self.rng.random() < 0.5
        answer = openai_chat("gpt-4o", system, [], question.prompt, stream=stream)
        return Episode(
            "rag",
            (
                Call(OPENAI_UPSTREAM, "/v1/embeddings", embed, headers),
                Call(OPENAI_UPSTREAM, "/v1/chat/completions", answer, headers),
            ),
        )

    def agent(self) -> Episode:
        task = self.rng.choice(self.script.tools)
        headers = {**self.context(["agent", "orders"]), "traceparent": self.traceparent()}
        if self.rng.random() < 0.6:
            return Episode("agent", _openai_tool_calls(task, headers, stream=self.rng.random() < 0.3))
        return Episode("agent", _anthropic_tool_calls(task, headers, stream=self.rng.random() < 0.3))

    def guardrail(self) -> Episode:
        """One risky turn: a pasted credential to the code helper, PII or an injection to the support bot."""
        kind, turn = next(self.risky)
        if kind == "secret":
            headers = self.context(["code-assistant", "ide"], feature="debug")
            calls = self.chat(Conversation(CODE_SYSTEM, (turn,)), headers, anthropic=True, model="claude-sonnet-4-6")
        else:
            headers = self.context(["support", "web"], plan="free")
            calls = self.chat(Conversation(SUPPORT_SYSTEM, (turn,)), headers, anthropic=False, model="gpt-4o-mini")
        return Episode("guardrail", tuple(calls))

    def with_faults(self, episode: Episode) -> Episode:
        calls: list[Call] = []
        for call in episode.calls:
            self.calls_seen += 1
            self.streams_seen += call.stream
            if call.stream and self.streams_seen % _STREAM_ERROR_EVERY == 3:
                calls.append(replace(call, headers={**call.headers, FAULT_HEADER: "stream_error"}))
                break  # the app shows its user an error; the conversation ends there
            fault = None
            if self.calls_seen % _RATE_LIMITED_EVERY == 2:
                fault = "rate_limit"
            elif self.calls_seen % _SERVER_ERROR_EVERY == 14:
                fault = "server_error"
            if fault is not None:
                calls.append(replace(call, headers={**call.headers, FAULT_HEADER: fault}))
                call = replace(call, headers={**call.headers, "x-stainless-retry-count": "1"})
            calls.append(call)
        return replace(episode, calls=tuple(calls))


def _openai_tool_calls(task: ToolTask, headers: dict[str, str], *, stream: bool) -> tuple[Call, ...]:
    first = openai_chat("gpt-4o", AGENT_SYSTEM, [], task.prompt, stream=stream)
    first["tools"] = [OPENAI_ORDER_TOOL]
    arguments = _json(task.call.arguments)
    call = {"id": task.call.openai_id, "type": "function", "function": {"name": task.call.name, "arguments": arguments}}
    second = {
        **first,
        "messages": [
            *first["messages"],
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": task.call.openai_id, "content": _json(task.result)},
        ],
    }
    path = "/v1/chat/completions"
    return Call(OPENAI_UPSTREAM, path, first, headers), Call(OPENAI_UPSTREAM, path, second, headers)


def _anthropic_tool_calls(task: ToolTask, headers: dict[str, str], *, stream: bool) -> tuple[Call, ...]:
    first = anthropic_messages("claude-sonnet-4-6", AGENT_SYSTEM, [], task.prompt, stream=stream)
    first["tools"] = [ANTHROPIC_ORDER_TOOL]
    use = {"type": "tool_use", "id": task.call.anthropic_id, "name": task.call.name, "input": task.call.arguments}
    result = {"type": "tool_result", "tool_use_id": task.call.anthropic_id, "content": _json(task.result)}
    second = {
        **first,
        "messages": [
            *first["messages"],
            {"role": "assistant", "content": [{"type": "text", "text": task.preamble}, use]},
            {"role": "user", "content": [result]},
        ],
    }
    return Call(ANTHROPIC_UPSTREAM, "/v1/messages", first, headers), Call(
        ANTHROPIC_UPSTREAM, "/v1/messages", second, headers
    )


def _json(value: Any) -> str:
    return json.dumps(value)


_MIX: tuple[tuple[str, int], ...] = (
    ("support", 30),
    ("code", 20),
    ("summarizer", 15),
    ("rag", 15),
    ("agent", 12),
    ("guardrail", 8),
)


def make_plan(calls: int, seed: int = 7) -> list[Episode]:
    """Episodes holding exactly `calls` calls in all (the last one cut short if need be)."""
    planner = _Planner(seed)
    makers: dict[str, Callable[[], Episode]] = {
        "support": planner.support,
        "code": planner.code,
        "summarizer": planner.summarizer,
        "rag": planner.rag,
        "agent": planner.agent,
        "guardrail": planner.guardrail,
    }
    kinds = [kind for kind, _ in _MIX]
    weights = [weight for _, weight in _MIX]
    episodes: list[Episode] = []
    planned = 0
    # Every kind first (a guardrail trip of each kind), so even a short demo fills every page.
    order = iter([*kinds, "guardrail", "guardrail"])
    while planned < calls:
        kind = next(order, None) or planner.rng.choices(kinds, weights)[0]
        episode = planner.with_faults(makers[kind]())
        episode = replace(episode, calls=episode.calls[: calls - planned])
        episodes.append(episode)
        planned += len(episode.calls)
    return episodes
