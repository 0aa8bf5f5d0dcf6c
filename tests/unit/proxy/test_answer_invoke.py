"""Bedrock InvokeModel streams of the families that write text pieces (Titan, Llama, Mistral in both
forms, Cohere Command R and command-text), guarded inside their base64 chunks: redacted, blocked
with a `validationException` frame, restored for the client only; a frame whose text did not
change is relayed byte for byte, and one that did is re-framed with valid CRCs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.text import response_texts
from glassgate.guardrails.text.fields import where
from glassgate.proxy.answer_stream import stream_guard_for
from glassgate.proxy.vendors import get_adapter
from tests.fakes import eventstream as es
from tests.unit.proxy.answer_guards import output_guard, restoring_guard
from tests.unit.proxy.vendors.bedrock_samples import EVENT_STREAM, bedrock_call, with_metrics

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
JANE = "jane.doe@example.com"
# Pieces as models cut them: the ones that end in a space pass at once, the email is cut in two.
WORDS = ["Hello ", "there, ", "mail ", "jane.doe@", "example.com", " now."]
SAID, REDACTED = "".join(WORDS), "Hello there, mail <EMAIL_1> now."
MASKED_WORDS = ["Dear ", "<EMA", "IL_1>", ", bye."]
MASKED, RESTORED = "".join(MASKED_WORDS), f"Dear {JANE}, bye."

Chunks = Callable[[list[str]], list[dict[str, Any]]]


def titan(pieces: list[str]) -> list[dict[str, Any]]:
    chunks = [
        {"outputText": p, "index": 0, "totalOutputTextTokenCount": n, "completionReason": None}
        for n, p in enumerate(pieces)
    ]
    return [*chunks, with_metrics({"outputText": "", "index": 0, "completionReason": "FINISH"})]


def llama(pieces: list[str]) -> list[dict[str, Any]]:
    chunks = [{"generation": p, "generation_token_count": n, "stop_reason": None} for n, p in enumerate(pieces)]
    return [*chunks, with_metrics({"generation": "", "generation_token_count": 9, "stop_reason": "stop"})]


def mistral(pieces: list[str]) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"outputs": [{"text": p, "stop_reason": None}]} for p in pieces]
    return [*chunks, with_metrics({"outputs": [{"text": "", "stop_reason": "stop"}]})]


def mistral_chat(pieces: list[str]) -> list[dict[str, Any]]:
    def chunk(text: str, stop: str | None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "stop_reason": stop}]}

    return [*(chunk(p, None) for p in pieces), with_metrics(chunk("", "stop"))]


def cohere(pieces: list[str]) -> list[dict[str, Any]]:
    said = "".join(pieces)
    history = [{"role": "USER", "message": "Who?"}, {"role": "CHATBOT", "message": said}]
    response = {"response_id": "r", "text": said, "generation_id": "g", "chat_history": history}
    end = {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE", "response": response}
    return [
        {"is_finished": False, "event_type": "stream-start", "generation_id": "g"},
        *({"is_finished": False, "event_type": "text-generation", "text": p} for p in pieces),
        with_metrics(end),
    ]


def cohere_text(pieces: list[str]) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"generations": [{"text": p}], "is_finished": False} for p in pieces]
    return [*chunks, with_metrics({"generations": [{"text": "", "finish_reason": "COMPLETE"}], "is_finished": True})]


def deepseek(pieces: list[str]) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"choices": [{"index": 0, "text": p, "stop_reason": None}]} for p in pieces]
    return [*chunks, with_metrics({"choices": [{"index": 0, "text": "", "stop_reason": "stop"}]})]


# (model id, its chunks, the answer's text in the non-stream shape the span assembles)
FAMILIES: list[tuple[str, Chunks, Callable[[Any], str]]] = [
    ("amazon.titan-text-express-v1", titan, lambda body: body["results"][0]["outputText"]),
    ("meta.llama3-8b-instruct-v1%3A0", llama, lambda body: body["generation"]),
    ("mistral.mistral-7b-instruct-v0%3A2", mistral, lambda body: body["outputs"][0]["text"]),
    ("mistral.mistral-large-2407-v1%3A0", mistral_chat, lambda body: body["choices"][0]["message"]["content"]),
    ("cohere.command-r-v1%3A0", cohere, lambda body: body["text"]),
    ("cohere.command-text-v14", cohere_text, lambda body: body["generations"][0]["text"]),
    ("deepseek.r1-v1%3A0", deepseek, lambda body: body["choices"][0]["text"]),
]
BY_FAMILY = [pytest.param(model, chunks, text, id=model.split(".")[1][:14]) for model, chunks, text in FAMILIES]


def path_of(model: str) -> str:
    return f"/model/{model}/invoke-with-response-stream"


def relay(model: str, frames: list[bytes], guard: AnswerGuard, cut: int | None = None) -> tuple[bytes, bytes]:
    """(the client's bytes, the span's bytes), the upstream's bytes fed in `cut`-byte pieces."""
    stream = stream_guard_for("bedrock", path_of(model), guard)
    assert stream is not None
    data = b"".join(frames)
    pieces = [data[at : at + cut] for at in range(0, len(data), cut)] if cut else frames
    pairs = [stream.feed(piece) for piece in pieces]
    pairs.append(stream.flush())
    return b"".join(pair[0] for pair in pairs), b"".join(pair[1] for pair in pairs)


