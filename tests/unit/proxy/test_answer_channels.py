"""Every piece of text an OpenAI-format stream carries is a guarded channel: chat refusals and
reasoning (`delta.refusal`, `delta.reasoning_content`, `delta.reasoning`), the Responses API's
refusals, reasoning summaries and an MCP call's output; what is still relayed unread is named in
the span's notes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_stream import stream_guard_for
from glassgate.proxy.sse import parse_events
from tests.unit.proxy.answer_guards import output_guard, restoring_guard

JANE = "jane.doe@example.com"
WORDS = ["Sorry, ", "won't ", "mail ", "jane.doe@", "example.com", " today."]
SAID, REDACTED = "".join(WORDS), "Sorry, won't mail <EMAIL_1> today."
MASKED, RESTORED = "Dear <EMAIL_1>, bye.", f"Dear {JANE}, bye."
CHAT, RESPONSES = "/v1/chat/completions", "/v1/responses"


def relay(path: str, chunks: list[bytes], guard: AnswerGuard, cut: int | None = None) -> tuple[bytes, bytes]:
    stream = stream_guard_for("openai", path, guard)
    assert stream is not None
    data = b"".join(chunks)
    pieces = [data[at : at + cut] for at in range(0, len(data), cut)] if cut else chunks
    pairs = [stream.feed(piece) for piece in pieces]
    pairs.append(stream.flush())
    return b"".join(pair[0] for pair in pairs), b"".join(pair[1] for pair in pairs)


def sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def events(data: bytes) -> list[tuple[str | None, Any]]:
    return [(e.event, json.loads(e.data) if e.data != "[DONE]" else e.data) for e in parse_events([data])]


# --- Chat Completions: refusal and reasoning ------------------------------------------------------------


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return sse({"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]})


def chat_stream(field: str, pieces: list[str], answer: tuple[str, ...] = ()) -> list[bytes]:
    return [
        chat_chunk({"role": "assistant", "content": "", "refusal": None}),
        *(chat_chunk({field: piece}) for piece in pieces),
        *(chat_chunk({"content": piece}) for piece in answer),
        chat_chunk({}, "stop"),
        b"data: [DONE]\n\n",
    ]


def joined(data: bytes, field: str) -> str:
    return "".join(
        choice["delta"].get(field) or ""
        for _, payload in events(data)
        if payload != "[DONE]"
        for choice in payload["choices"]
    )


@pytest.mark.parametrize("cut", [None, 9])
@pytest.mark.parametrize("field", ["refusal", "reasoning_content", "reasoning"])
def test_chat_refusal_and_reasoning_deltas_are_redacted(field: str, cut: int | None) -> None:
    chunks = chat_stream(field, WORDS)
    client, stored = relay(CHAT, chunks, answer := output_guard(block_secrets=False), cut)
    assert client == stored and joined(client, field) == REDACTED
    assert chunks[0] in client and chunks[1] in client, "chunks that changed nothing, as they came"
    assert [f.field for f in answer.findings] == [f"choices[0].message.{field}"]


def test_chat_reasoning_held_is_sent_with_the_first_piece_of_the_answer() -> None:
    chunks = chat_stream("reasoning_content", ["Ask ", "jane.doe@exam"], answer=("Done. ", "Bye."))
    client, _ = relay(CHAT, chunks, output_guard(block_secrets=False))
    first_answer = next(p for _, p in events(client) if p != "[DONE]" and p["choices"][0]["delta"].get("content"))
    assert first_answer["choices"][0]["delta"] == {"content": "Done. ", "reasoning_content": "jane.doe@exam"}
    assert joined(client, "reasoning_content") == "Ask jane.doe@exam" and joined(client, "content") == "Done. Bye."


def test_chat_reasoning_restores_placeholders_for_the_client_only() -> None:
    client, stored = relay(CHAT, chat_stream("reasoning_content", ["Dear <EMA", "IL_1>, bye."]), restoring_guard(JANE))
    assert joined(client, "reasoning_content") == RESTORED and joined(stored, "reasoning_content") == MASKED


def test_a_refusal_cut_short_is_sent_before_done() -> None:
    chunks = [chat_chunk({"refusal": "No, jane.doe@exam"}), b"data: [DONE]\n\n"]
    client, _ = relay(CHAT, chunks, output_guard(block_secrets=False))
    assert joined(client, "refusal") == "No, jane.doe@exam"
    assert client.index(b"jane.doe@exam") < client.index(b"[DONE]")


# --- Responses: refusals, reasoning summaries, MCP output --------------------------------------------------


def responses_stream(steps: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    return [sse({"type": kind, "sequence_number": n, **fields}, kind) for n, (kind, fields) in enumerate(steps)]


def refusal_steps(pieces: list[str], *, dones: bool = True) -> list[tuple[str, dict[str, Any]]]:
    where = {"item_id": "m1", "output_index": 0, "content_index": 0}
    part = {"type": "refusal", "refusal": "".join(pieces)}
    message = {"id": "m1", "type": "message", "role": "assistant", "content": [part]}
    ends: list[tuple[str, dict[str, Any]]] = [
        ("response.refusal.done", {**where, "refusal": part["refusal"]}),
        ("response.content_part.done", {**where, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": message}),
    ]
    return [
        ("response.created", {"response": {"id": "r1", "output": []}}),
        *(("response.refusal.delta", {**where, "delta": piece}) for piece in pieces),
        *(ends if dones else []),
        ("response.completed", {"response": {"id": "r1", "output": [message]}}),
    ]


def refusals(data: bytes) -> dict[str, Any]:
    seen = {kind: payload for kind, payload in events(data)}
    return {
        "deltas": "".join(p["delta"] for k, p in events(data) if k == "response.refusal.delta"),
        "done": seen["response.refusal.done"]["refusal"],
        "part": seen["response.content_part.done"]["part"]["refusal"],
        "item": seen["response.output_item.done"]["item"]["content"][0]["refusal"],
        "completed": seen["response.completed"]["response"]["output"][0]["content"][0]["refusal"],
    }


@pytest.mark.parametrize("cut", [None, 13])
def test_responses_refusals_are_redacted_in_deltas_and_final_events(cut: int | None) -> None:
    answer = output_guard(block_secrets=False)
    client, stored = relay(RESPONSES, responses_stream(refusal_steps(WORDS)), answer, cut)
    assert client == stored
    assert set(refusals(client).values()) == {REDACTED}
    assert [f.field for f in answer.findings] == ["output[0].content[0].refusal"]
    assert answer.notes == []


def test_responses_refusals_restore_placeholders_for_the_client_only() -> None:
    steps = refusal_steps(["Dear <EM", "AIL_1>, bye."])
    client, stored = relay(RESPONSES, responses_stream(steps), restoring_guard(JANE))
    assert set(refusals(client).values()) == {RESTORED}
    assert set(refusals(stored).values()) == {MASKED}


def test_responses_reasoning_summaries_are_redacted_in_deltas_and_final_events() -> None:
    where = {"item_id": "rs_1", "output_index": 0, "summary_index": 0}
    summary = {"type": "summary_text", "text": SAID}
    item = {"id": "rs_1", "type": "reasoning", "summary": [summary], "encrypted_content": "gAAAA"}
    steps: list[tuple[str, dict[str, Any]]] = [
        *(("response.reasoning_summary_text.delta", {**where, "delta": piece}) for piece in WORDS),
        ("response.reasoning_summary_text.done", {**where, "text": SAID}),
        ("response.reasoning_summary_part.done", {**where, "part": summary}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": {"id": "r1", "output": [item]}}),
    ]
    client, _ = relay(RESPONSES, responses_stream(steps), answer := output_guard(block_secrets=False))
    seen = {kind: payload for kind, payload in events(client)}
    deltas = "".join(p["delta"] for k, p in events(client) if k == "response.reasoning_summary_text.delta")
    assert deltas == seen["response.reasoning_summary_text.done"]["text"] == REDACTED
    assert seen["response.reasoning_summary_part.done"]["part"]["text"] == REDACTED
    assert seen["response.completed"]["response"]["output"][0]["summary"][0]["text"] == REDACTED
    assert seen["response.completed"]["response"]["output"][0]["encrypted_content"] == "gAAAA"
    assert [f.field for f in answer.findings] == ["output[0].summary[0].text"]


def mcp_steps(output: str) -> list[tuple[str, dict[str, Any]]]:
    arguments = json.dumps({"who": "jane"})
    item = {"id": "mcp_1", "type": "mcp_call", "server_label": "crm", "name": "lookup", "arguments": arguments}
    done = {**item, "output": output, "error": None}
    return [
        ("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": "", "output": None}}),
        ("response.mcp_call_arguments.delta", {"item_id": "mcp_1", "output_index": 0, "delta": arguments}),
        ("response.mcp_call_arguments.done", {"item_id": "mcp_1", "output_index": 0, "arguments": arguments}),
        ("response.mcp_call.completed", {"item_id": "mcp_1", "output_index": 0}),
        ("response.output_item.done", {"output_index": 0, "item": done}),
        ("response.completed", {"response": {"id": "r1", "output": [done]}}),
    ]


def mcp_outputs(data: bytes) -> list[str]:
    seen = {kind: payload for kind, payload in events(data)}
    return [
        seen["response.output_item.done"]["item"]["output"],
        seen["response.completed"]["response"]["output"][0]["output"],
    ]


def test_an_mcp_calls_output_is_redacted_in_the_final_events_and_read_once() -> None:
    chunks = responses_stream(mcp_steps(f"Contact: {JANE}"))
    client, stored = relay(RESPONSES, chunks, answer := output_guard(block_secrets=False), 17)
    assert client == stored and mcp_outputs(client) == ["Contact: <EMAIL_1>"] * 2
    assert [f.field for f in answer.findings] == ["output[0].output"], "read once, however many events repeat it"
    assert chunks[1] in client and chunks[2] in client, "the arguments, with nothing to redact, as they came"


def test_an_mcp_calls_output_restores_placeholders_for_the_client_only() -> None:
    client, stored = relay(RESPONSES, responses_stream(mcp_steps(MASKED)), restoring_guard(JANE))
    assert mcp_outputs(client) == [RESTORED] * 2 and mcp_outputs(stored) == [MASKED] * 2


def test_responses_text_held_when_the_dones_are_left_out_goes_before_the_terminal_event() -> None:
    chunks = responses_stream(refusal_steps(["No, ", "jane.doe@exam"], dones=False))
    client, _ = relay(RESPONSES, chunks, output_guard(block_secrets=False))
    kinds = [kind for kind, _ in events(client)]
    assert kinds == [
        "response.created",
        "response.refusal.delta",
        "response.refusal.delta",
        "response.refusal.delta",
        "response.completed",
    ]
    assert "".join(p["delta"] for k, p in events(client) if k == "response.refusal.delta") == "No, jane.doe@exam"


def test_responses_text_held_when_the_stream_is_cut_short_is_sent_at_its_end() -> None:
    where = {"item_id": "m1", "output_index": 0, "content_index": 0}
    chunks = responses_stream([("response.output_text.delta", {**where, "delta": d}) for d in ["Mail ", JANE[:9]]])
    client, _ = relay(RESPONSES, chunks, output_guard(block_secrets=False))
    assert "".join(p["delta"] for _, p in events(client)) == "Mail " + JANE[:9]


def test_responses_output_items_guardrails_do_not_read_are_noted() -> None:
    search = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"query": JANE}}
    chunks = responses_stream([("response.output_item.done", {"output_index": 0, "item": search})])
    client, _ = relay(RESPONSES, chunks, answer := output_guard(block_secrets=False))
    assert client == chunks[0]
    assert answer.notes == ["not blocked or redacted: web_search_call output items"]
