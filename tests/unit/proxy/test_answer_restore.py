"""Restoring a request's placeholders in a streamed answer, in each vendor's format: the client's
copy has the values, the span's keeps the placeholders, and events without one pass as they came."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.placeholders import Placeholders, Restorable
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.proxy.answer_stream import StreamGuard, stream_guard_for
from glassgate.proxy.sse import parse_events
from tests.fakes import eventstream as es

JANE, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
MASKED = "Dear <EMAIL_1>, your card <CREDIT_CARD_1> is fine; <EMAIL_9> is not ours. Bye <EMAIL_1>"
RESTORED = f"Dear {JANE}, your card {CARD} is fine; <EMAIL_9> is not ours. Bye {JANE}"


def guard(*output: CompiledPolicy) -> AnswerGuard:
    numbering = Placeholders()
    items = []
    for category, value in (("EMAIL", JANE), ("CREDIT_CARD", CARD)):
        items.append(Restorable(numbering.of(category, value), value, category, frozenset({"pii"})))
    made = AnswerGuard.for_call(list(output), numbering, items)
    assert made is not None
    return made


def stream_guard(vendor: str, path: str, answer_guard: AnswerGuard | None = None) -> StreamGuard:
    made = stream_guard_for(vendor, path, answer_guard or guard())
    assert made is not None
    return made


def relay(stream: StreamGuard, chunks: list[bytes], cut: int | None = None) -> tuple[bytes, bytes]:
    """(the client's bytes, the span's bytes), the upstream's bytes fed in `cut`-byte pieces."""
    data = b"".join(chunks)
    pieces = [data[at : at + cut] for at in range(0, len(data), cut)] if cut else chunks
    pairs = [stream.feed(piece) for piece in pieces]
    pairs.append(stream.flush())
    return b"".join(pair[0] for pair in pairs), b"".join(pair[1] for pair in pairs)


def pieces(text: str, size: int = 5) -> list[str]:
    return [text[at : at + size] for at in range(0, len(text), size)]


def sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def events(data: bytes) -> list[tuple[str | None, Any]]:
    return [(e.event, json.loads(e.data) if e.data != "[DONE]" else e.data) for e in parse_events([data])]


# --- OpenAI / Azure chat and legacy completions ----------------------------------------------------------


def chat_stream(text: str, *, choices: int = 1, legacy: bool = False) -> list[bytes]:
    base = {"id": "c1", "object": "chat.completion.chunk", "usage": None}
    chunks = [sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})]
    for piece in pieces(text):
        for index in range(choices):
            choice = {"index": index, "text": piece} if legacy else {"index": index, "delta": {"content": piece}}
            chunks.append(sse({**base, "choices": [{**choice, "finish_reason": None}]}))
    stop = [{"index": index, "delta": {}, "finish_reason": "stop"} for index in range(choices)]
    return [*chunks, sse({**base, "choices": stop}), b"data: [DONE]\n\n"]


def chat_text(data: bytes, index: int = 0, key: str = "content") -> str:
    text = ""
    for _, payload in events(data):
        if payload == "[DONE]":
            continue
        for choice in payload["choices"]:
            if choice["index"] == index:
                holder = choice if key == "text" else choice.get("delta", {})
                text += holder.get(key) or ""
    return text


@pytest.mark.parametrize("cut", [None, 1, 7, 64])
@pytest.mark.parametrize(
    ("vendor", "path"), [("openai", "/v1/chat/completions"), ("azure", "/openai/deployments/d/chat/completions")]
)
def test_chat_streams_restore_for_the_client_and_keep_placeholders_for_the_span(
    vendor: str, path: str, cut: int | None
) -> None:
    chunks = chat_stream(MASKED, choices=2)
    client, stored = relay(stream_guard(vendor, path), chunks, cut)
    assert chat_text(client, 0) == chat_text(client, 1) == RESTORED
    assert chat_text(stored, 0) == chat_text(stored, 1) == MASKED
    assert JANE.encode() not in stored and CARD.encode() not in stored
    assert client.startswith(chunks[0]) and stored.startswith(chunks[0]), "an event without text, as it came"
    assert client.endswith(b"data: [DONE]\n\n") and stored.endswith(b"data: [DONE]\n\n")


