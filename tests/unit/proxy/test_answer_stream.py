"""Guarding streamed answers event by event, in each vendor's SSE format."""

from __future__ import annotations

import json
from typing import Any

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.proxy.answer_stream import AnswerStreamGuard, StreamGuard, dialect_for, stream_guard_for
from glassgate.proxy.sse import parse_events

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20


def stream_guard(vendor: str, path: str) -> AnswerStreamGuard:
    policies = [
        CompiledPolicy.of(GuardrailPolicy(name="pii", detectors=["pii"], phases=["output"], action="redact")),
        CompiledPolicy.of(GuardrailPolicy(name="keys", detectors=["secrets"], phases=["output"], action="block")),
    ]
    dialect = dialect_for(vendor, path, AnswerGuard(policies))
    assert dialect is not None
    return AnswerStreamGuard(dialect)


def sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload).encode() + b"\n\n"


def chat_chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    return sse(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def relay(guard: StreamGuard, chunks: list[bytes]) -> bytes:
    """What the client receives; without restore the span keeps the same bytes."""
    pairs = [guard.feed(chunk) for chunk in chunks]
    pairs.append(guard.flush())
    assert all(client == stored for client, stored in pairs)
    return b"".join(client for client, _ in pairs)


def chat_text(data: bytes) -> str:
    text = ""
    for event in parse_events([data]):
        if event.data != "[DONE]":
            for choice in json.loads(event.data).get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
    return text


def test_chat_deltas_are_redacted_and_other_events_relayed_byte_for_byte() -> None:
    pieces = ["Mail ja", "ne@exam", "ple.com", " now"]
    first = sse(
        {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    )
    chunks = [first, *[chat_chunk(piece) for piece in pieces], chat_chunk(finish="stop"), b"data: [DONE]\n\n"]
    out = relay(stream_guard("openai", "/v1/chat/completions"), chunks)
    assert out.startswith(first), "an event without text changes nothing"
    assert chat_text(out) == "Mail <EMAIL_1> now"
    assert out.endswith(b"data: [DONE]\n\n")


def test_chat_text_held_at_the_end_is_sent_before_done() -> None:
    chunks = [chat_chunk("Write to jane@example.com"), b"data: [DONE]\n\n"]  # no finish_reason: cut short
    out = relay(stream_guard("azure", "/openai/deployments/d/chat/completions"), chunks)
    assert chat_text(out) == "Write to <EMAIL_1>"
    assert out.index(b"<EMAIL_1>") < out.index(b"[DONE]")


def test_events_split_across_chunks_are_handled() -> None:
    data = b"".join([chat_chunk("card 4111 1111 "), chat_chunk("1111 1111 ok"), chat_chunk(finish="stop")])
    chunks = [data[start : start + 13] for start in range(0, len(data), 13)]
    assert chat_text(relay(stream_guard("openai", "/v1/chat/completions"), chunks)) == "card <CREDIT_CARD_1> ok"


def test_a_secret_ends_the_chat_stream_with_an_error_event() -> None:
    guard = stream_guard("openai", "/v1/chat/completions")
    out = relay(
        guard, [chat_chunk("key: "), chat_chunk(SECRET[:10]), chat_chunk(SECRET[10:] + " done"), b"data: [DONE]\n\n"]
    )
    events = list(parse_events([out]))
    assert json.loads(events[-1].data)["error"]["code"] == "guardrail_blocked"
    assert b"[DONE]" not in out and SECRET[:8].encode() not in out
    assert guard.ended


def test_anthropic_text_deltas_are_redacted_and_flushed_before_the_block_stops() -> None:
    chunks = [
        sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Mail bob@ex"}},
            "content_block_delta",
        ),
        sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ample.org"}},
            "content_block_delta",
        ),
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse({"type": "message_stop"}, "message_stop"),
    ]
    out = relay(stream_guard("anthropic", "/v1/messages"), chunks)
    events = list(parse_events([out]))
    text = "".join(json.loads(e.data)["delta"]["text"] for e in events if e.event == "content_block_delta")
    assert text == "Mail <EMAIL_1>"
    kinds = [e.event for e in events]
    assert kinds.index("content_block_stop") > max(i for i, kind in enumerate(kinds) if kind == "content_block_delta")


def test_anthropic_block_sends_its_error_event() -> None:
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"{SECRET} "}}
    out = relay(stream_guard("anthropic", "/v1/messages"), [sse(delta, "content_block_delta")])
    events = list(parse_events([out]))
    assert events[-1].event == "error" and json.loads(events[-1].data)["error"]["type"] == "invalid_request_error"


def test_responses_final_events_repeat_the_redacted_text() -> None:
    item = {"item_id": "m1", "output_index": 0, "content_index": 0}
    said = "Mail jane@example.com"
    chunks = [
        sse(
            {"type": "response.output_text.delta", **item, "delta": said[:9], "sequence_number": 1},
            "response.output_text.delta",
        ),
        sse(
            {"type": "response.output_text.delta", **item, "delta": said[9:], "sequence_number": 2},
            "response.output_text.delta",
        ),
        sse(
            {"type": "response.output_text.done", **item, "text": said, "sequence_number": 3},
            "response.output_text.done",
        ),
        sse(
            {
                "type": "response.completed",
                "sequence_number": 4,
                "response": {"output": [{"content": [{"type": "output_text", "text": said}]}]},
            },
            "response.completed",
        ),
    ]
    out = relay(stream_guard("openai", "/v1/responses"), chunks)
    events = [json.loads(e.data) for e in parse_events([out])]
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "Mail <EMAIL_1>"
    assert next(e for e in events if e["type"] == "response.output_text.done")["text"] == "Mail <EMAIL_1>"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Mail <EMAIL_1>"
    assert b"jane@example.com" not in out


def test_bedrock_streams_have_no_dialect() -> None:
    policies = [CompiledPolicy.of(GuardrailPolicy(name="pii", detectors=["pii"], phases=["output"], action="redact"))]
    assert dialect_for("bedrock", "/model/m/converse-stream", AnswerGuard(policies)) is None


def test_bedrock_frames_split_anywhere_are_redacted_and_re_framed_with_valid_crcs() -> None:
    from botocore.eventstream import EventStreamBuffer

    from tests.fakes import eventstream as es

    policies = [CompiledPolicy.of(GuardrailPolicy(name="pii", detectors=["pii"], phases=["output"], action="redact"))]
    path = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    guard = stream_guard_for("bedrock", path, AnswerGuard(policies))
    assert guard is not None
    said = "Mail jane@example.com now"
    frames = [es.event("messageStart", {"role": "assistant"})]
    frames += [
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": said[start : start + 4]}})
        for start in range(0, len(said), 4)
    ]
    frames += [
        es.event("contentBlockStop", {"contentBlockIndex": 0}),
        es.event("messageStop", {"stopReason": "end_turn"}),
    ]
    data = b"".join(frames)
    out = relay(guard, [data[start : start + 11] for start in range(0, len(data), 11)])
    decoder = EventStreamBuffer()
    decoder.add_data(out)  # botocore checks both CRCs of every frame
    events = [(m.headers[":event-type"], json.loads(m.payload)) for m in decoder]
    text = "".join(payload["delta"]["text"] for kind, payload in events if kind == "contentBlockDelta")
    assert text == "Mail <EMAIL_1> now"
    assert [kind for kind, _ in events][-2:] == ["contentBlockStop", "messageStop"]
