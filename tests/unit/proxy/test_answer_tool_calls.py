"""Streamed tool-call arguments guarded like text, in every vendor format: redacted inside their
JSON strings (the assembled arguments still parse), blocked with the vendor's error event, and
a request's placeholders restored for the client while the span keeps them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_stream import StreamGuard, stream_guard_for
from glassgate.proxy.sse import parse_events
from tests.fakes import eventstream as es
from tests.unit.proxy.answer_guards import output_guard, restoring_guard

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
SAID = {"to": EMAIL, "note": f'Charge {CARD} "today"\nthanks'}
REDACTED = {"to": "<EMAIL_1>", "note": 'Charge <CREDIT_CARD_1> "today"\nthanks'}
# What a model answers when its request held placeholders, and what the client gets back.
MASKED = {"to": "<EMAIL_1>", "cc": "<EMAIL_9>", "note": "for <EMAIL_1>"}
VALUE = 'ja"ne\\doe@example.com'  # a value that must be escaped inside a JSON string
RESTORED = {"to": VALUE, "cc": "<EMAIL_9>", "note": f"for {VALUE}"}
CHAT, RESPONSES, MESSAGES = "/v1/chat/completions", "/v1/responses", "/v1/messages"
CONVERSE = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
INVOKE = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream"


def relay(
    vendor: str, path: str, chunks: list[bytes], guard: AnswerGuard, cut: int | None = None
) -> tuple[bytes, bytes]:
    """(the client's bytes, the span's bytes), the upstream's bytes fed in `cut`-byte pieces."""
    stream: StreamGuard | None = stream_guard_for(vendor, path, guard)
    assert stream is not None
    data = b"".join(chunks)
    pieces = [data[at : at + cut] for at in range(0, len(data), cut)] if cut else chunks
    pairs = [stream.feed(piece) for piece in pieces]
    pairs.append(stream.flush())
    return b"".join(pair[0] for pair in pairs), b"".join(pair[1] for pair in pairs)


def pieces(value: Any, size: int = 5) -> list[str]:
    text = json.dumps(value)
    return [text[at : at + size] for at in range(0, len(text), size)]


def sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def events(data: bytes) -> list[tuple[str, Any]]:
    return [(e.event, json.loads(e.data) if e.data != "[DONE]" else e.data) for e in parse_events([data])]


# --- OpenAI and Azure: Chat Completions -----------------------------------------------------------------


def chat_stream(*calls: Any, finish: bool = True) -> list[bytes]:
    """Each call's arguments in 5-character pieces, the calls one after the other (as OpenAI streams them)."""
    base = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    chunks = [sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]})]
    for number, arguments in enumerate(calls):
        opening = {
            "index": number,
            "id": f"call_{number}",
            "type": "function",
            "function": {"name": "send", "arguments": ""},
        }
        chunks.append(
            sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [opening]}, "finish_reason": None}]})
        )
        for piece in pieces(arguments) if not isinstance(arguments, str) else [arguments]:
            delta = {"tool_calls": [{"index": number, "function": {"arguments": piece}}]}
            chunks.append(sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
    if finish:
        chunks.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
    return [*chunks, b"data: [DONE]\n\n"]


def chat_arguments(data: bytes) -> dict[int, str]:
    """Each call's arguments, joined by `index` as the SDKs do."""
    joined: dict[int, str] = {}
    for _, payload in events(data):
        if payload == "[DONE]":
            continue
        for choice in payload["choices"]:
            for call in choice.get("delta", {}).get("tool_calls") or []:
                joined[call["index"]] = joined.get(call["index"], "") + call["function"].get("arguments", "")
    return joined


@pytest.mark.parametrize("cut", [None, 7, 64])
@pytest.mark.parametrize(("vendor", "path"), [("openai", CHAT), ("azure", "/openai/deployments/d/chat/completions")])
def test_chat_tool_call_arguments_are_redacted_and_stay_json(vendor: str, path: str, cut: int | None) -> None:
    chunks = chat_stream(SAID, {"city": "Paris"})
    client, stored = relay(vendor, path, chunks, answer := output_guard(), cut)
    assert client == stored
    assert {index: json.loads(text) for index, text in chat_arguments(client).items()} == {
        0: REDACTED,
        1: {"city": "Paris"},
    }
    assert EMAIL.encode() not in client and CARD.encode() not in client
    opening_second = next(chunk for chunk in chunks if b'"id":"call_1"' in chunk)
    for untouched in (chunks[0], chunks[1], opening_second, *chunks[-2:]):  # no arguments, or empty ones
        assert untouched in client, "an event without arguments to change, as it came"
    assert {f.field for f in answer.findings} == {"choices[0].message.tool_calls[0].function.arguments"}


def test_chat_arguments_restore_placeholders_for_the_client_only() -> None:
    client, stored = relay("openai", CHAT, chat_stream(MASKED), restoring_guard(VALUE), 9)
    assert json.loads(chat_arguments(client)[0]) == RESTORED
    assert json.loads(chat_arguments(stored)[0]) == MASKED
    assert VALUE.encode() not in stored


def test_a_secret_in_chat_arguments_ends_the_stream_with_an_error_event() -> None:
    client, _ = relay("openai", CHAT, chat_stream({"note": "the key", "key": SECRET}), answer := output_guard())
    last = events(client)[-1][1]
    assert last["error"]["code"] == "guardrail_blocked" and "keys-out" in last["error"]["message"]
    assert SECRET[:10].encode() not in client and b"[DONE]" not in client
    assert answer.blocked_by is not None


def test_chat_arguments_cut_short_are_sent_before_the_choice_finishes_or_the_stream_ends() -> None:
    cut_short = '{"to": "mail jane.doe@exam'
    finished, _ = relay("openai", CHAT, chat_stream(cut_short), output_guard())
    assert chat_arguments(finished)[0] == cut_short
    unfinished, _ = relay("openai", CHAT, chat_stream(cut_short, finish=False), output_guard())
    assert chat_arguments(unfinished)[0] == cut_short
    assert unfinished.index(b"exam") < unfinished.index(b"[DONE]")


# --- OpenAI: Responses ----------------------------------------------------------------------------------------


def responses_stream(arguments: Any, *, deltas: bool = True) -> list[bytes]:
    text = json.dumps(arguments)
    item = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "send", "arguments": ""}
    where = {"item_id": "fc_1", "output_index": 0}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": {"id": "r1", "output": []}}),
        ("response.output_item.added", {"output_index": 0, "item": item}),
        *[
            ("response.function_call_arguments.delta", {**where, "delta": p})
            for p in (pieces(arguments) if deltas else [])
        ],
        ("response.function_call_arguments.done", {**where, "arguments": text}),
        ("response.output_item.done", {"output_index": 0, "item": {**item, "arguments": text}}),
        ("response.completed", {"response": {"id": "r1", "output": [{**item, "arguments": text}]}}),
    ]
    return [sse({"type": kind, "sequence_number": n, **fields}, kind) for n, (kind, fields) in enumerate(steps)]