def decoded(data: bytes) -> list[tuple[str, Any]]:
    """Each frame's type and payload, botocore checking both CRCs of every frame."""
    decoder = EventStreamBuffer()
    decoder.add_data(data)
    return [(m.headers.get(":event-type") or m.headers[":exception-type"], json.loads(m.payload)) for m in decoder]


def model_chunks(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(payload["bytes"])) for kind, payload in decoded(data) if kind == "chunk"]


def assembled(model: str, data: bytes) -> Any:
    """The answer as the span assembles it from these bytes (the Bedrock adapter)."""
    call = bedrock_call(path_of(model), [data], request={"prompt": "Who?"}, content_type=EVENT_STREAM)
    return get_adapter("bedrock").summarize(call).response_json


@pytest.mark.parametrize("cut", [None, 7, 64])
@pytest.mark.parametrize(("model", "chunks", "text_of"), BY_FAMILY)
def test_each_family_is_redacted_inside_its_chunks(model: str, chunks: Chunks, text_of: Any, cut: int | None) -> None:
    frames = [es.chunk(chunk) for chunk in chunks(WORDS)]
    client, stored = relay(model, frames, answer := output_guard(), cut)
    assert client == stored
    assert text_of(assembled(model, client)) == REDACTED
    assert JANE not in json.dumps(model_chunks(client)), "not even in a repeat of the answer"
    assert frames[0] in client and frames[1] in client, "chunks whose text did not change, as they came"
    assert frames[-1] not in client, "the last chunk carries what was held"
    assert [f.category for f in answer.findings] == ["EMAIL"]
    # Where the flag scan of the assembled answer points (guardrails.text.bedrock).
    found = response_texts("bedrock", path_of(model), assembled(model, b"".join(frames)))
    assert answer.findings[0].field == where(next(f.path for f in found.fields if JANE in f.text))
    assert answer.notes == []


@pytest.mark.parametrize(("model", "chunks", "text_of"), BY_FAMILY)
def test_frames_whose_text_does_not_change_are_relayed_byte_for_byte(model: str, chunks: Chunks, text_of: Any) -> None:
    frames = [es.chunk(chunk) for chunk in chunks(["Nothing ", "to see ", "here. "])]
    client, stored = relay(model, frames, output_guard(), 9)
    assert client == stored == b"".join(frames)


@pytest.mark.parametrize(("model", "chunks", "text_of"), BY_FAMILY)
def test_a_secret_ends_the_stream_with_a_validation_exception(model: str, chunks: Chunks, text_of: Any) -> None:
    frames = [es.chunk(chunk) for chunk in chunks(["Your key: ", SECRET[:12], SECRET[12:], " ok"])]
    client, stored = relay(model, frames, answer := output_guard())
    kind, payload = decoded(client)[-1]
    assert kind == "validationException" and "keys-out" in payload["message"]
    assert SECRET[:10].encode() not in b"".join(json.dumps(c).encode() for c in model_chunks(client))
    assert client == stored and answer.blocked_by is not None
    assert frames[0] in client, "the text before the match was relayed"