def test_chat_events_without_a_placeholder_are_relayed_byte_for_byte_to_both() -> None:
    chunks = chat_stream("Hello there, nothing to restore < here.")
    client, stored = relay(stream_guard("openai", "/v1/chat/completions"), chunks)
    assert client == stored == b"".join(chunks)


def test_only_the_events_whose_text_changes_are_re_serialised() -> None:
    chunks = chat_stream("Dear <EMAIL_1> and goodbye.")  # "Dear " "<EMAI" "L_1> " "and g" "oodby" "e."
    client, stored = relay(stream_guard("openai", "/v1/chat/completions"), chunks)
    untouched = [chunks[0], chunks[1], *chunks[4:]]
    for chunk in untouched:
        assert chunk in client and chunk in stored
    assert chunks[2] not in client and chunks[3] not in client  # the placeholder's pieces, held and joined
    assert chat_text(client) == f"Dear {JANE} and goodbye." and chat_text(stored) == "Dear <EMAIL_1> and goodbye."


def test_legacy_completions_restore_the_choice_text() -> None:
    client, stored = relay(stream_guard("openai", "/v1/completions"), chat_stream(MASKED, legacy=True), 9)
    assert chat_text(client, key="text") == RESTORED and chat_text(stored, key="text") == MASKED


def test_a_placeholder_cut_short_by_the_end_of_the_stream_is_sent_before_done() -> None:
    chunks = [sse({"id": "c", "choices": [{"index": 0, "delta": {"content": "Bye <EMAIL_"}}]}), b"data: [DONE]\n\n"]
    client, stored = relay(stream_guard("openai", "/v1/chat/completions"), chunks)
    assert chat_text(client) == chat_text(stored) == "Bye <EMAIL_"
    assert client.index(b"<EMAIL_") < client.index(b"[DONE]")


def test_output_redaction_and_restore_together_in_a_stream() -> None:
    phones = CompiledPolicy.of(
        GuardrailPolicy(name="phones", detectors=["pii"], phases=["output"], action="redact", categories=["PHONE"])
    )
    text = "Dear <EMAIL_1>, call +1 415 555 0100 today."
    client, stored = relay(stream_guard("openai", "/v1/chat/completions", guard(phones)), chat_stream(text))
    assert chat_text(client) == f"Dear {JANE}, call <PHONE_1> today."
    assert chat_text(stored) == "Dear <EMAIL_1>, call <PHONE_1> today."


# --- OpenAI Responses -------------------------------------------------------------------------------------