def responses_arguments(data: bytes) -> dict[str, Any]:
    """The arguments as each event that carries them has them (deltas joined)."""
    seen = {kind: payload for kind, payload in events(data)}
    deltas = "".join(p["delta"] for k, p in events(data) if k == "response.function_call_arguments.delta")
    return {
        "deltas": json.loads(deltas) if deltas else None,
        "done": json.loads(seen["response.function_call_arguments.done"]["arguments"]),
        "item": json.loads(seen["response.output_item.done"]["item"]["arguments"]),
        "completed": json.loads(seen["response.completed"]["response"]["output"][0]["arguments"]),
    }


@pytest.mark.parametrize("cut", [None, 11])
def test_responses_function_call_arguments_are_redacted_in_deltas_and_final_events(cut: int | None) -> None:
    chunks = responses_stream(SAID)
    client, stored = relay("openai", RESPONSES, chunks, answer := output_guard(), cut)
    assert client == stored
    assert responses_arguments(client) == {
        "deltas": REDACTED,
        "done": REDACTED,
        "item": REDACTED,
        "completed": REDACTED,
    }
    assert chunks[0] in client and chunks[1] in client, "events without arguments, as they came"
    assert len(answer.findings) == 2, "read once, however many events repeat the arguments"
    assert {f.field for f in answer.findings} == {"output[0].arguments"}


def test_responses_arguments_restore_placeholders_for_the_client_only() -> None:
    client, stored = relay("openai", RESPONSES, responses_stream(MASKED), restoring_guard(VALUE), 13)
    assert all(value == RESTORED for value in responses_arguments(client).values())
    assert all(value == MASKED for value in responses_arguments(stored).values())


def test_responses_arguments_without_deltas_are_read_where_they_come() -> None:
    client, _ = relay("openai", RESPONSES, responses_stream(SAID, deltas=False), answer := output_guard())
    assert responses_arguments(client) == {"deltas": None, "done": REDACTED, "item": REDACTED, "completed": REDACTED}
    assert len(answer.findings) == 2


def test_responses_final_events_without_item_ids_are_matched_by_their_output_index() -> None:
    chunks = responses_stream(SAID)
    stripped = []
    for chunk in chunks:  # as a gateway that drops the ids might send them
        kind, payload = events(chunk)[0]
        if kind.endswith(".done"):
            payload.pop("item_id", None)
        for item in [payload.get("item") or {}, *((payload.get("response") or {}).get("output") or [])]:
            item.pop("id", None)
        stripped.append(sse(payload, kind))
    client, stored = relay("openai", RESPONSES, stripped, answer := output_guard())
    assert client == stored
    assert responses_arguments(client) == {
        "deltas": REDACTED,
        "done": REDACTED,
        "item": REDACTED,
        "completed": REDACTED,
    }
    assert len(answer.findings) == 2, "matched to the streamed call, not read again"


