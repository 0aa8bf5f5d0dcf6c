"""The sliding window over streamed answers, and whole answers checked at once."""

from __future__ import annotations

import orjson
import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.answers import MAX_HOLD_CHARS, AnswerGuard, hold_start
from glassgate.guardrails.policy import CompiledPolicy

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
PATH = ("choices", 0, "message", "content")


def guard(*actions: tuple[str, str]) -> AnswerGuard:
    policies = [
        CompiledPolicy.of(
            GuardrailPolicy(name=f"{detector}-{action}", detectors=[detector], phases=["output"], action=action)
        )
        for detector, action in actions
    ]
    return AnswerGuard(policies)


def stream(text: str, size: int, answer_guard: AnswerGuard) -> list[str]:
    """What the window releases for each delta; without restore the client's copy is the span's."""
    window = answer_guard.window(PATH)
    released = [window.push(text[start : start + size]) for start in range(0, len(text), size)]
    released.append(window.close())
    assert all(client == stored for client, stored in released)
    return [stored for _, stored in released]


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("plain words ", ""),
        ("plain words", "words"),
        ("call +1 415 55", "+1 415 55"),
        ("card 4111 1111 11", "4111 1111 11"),
        ("version 1.2 then", "then"),
        ("x -----BEGIN RSA PRIVATE KEY-----\nMIIE", "-----BEGIN RSA PRIVATE KEY-----\nMIIE"),
        ("-----BEGIN KEY-----\nAAA\n-----END KEY----- done", "done"),
        ("a long word " + "b" * (MAX_HOLD_CHARS + 10), "b" * MAX_HOLD_CHARS),
    ],
)
def test_only_the_tail_a_match_could_grow_into_is_held(text: str, held: str) -> None:
    assert text[hold_start(text) :] == held


@pytest.mark.parametrize("size", [1, 3, 5, 7, 64])
def test_values_cut_across_deltas_are_redacted_whatever_the_cut(size: int) -> None:
    answer_guard = guard(("pii", "redact"))
    text = "Mail jane.doe@example.com or call +1 415 555 0100; card 4111 1111 1111 1111. Mail jane.doe@example.com"
    released = stream(text, size, answer_guard)
    assert "".join(released) == ("Mail <EMAIL_1> or call <PHONE_1>; card <CREDIT_CARD_1>. Mail <EMAIL_1>")
    found = [(f.category, text[f.start : f.end]) for f in answer_guard.findings]
    assert found == [
        ("EMAIL", "jane.doe@example.com"),
        ("PHONE", "+1 415 555 0100"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("EMAIL", "jane.doe@example.com"),
    ]
    assert all(f.field == "choices[0].message.content" and f.phase == "output" for f in answer_guard.findings)


def test_text_is_released_as_it_arrives_not_at_the_end() -> None:
    words = [f"word{number} " for number in range(50)]
    window = guard(("pii", "redact"), ("secrets", "block")).window(PATH)
    assert [window.push(word) for word in words] == [(word, word) for word in words], "no delay after a space"
    assert window.close() == ("", "")


def test_a_block_policy_stops_the_release_and_says_why_without_the_value() -> None:
    answer_guard = guard(("pii", "redact"), ("secrets", "block"))
    released = stream(f"Here it is: {SECRET} enjoy", 4, answer_guard)
    assert "".join(released) == "Here it is: "
    assert answer_guard.blocked_by is not None and "secrets-block" in answer_guard.blocked_by
    assert SECRET not in answer_guard.blocked_by
    assert [f.action for f in answer_guard.findings] == ["block"]


def test_clean_streams_produce_no_findings_and_no_changes() -> None:
    answer_guard = guard(("pii", "redact"))
    text = "Restart the process, then check version 1.2.3.4 of order 12345."
    assert "".join(stream(text, 6, answer_guard)) == text
    assert answer_guard.findings == []


def test_a_whole_answer_is_redacted_byte_exactly_elsewhere() -> None:
    body = (
        b'{"id": "c1",  "choices": [{"index": 0, '
        b'"message": {"role": "assistant", "content": "Mail jane.doe@example.com"}}]}'
    )
    verdict = guard(("pii", "redact")).check_body("openai", "/v1/chat/completions", body)
    assert verdict.action == "redact"
    assert verdict.body == body.replace(b"jane.doe@example.com", b"<EMAIL_1>")


def test_a_whole_answer_with_a_secret_is_blocked_and_masked() -> None:
    body = orjson.dumps(
        {"content": [{"type": "text", "text": f"key {SECRET}"}], "role": "assistant", "type": "message"}
    )
    verdict = guard(("secrets", "block")).check_body("anthropic", "/v1/messages", body)
    assert verdict.action == "block" and "secrets-block" in verdict.message
    assert SECRET.encode() not in verdict.body


def test_an_answer_that_is_not_json_is_forwarded_and_noted() -> None:
    answer_guard = guard(("pii", "redact"))
    verdict = answer_guard.check_body("openai", "/v1/chat/completions", b"jane.doe@example.com")
    assert verdict.action == "forward" and "not JSON" in answer_guard.notes[0]


@pytest.mark.parametrize(
    ("model", "answer"),
    [
        ("meta.llama3-8b-instruct-v1%3A0", {"generation": "Mail jane.doe@example.com", "stop_reason": "stop"}),
        ("amazon.titan-text-express-v1", {"results": [{"outputText": "Mail jane.doe@example.com"}]}),
        ("mistral.mistral-7b-instruct-v0%3A2", {"outputs": [{"text": "Mail jane.doe@example.com"}]}),
        (
            "mistral.mistral-large-2407-v1%3A0",
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Mail jane.doe@example.com"}}]},
        ),
        (
            "cohere.command-r-v1%3A0",
            {
                "text": "Mail jane.doe@example.com",
                "chat_history": [
                    {"role": "USER", "message": "Who?"},
                    {"role": "CHATBOT", "message": "Mail jane.doe@example.com"},
                ],
                "citations": [{"start": 5, "end": 25, "text": "jane.doe@example.com", "document_ids": []}],
                "finish_reason": "COMPLETE",
            },
        ),
    ],
)
def test_whole_bedrock_invoke_answers_of_every_text_family_are_redacted_everywhere(model: str, answer: object) -> None:
    body = orjson.dumps(answer)
    verdict = guard(("pii", "redact")).check_body("bedrock", f"/model/{model}/invoke", body)
    assert verdict.action == "redact"
    assert verdict.body == body.replace(b"jane.doe@example.com", b"<EMAIL_1>")
