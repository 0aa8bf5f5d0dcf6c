"""The sliding window over streamed tool-call arguments: JSON text in fragments, read value by value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.arguments import ArgumentsWindow, json_escaped
from glassgate.guardrails.placeholders import Placeholders, Restorable
from glassgate.guardrails.policy import CompiledPolicy

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
PATH = ("choices", 0, "message", "tool_calls", 0, "function", "arguments")
EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
CUTS = [1, 2, 3, 5, 7, 13, 1000]


def policy(detector: str, action: str) -> CompiledPolicy:
    return CompiledPolicy.of(
        GuardrailPolicy(name=f"{detector}-{action}", detectors=[detector], phases=["output"], action=action)
    )


def guard() -> AnswerGuard:
    return AnswerGuard([policy("pii", "redact"), policy("secrets", "block")])


def stream(
    text: str, cut: int, answer_guard: AnswerGuard, *, json_text: bool = True, path: tuple[str | int, ...] = PATH
) -> tuple[str, str]:
    """(the client's arguments, the span's), assembled from what the window released."""
    window = ArgumentsWindow(answer_guard, path, json_text=json_text)
    released = [window.push(text[at : at + cut]) for at in range(0, len(text), cut)]
    released.append(window.close())
    return "".join(client for client, _ in released), "".join(stored for _, stored in released)


@pytest.mark.parametrize("cut", CUTS)
def test_values_cut_anywhere_are_redacted_inside_their_strings_and_the_json_stays_valid(cut: int) -> None:
    arguments = json.dumps({"to": EMAIL, "card": CARD, "note": f'Mail {EMAIL} "now"\nthanks', "n": [1, 2.5, True]})
    client, stored = stream(arguments, cut, answer := guard())
    assert client == stored
    assert json.loads(stored) == {
        "to": "<EMAIL_1>",
        "card": "<CREDIT_CARD_1>",
        "note": 'Mail <EMAIL_1> "now"\nthanks',
        "n": [1, 2.5, True],
    }
    found = [(finding.category, arguments[finding.start : finding.end]) for finding in answer.findings]
    assert found == [("EMAIL", EMAIL), ("CREDIT_CARD", CARD), ("EMAIL", EMAIL)], "offsets into the JSON text"
    assert {finding.field for finding in answer.findings} == {"choices[0].message.tool_calls[0].function.arguments"}


@pytest.mark.parametrize("cut", CUTS)
def test_arguments_without_a_match_come_out_as_the_model_wrote_them(cut: int) -> None:
    arguments = '{ "city" : "Par\\u00eds",\n "tags":["a\\/b", "\\ud83d\\ude00"], "n": -1.5e3, "ok": false, "x": null }'
    assert stream(arguments, cut, guard()) == (arguments, arguments)


def test_escapes_are_decoded_before_the_detectors_read_a_value() -> None:
    arguments = '{"to": "jane.doe\\u0040example.com", "note": "line one\\njane.doe@example.com"}'
    _, stored = stream(arguments, 4, answer := guard())
    assert json.loads(stored) == {"to": "<EMAIL_1>", "note": "line one\n<EMAIL_1>"}
    assert [arguments[finding.start : finding.end] for finding in answer.findings] == [
        "jane.doe\\u0040example.com",
        "jane.doe@example.com",
    ]


def test_a_number_that_matches_becomes_a_string_placeholder() -> None:
    _, stored = stream('{"card": 4111111111111111, "count": 3}', 3, guard())
    assert json.loads(stored) == {"card": "<CREDIT_CARD_1>", "count": 3}


def test_the_key_is_the_values_context() -> None:
    assert json.loads(stream('{"ssn": "536 22 1234"}', 4, guard())[1]) == {"ssn": "<US_SSN_1>"}
    assert json.loads(stream('{"code": "536 22 1234"}', 4, guard())[1]) == {"code": "536 22 1234"}


def test_an_input_object_gets_findings_on_each_value() -> None:
    arguments = json.dumps({"to": ["x", EMAIL], "meta": {"phone": "+1 415 555 0100"}})
    stream(arguments, 6, answer := guard(), json_text=False, path=("content", 1, "input"))
    assert [(finding.field, finding.start, finding.end) for finding in answer.findings] == [
        ("content[1].input.to[1]", 0, len(EMAIL)),
        ("content[1].input.meta.phone", 0, 15),
    ]


def test_only_an_open_value_is_held() -> None:
    window = ArgumentsWindow(guard(), PATH, json_text=True)
    assert window.push('{"city": "Pa') == ('{"city": "', '{"city": "')
    assert window.push('ris", "n": 4') == ('Paris", "n": ', 'Paris", "n": ')
    assert window.push("2}") == ("42}", "42}")
    assert window.close() == ("", "")


def test_a_secret_blocks_and_nothing_of_it_is_released() -> None:
    answer = guard()
    window = ArgumentsWindow(answer, PATH, json_text=True)
    released = [window.push(piece) for piece in ['{"a": "hi", "key": "', SECRET[:12], SECRET[12:], '"}']]
    released.append(window.close())
    assert answer.blocked_by is not None and "secrets-block" in answer.blocked_by
    assert "".join(stored for _, stored in released) == '{"a": "hi", "key": "'


def test_arguments_that_are_not_json_are_read_as_text() -> None:
    assert stream(f"send it to {EMAIL} today", 4, guard()) == ("send it to <EMAIL_1> today",) * 2


def test_arguments_cut_short_are_released_as_written() -> None:
    assert stream('{"to": "jane.doe@exam', 5, guard()) == ('{"to": "jane.doe@exam',) * 2
    assert stream('{"note": "a\\', 5, guard()) == ('{"note": "a\\',) * 2


# --- restore ---------------------------------------------------------------------------------------


def restoring(value: str) -> AnswerGuard:
    numbering = Placeholders()
    item = Restorable(numbering.of("EMAIL", value), value, "EMAIL", frozenset({"pii"}))
    made = AnswerGuard.for_call([], numbering, [item])
    assert made is not None
    return made


@pytest.mark.parametrize("cut", CUTS)
def test_placeholders_are_restored_json_escaped_for_the_client_only(cut: int) -> None:
    value = 'ja"ne\\doe@example.com\n'  # a value no JSON string may hold as it is
    arguments = '{"to": "<EMAIL_1>", "cc": "<EMAIL_9>", "note": "for <EMAIL_1>!"}'
    client, stored = stream(arguments, cut, restoring(value))
    assert stored == arguments, "the span keeps the placeholders"
    parsed: Any = json.loads(client)
    assert parsed == {"to": value, "cc": "<EMAIL_9>", "note": f"for {value}!"}


def test_a_placeholder_written_with_escapes_is_restored_too() -> None:
    client, _ = stream('{"to": "\\u003cEMAIL_1\\u003e"}', 3, restoring(EMAIL))
    assert json.loads(client) == {"to": EMAIL}


def test_json_escaped_escapes_a_lone_surrogate_again() -> None:
    assert json_escaped('a"b\n\ud83d') == 'a\\"b\\n\\ud83d'