def test_responses_mcp_arguments_and_custom_tool_input_are_channels_too() -> None:
    where = {"output_index": 0}
    note = f"Mail {EMAIL} now"
    steps: list[tuple[str, dict[str, Any]]] = [
        *[("response.mcp_call_arguments.delta", {**where, "item_id": "mcp_1", "delta": p}) for p in pieces(SAID)],
        ("response.mcp_call_arguments.done", {**where, "item_id": "mcp_1", "arguments": json.dumps(SAID)}),
        *[
            ("response.custom_tool_call_input.delta", {**where, "item_id": "ct_1", "delta": note[at : at + 4]})
            for at in range(0, len(note), 4)
        ],
        ("response.custom_tool_call_input.done", {**where, "item_id": "ct_1", "input": note}),
        ("response.audio.transcript.delta", {"delta": "I cannot"}),
    ]
    chunks = [sse({"type": kind, "sequence_number": n, **fields}, kind) for n, (kind, fields) in enumerate(steps)]
    client, _ = relay("openai", RESPONSES, chunks, answer := output_guard())
    seen = events(client)
    mcp = "".join(p["delta"] for k, p in seen if k == "response.mcp_call_arguments.delta")
    assert json.loads(mcp) == REDACTED
    assert json.loads(next(p["arguments"] for k, p in seen if k == "response.mcp_call_arguments.done")) == REDACTED
    custom = "".join(p["delta"] for k, p in seen if k == "response.custom_tool_call_input.delta")
    assert (
        custom
        == next(p["input"] for k, p in seen if k == "response.custom_tool_call_input.done")
        == "Mail <EMAIL_1> now"
    )
    assert chunks[-1] in client
    assert "not blocked or redacted: response.audio.transcript.delta events" in answer.notes, "never unread unsaid"


# --- Anthropic Messages ---------------------------------------------------------------------------------------


def anthropic_stream(arguments: Any) -> list[bytes]:
    start = {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "t1", "name": "send", "input": {}},
    }
    deltas = [
        sse(
            {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": p}},
            "content_block_delta",
        )
        for p in pieces(arguments)
    ]
    return [
        sse({"type": "message_start", "message": {"id": "m", "content": []}}, "message_start"),
        sse(start, "content_block_start"),
        *deltas,
        sse({"type": "content_block_stop", "index": 1}, "content_block_stop"),
        sse({"type": "message_stop"}, "message_stop"),
    ]


def anthropic_input(data: bytes) -> Any:
    return json.loads(
        "".join(p["delta"]["partial_json"] for k, p in events(data) if k == "content_block_delta" and p["index"] == 1)
    )


@pytest.mark.parametrize("cut", [None, 3, 64])
def test_anthropic_tool_input_is_redacted_and_stays_json(cut: int | None) -> None:
    chunks = anthropic_stream(SAID)
    client, stored = relay("anthropic", MESSAGES, chunks, answer := output_guard(), cut)
    assert client == stored and anthropic_input(client) == REDACTED
    kinds = [kind for kind, _ in events(client)]
    assert kinds.index("content_block_stop") > max(i for i, kind in enumerate(kinds) if kind == "content_block_delta")
    assert client.startswith(chunks[0] + chunks[1]) and client.endswith(chunks[-2] + chunks[-1])
    assert {f.field for f in answer.findings} == {"content[1].input.to", "content[1].input.note"}


def test_anthropic_tool_input_restores_placeholders_for_the_client_only() -> None:
    client, stored = relay("anthropic", MESSAGES, anthropic_stream(MASKED), restoring_guard(VALUE), 5)
    assert anthropic_input(client) == RESTORED and anthropic_input(stored) == MASKED


def test_a_secret_in_anthropic_tool_input_sends_the_error_event() -> None:
    client, _ = relay("anthropic", MESSAGES, anthropic_stream({"key": SECRET}), output_guard())
    assert events(client)[-1][0] == "error" and SECRET[:10].encode() not in client


# --- Bedrock ---------------------------------------------------------------------------------------------------


def decoded(data: bytes) -> list[tuple[str, Any]]:
    decoder = EventStreamBuffer()
    decoder.add_data(data)  # botocore checks both CRCs of every frame
    return [(m.headers.get(":event-type") or m.headers[":exception-type"], json.loads(m.payload)) for m in decoder]


def converse_frames(arguments: Any) -> list[bytes]:
    start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "send"}}}
    return [
        es.event("messageStart", {"role": "assistant"}),
        es.event("contentBlockStart", start),
        *[
            es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": p}}})
            for p in pieces(arguments)
        ],
        es.event("contentBlockStop", {"contentBlockIndex": 0}),
        es.event("messageStop", {"stopReason": "tool_use"}),
    ]


