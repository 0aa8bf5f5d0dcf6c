"""The demo's plan: exactly N calls, deterministic, covering every kind of traffic, in step with the script."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from glassgate.demo import catalog
from glassgate.demo.plan import ANTHROPIC_UPSTREAM, OPENAI_UPSTREAM, Call, make_plan
from glassgate.demo.simulation import FAULT_HEADER, Simulation

VENDOR_HEADERS = {
    OPENAI_UPSTREAM: {"authorization": "Bearer demo-key"},
    ANTHROPIC_UPSTREAM: {"x-api-key": "demo-key", "anthropic-version": "2023-06-01"},
}


def calls_of(count: int, seed: int = 7) -> list[Call]:
    return [call for episode in make_plan(count, seed) for call in episode.calls]


@pytest.mark.parametrize("count", [1, 7, 20, 300])
def test_exactly_the_calls_asked_for(count: int) -> None:
    assert len(calls_of(count)) == count


def test_the_same_seed_gives_the_same_plan_and_another_does_not() -> None:
    assert make_plan(120) == make_plan(120)
    assert make_plan(120, seed=8) != make_plan(120)


def test_a_short_demo_already_covers_every_kind_of_traffic() -> None:
    plan = make_plan(24)
    calls = [call for episode in plan for call in episode.calls]
    assert {episode.kind for episode in plan} == {"support", "code", "summarizer", "rag", "agent", "guardrail"}
    assert {call.upstream for call in calls} == {OPENAI_UPSTREAM, ANTHROPIC_UPSTREAM}
    assert {call.path for call in calls} == {"/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages"}
    assert {call.stream for call in calls} == {True, False}
    assert {call.headers.get(FAULT_HEADER) for call in calls} == {None, "rate_limit", "server_error", "stream_error"}
    risky = {turn.prompt for _, turn in catalog.script().risky}
    sent = {call.body["messages"][-1]["content"] for call in calls if "messages" in call.body}
    assert risky <= sent


def test_context_headers_like_an_instrumented_app() -> None:
    calls = calls_of(300)
    sessions = Counter(call.headers.get("x-glassgate-session-id") for call in calls)
    assert len(sessions) > 50 and max(count for session, count in sessions.items() if session) >= 3
    assert 5 <= len({call.headers.get("x-glassgate-user-id") for call in calls}) <= 17
    assert all(call.headers["x-glassgate-tags"].split(",")[-1] in ("prod", "staging") for call in calls)
    assert all(any(name.startswith("x-glassgate-metadata-") for name in call.headers) for call in calls)
    models = Counter(call.body["model"] for call in calls)
    assert set(models) == {
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1-mini",
        "text-embedding-3-small",
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
    }
    # RAG and agent steps share a trace: every call of the episode carries the same traceparent.
    for episode in make_plan(300):
        parents = {call.headers.get("traceparent") for call in episode.calls}
        assert len(parents) == 1
        assert (parents != {None}) == (episode.kind in ("rag", "agent"))


def test_a_failed_call_is_retried_as_the_sdks_do() -> None:
    calls = calls_of(300)
    for number, call in enumerate(calls):
        if call.headers.get(FAULT_HEADER) in ("rate_limit", "server_error"):
            retry = calls[number + 1]
            assert retry.body == call.body and retry.headers["x-stainless-retry-count"] == "1"
            assert FAULT_HEADER not in retry.headers


def test_every_planned_call_gets_a_scripted_answer() -> None:
    """The plan and the script agree: no call falls back to the placeholder, tool ids match."""
    simulation = Simulation()
    for call in calls_of(300):
        if FAULT_HEADER in call.headers or call.path == "/v1/embeddings":
            continue
        headers = {**VENDOR_HEADERS[call.upstream], **call.headers}
        answer = simulation.respond("POST", call.path, headers, json.dumps(call.body).encode())
        assert answer.status == 200, answer.body
        assert catalog.FALLBACK.encode() not in answer.body.replace(b"\\", b"")
        text = b"".join(answer.chunks).decode()
        if "tools" in call.body and call.upstream == OPENAI_UPSTREAM and call.body["messages"][-1]["role"] == "user":
            assert "call_dm" in text  # the scripted call id, which the follow-up call answers