@pytest.mark.parametrize(("model", "chunks", "text_of"), BY_FAMILY)
def test_placeholders_are_restored_for_the_client_and_kept_for_the_span(
    model: str, chunks: Chunks, text_of: Any
) -> None:
    client, stored = relay(model, [es.chunk(chunk) for chunk in chunks(MASKED_WORDS)], restoring_guard(JANE), 11)
    assert text_of(assembled(model, client)) == RESTORED
    assert text_of(assembled(model, stored)) == MASKED
    assert JANE not in json.dumps(assembled(model, stored))


@pytest.mark.parametrize(("model", "chunks", "text_of"), BY_FAMILY)
def test_text_held_when_the_stream_is_cut_short_is_sent_in_a_chunk_of_the_familys_shape(
    model: str, chunks: Chunks, text_of: Any
) -> None:
    frames = [es.chunk(chunk) for chunk in chunks(["Write to ", "jane.doe@exam"])[:-1]]  # no final chunk
    client, _ = relay(model, frames, output_guard())
    assert text_of(assembled(model, client)) == "Write to jane.doe@exam"  # no match completed: as written
    assert len(model_chunks(client)) == len(frames) + 1, "one chunk more, with what was held"


def test_cohere_stream_end_repeats_the_answer_as_each_copy_received_it() -> None:
    model = "cohere.command-r-plus-v1%3A0"
    chunks = cohere(WORDS)
    chunks[-1]["response"]["citations"] = [{"start": 18, "end": 38, "text": JANE, "document_ids": ["d"]}]
    client, stored = relay(model, [es.chunk(chunk) for chunk in chunks], output_guard())
    end = model_chunks(client)[-1]
    assert end["event_type"] == "stream-end" and "amazon-bedrock-invocationMetrics" in end
    assert end["response"]["text"] == end["response"]["chat_history"][1]["message"] == REDACTED
    assert end["response"]["chat_history"][0]["message"] == "Who?"
    assert end["response"]["citations"][0]["text"] == "<EMAIL_1>"
    assert client == stored


def test_cohere_restore_reaches_stream_end_for_the_client_only() -> None:
    model = "cohere.command-r-v1%3A0"
    client, stored = relay(model, [es.chunk(chunk) for chunk in cohere(MASKED_WORDS)], restoring_guard(JANE))
    assert model_chunks(client)[-1]["response"]["text"] == RESTORED
    assert model_chunks(stored)[-1]["response"]["chat_history"][1]["message"] == MASKED
    assert JANE.encode() not in b"".join(json.dumps(c).encode() for c in model_chunks(stored))


def test_cohere_events_guardrails_do_not_rewrite_are_noted() -> None:
    model = "cohere.command-r-v1%3A0"
    call = {"is_finished": False, "event_type": "tool-calls-chunk", "tool_call_delta": {"parameters": '{"to'}}
    frames = [es.chunk(call)]
    client, _ = relay(model, frames, answer := output_guard())
    assert client == frames[0]
    assert answer.notes == ["not blocked or redacted: Cohere tool-calls-chunk events"]


def test_mistral_chat_form_ended_by_a_bare_stop_carries_what_was_held() -> None:
    model = "mistral.mistral-large-2407-v1%3A0"
    chunks = mistral_chat(["Mail ", JANE])
    chunks[-1]["choices"][0].pop("message")  # the last chunk: a stop reason and no message
    client, _ = relay(model, [es.chunk(chunk) for chunk in chunks], output_guard())
    last = model_chunks(client)[-1]["choices"][0]
    assert last["message"] == {"content": "<EMAIL_1>"} and last["stop_reason"] == "stop"
    assert assembled(model, client)["choices"][0]["message"]["content"] == "Mail <EMAIL_1>"


def test_cohere_search_queries_are_read_once_wherever_they_come() -> None:
    model = "cohere.command-r-plus-v1%3A0"
    queries = [{"text": f"contact {JANE}", "generation_id": "g"}]
    chunks = cohere(["Found ", "it. "])
    chunks.insert(1, {"is_finished": False, "event_type": "search-queries-generation", "search_queries": queries})
    chunks[-1]["response"]["search_queries"] = queries
    client, stored = relay(model, [es.chunk(chunk) for chunk in chunks], answer := output_guard())
    seen = model_chunks(client)
    assert seen[1]["search_queries"][0]["text"] == seen[-1]["response"]["search_queries"][0]["text"]
    assert seen[1]["search_queries"][0]["text"] == "contact <EMAIL_1>"
    assert [f.field for f in answer.findings] == ["search_queries[0].text"]
    assert client == stored and answer.notes == []