def converse_input(data: bytes) -> Any:
    return json.loads(
        "".join(p["delta"]["toolUse"]["input"] for kind, p in decoded(data) if kind == "contentBlockDelta")
    )


@pytest.mark.parametrize("cut", [None, 11])
def test_bedrock_converse_tool_input_is_redacted_and_re_framed(cut: int | None) -> None:
    frames = converse_frames(SAID)
    client, stored = relay("bedrock", CONVERSE, frames, answer := output_guard(), cut)
    assert client == stored and converse_input(client) == REDACTED
    assert [kind for kind, _ in decoded(client)][-2:] == ["contentBlockStop", "messageStop"]
    assert client.startswith(frames[0] + frames[1])
    assert {f.field for f in answer.findings} == {
        "output.message.content[0].toolUse.input.to",
        "output.message.content[0].toolUse.input.note",
    }


def test_bedrock_converse_tool_input_restores_for_the_client_and_blocks_a_secret() -> None:
    client, stored = relay("bedrock", CONVERSE, converse_frames(MASKED), restoring_guard(VALUE))
    assert converse_input(client) == RESTORED and converse_input(stored) == MASKED
    blocked, _ = relay("bedrock", CONVERSE, converse_frames({"key": SECRET}), output_guard())
    assert decoded(blocked)[-1][0] == "validationException" and SECRET[:10].encode() not in blocked


def invoke_chunks(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(payload["bytes"])) for _, payload in decoded(data)]


def test_bedrock_invoke_anthropic_tool_input_is_redacted_inside_its_chunks() -> None:
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}
        for p in pieces(SAID)
    ]
    chunks = [{"type": "message_start", "message": {"id": "m"}}, *deltas, {"type": "content_block_stop", "index": 0}]
    client, stored = relay("bedrock", INVOKE, [es.chunk(c) for c in chunks], output_guard(), 13)
    inner = invoke_chunks(client)
    assert client == stored
    assert (
        json.loads("".join(c["delta"]["partial_json"] for c in inner if c["type"] == "content_block_delta")) == REDACTED
    )
    assert inner[-1]["type"] == "content_block_stop"


def test_bedrock_invoke_nova_text_and_tool_input_are_redacted() -> None:
    nova = "/model/amazon.nova-pro-v1%3A0/invoke-with-response-stream"
    chunks = [
        {"messageStart": {"role": "assistant"}},
        *[
            {"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}}
            for p in ["Mail ", EMAIL[:6], EMAIL[6:], " ok"]
        ],
        {"contentBlockStop": {"contentBlockIndex": 0}},
        *[{"contentBlockDelta": {"delta": {"toolUse": {"input": p}}, "contentBlockIndex": 1}} for p in pieces(SAID)],
        {"contentBlockStop": {"contentBlockIndex": 1}},
    ]
    client, _ = relay("bedrock", nova, [es.chunk(c) for c in chunks], output_guard())
    blocks: dict[int, str] = {}
    for chunk in invoke_chunks(client):
        if "contentBlockDelta" in chunk:
            delta, index = chunk["contentBlockDelta"]["delta"], chunk["contentBlockDelta"]["contentBlockIndex"]
            blocks[index] = blocks.get(index, "") + (delta["text"] if "text" in delta else delta["toolUse"]["input"])
    assert blocks[0] == "Mail <EMAIL_1> ok" and json.loads(blocks[1]) == REDACTED


def test_bedrock_invoke_openai_style_tool_calls_are_redacted() -> None:
    gpt_oss = "/model/openai.gpt-oss-20b-1%3A0/invoke-with-response-stream"
    chunks = [json.loads(chunk.removeprefix(b"data: ")) for chunk in chat_stream(SAID)[:-1]]
    client, _ = relay("bedrock", gpt_oss, [es.chunk(c) for c in chunks], output_guard())
    joined = "".join(
        call["function"].get("arguments", "")
        for chunk in invoke_chunks(client)
        for choice in chunk["choices"]
        for call in choice.get("delta", {}).get("tool_calls") or []
    )
    assert json.loads(joined) == REDACTED


def test_an_invoke_chunk_of_a_shape_guardrails_do_not_read_is_relayed_and_noted() -> None:
    unknown = "/model/acme.model-v1/invoke-with-response-stream"
    frames = [es.chunk({"completion": f"Mail {EMAIL}", "index": 0})]
    client, _ = relay("bedrock", unknown, frames, answer := output_guard())
    assert client == frames[0]
    assert any("of a shape guardrails do not read" in note for note in answer.notes)