def responses_stream(text: str) -> list[bytes]:
    item = {"item_id": "m1", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": text, "annotations": []}
    message = {"id": "m1", "type": "message", "role": "assistant", "content": [part]}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": {"id": "r1", "instructions": "Be kind to <EMAIL_1>", "output": []}}),
        ("response.content_part.added", {**item, "part": {**part, "text": ""}}),
        *[("response.output_text.delta", {**item, "delta": piece}) for piece in pieces(text)],
        ("response.output_text.done", {**item, "text": text}),
        ("response.content_part.done", {**item, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": message}),
        (
            "response.completed",
            {"response": {"id": "r1", "instructions": "Be kind to <EMAIL_1>", "output": [message]}},
        ),
    ]
    return [sse({"type": kind, "sequence_number": n, **fields}, kind) for n, (kind, fields) in enumerate(steps)]


@pytest.mark.parametrize("cut", [None, 5, 64])
def test_responses_deltas_and_final_events_are_restored_for_the_client_only(cut: int | None) -> None:
    chunks = responses_stream(MASKED)
    client, stored = relay(stream_guard("openai", "/v1/responses"), chunks, cut)
    for data, text in ((client, RESTORED), (stored, MASKED)):
        seen = {kind: payload for kind, payload in events(data) if kind != "response.output_text.delta"}
        deltas = [payload["delta"] for kind, payload in events(data) if kind == "response.output_text.delta"]
        assert "".join(deltas) == text
        assert seen["response.output_text.done"]["text"] == text
        assert seen["response.content_part.done"]["part"]["text"] == text
        assert seen["response.output_item.done"]["item"]["content"][0]["text"] == text
        final = seen["response.completed"]["response"]
        assert final["output"][0]["content"][0]["text"] == text
        assert final["instructions"] == "Be kind to <EMAIL_1>", "not the model's text: as it came"
    assert chunks[0] in client and chunks[0] in stored
    assert JANE.encode() not in stored


# --- Anthropic Messages -------------------------------------------------------------------------------------


def anthropic_stream(text: str) -> list[bytes]:
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    deltas = [
        sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
            "content_block_delta",
        )
        for p in pieces(text)
    ]
    return [
        sse({"type": "message_start", "message": {"id": "m", "content": []}}, "message_start"),
        sse(start, "content_block_start"),
        *deltas,
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse({"type": "message_stop"}, "message_stop"),
    ]


@pytest.mark.parametrize("cut", [None, 3, 64])
def test_anthropic_text_deltas_are_restored_for_the_client(cut: int | None) -> None:
    chunks = anthropic_stream(MASKED + " <CREDIT_CA")  # ends inside a possible placeholder
    client, stored = relay(stream_guard("anthropic", "/v1/messages"), chunks, cut)
    for data, text in ((client, RESTORED), (stored, MASKED)):
        seen = events(data)
        assert "".join(p["delta"]["text"] for k, p in seen if k == "content_block_delta") == text + " <CREDIT_CA"
        kinds = [kind for kind, _ in seen]
        assert kinds.index("content_block_stop") > max(i for i, k in enumerate(kinds) if k == "content_block_delta")
    assert client.startswith(chunks[0] + chunks[1]) and client.endswith(chunks[-2] + chunks[-1])


# --- Bedrock ---------------------------------------------------------------------------------------------------


def decoded(data: bytes) -> list[tuple[str, Any]]:
    decoder = EventStreamBuffer()
    decoder.add_data(data)  # botocore checks both CRCs of every frame
    return [(message.headers[":event-type"], json.loads(message.payload)) for message in decoder]


@pytest.mark.parametrize("cut", [None, 11, 200])
def test_bedrock_converse_stream_frames_are_restored_and_re_framed(cut: int | None) -> None:
    frames = [es.event("messageStart", {"role": "assistant"})]
    frames += [
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}) for piece in pieces(MASKED, 4)
    ]
    frames += [es.event("contentBlockStop", {"contentBlockIndex": 0}), es.event("messageStop", {"stopReason": "x"})]
    path = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    client, stored = relay(stream_guard("bedrock", path), frames, cut)
    for data, text in ((client, RESTORED), (stored, MASKED)):
        seen = decoded(data)
        assert "".join(p["delta"]["text"] for kind, p in seen if kind == "contentBlockDelta") == text
        assert [kind for kind, _ in seen][-2:] == ["contentBlockStop", "messageStop"]
    assert client.startswith(frames[0]) and frames[1] in client, "frames without a placeholder, as they came"


@pytest.mark.parametrize("cut", [None, 13])
def test_bedrock_invoke_stream_of_an_anthropic_model_is_restored_inside_its_chunks(cut: int | None) -> None:
    frames = [es.chunk({"type": "message_start", "message": {"id": "m"}})]
    frames += [
        es.chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
        for piece in pieces(MASKED, 6)
    ]
    frames += [es.chunk({"type": "content_block_stop", "index": 0}), es.chunk({"type": "message_stop"})]
    path = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream"
    client, stored = relay(stream_guard("bedrock", path), frames, cut)
    for data, text in ((client, RESTORED), (stored, MASKED)):
        inner = [json.loads(base64.b64decode(payload["bytes"])) for _, payload in decoded(data)]
        assert "".join(e["delta"]["text"] for e in inner if e["type"] == "content_block_delta") == text
        assert inner[-2]["type"] == "content_block_stop"
    assert client.startswith(frames[0]) and stored.startswith(frames[0])
