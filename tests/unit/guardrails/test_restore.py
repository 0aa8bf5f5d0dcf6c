"""Restoring a request's placeholders in its answer: what is restorable, the window that keeps a
placeholder whole across deltas, and the order with output policies (they win)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.engine import GuardrailEngine, Verdict
from glassgate.guardrails.placeholders import Placeholders, Restorable, Restorer, restorable
from glassgate.guardrails.policy import CompiledPolicy

PATH = ("choices", 0, "message", "content")
JANE, BOB = "jane.doe@example.com", "bob@example.org"
CARD = "4111 1111 1111 1111"
VALUES = {"<EMAIL_1>": JANE, "<EMAIL_2>": BOB, "<CREDIT_CARD_1>": CARD}
# An answer as the vendor writes it back: the placeholders it was sent, glued to punctuation,
# inside longer tokens, one never issued, and look-alikes that are not placeholders.
MASKED = (
    "Dear <EMAIL_1>, I wrote to <EMAIL_2> (cc:<EMAIL_1>) about card <CREDIT_CARD_1>.\n"
    "mailto:<EMAIL_2>; <EMAIL_9> was never issued, nor <EMAIL_12>, <email_1> or <EMAIL_1 >. "
    "a < b and c<d, then <<EMAIL_1>> and x<CREDIT_CARD_1>y; bye <EMAIL_1>"
)
RESTORED = (
    f"Dear {JANE}, I wrote to {BOB} (cc:{JANE}) about card {CARD}.\n"
    f"mailto:{BOB}; <EMAIL_9> was never issued, nor <EMAIL_12>, <email_1> or <EMAIL_1 >. "
    f"a < b and c<d, then <{JANE}> and x{CARD}y; bye {JANE}"
)


def compiled(name: str, detectors: list[str], **options: object) -> CompiledPolicy:
    return CompiledPolicy.of(GuardrailPolicy.model_validate({"name": name, "detectors": detectors, **options}))


def output_policy(name: str, detectors: list[str], action: str = "redact", **options: object) -> CompiledPolicy:
    return compiled(name, detectors, phases=["output"], action=action, **options)


def restoring(values: dict[str, str] = VALUES, *policies: CompiledPolicy) -> AnswerGuard:
    """The guard of a call whose request was redacted into `values`, each restorable."""
    numbering = Placeholders()
    for placeholder, value in values.items():
        category = placeholder[1:].rsplit("_", 1)[0]
        assert numbering.of(category, value) == placeholder
    items = [Restorable(p, v, p[1:].rsplit("_", 1)[0], frozenset({"pii"})) for p, v in values.items()]
    guard = AnswerGuard.for_call(list(policies), numbering, items)
    assert guard is not None
    return guard


def stream(guard: AnswerGuard, text: str, size: int) -> tuple[list[str], list[str], list[int]]:
    """(client pieces, stored pieces, characters held after each push) for `text` in `size` deltas."""
    window = guard.window(PATH)
    client, stored, held = [], [], []
    for start in range(0, len(text), size):
        to_client, to_span = window.push(text[start : start + size])
        client.append(to_client)
        stored.append(to_span)
        held.append(window.held)
    to_client, to_span = window.close()
    return [*client, to_client], [*stored, to_span], held


# --- the restorer ------------------------------------------------------------------------------------


def test_only_issued_placeholders_are_restored_wherever_they_stand() -> None:
    assert Restorer(VALUES).restore(MASKED) == RESTORED


def test_text_without_a_placeholder_is_returned_as_it_is() -> None:
    text = "nothing to see: 1 < 2, <b>bold</b>, <EMAIL_9>"
    assert Restorer(VALUES).restore(text) == text
    assert Restorer(VALUES).restore("plain") == "plain"


def test_json_text_gets_values_escaped_as_a_json_string_holds_them() -> None:
    restorer = Restorer({"<NAME_1>": 'Jo "JJ" O\\Neil'})
    arguments = '{"to": "<NAME_1>", "n": 1}'
    assert orjson.loads(restorer.restore_json(arguments)) == {"to": 'Jo "JJ" O\\Neil', "n": 1}


def test_the_restorer_and_verdicts_never_show_the_values() -> None:
    restorer = Restorer(VALUES)
    verdict = Verdict(placeholders=Placeholders(), restorable=[Restorable("<EMAIL_1>", JANE, "EMAIL", frozenset())])
    for shown in (repr(restorer), repr(verdict), repr(verdict.restorable[0]), repr(Placeholders())):
        assert JANE not in shown and "jane" not in shown


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        ("Dear <EMA", 9, 5),  # the start of a known placeholder waits
        ("Dear <", 6, 5),
        ("Dear <EMAIL_1", 13, 5),  # still a prefix (of <EMAIL_1>; <EMAIL_12> is not issued)
        ("Dear <EMAIL_1>", 14, 14),  # complete: released
        ("Dear <EMAIL_1> ok", 9, 5),  # a release point inside a complete one moves before it
        ("Dear <EMAIL_9", 13, 13),  # cannot become an issued one
        ("Dear <EMAIL_1 x", 15, 15),
        ("a < b", 5, 5),
        ("a <b", 4, 4),
        ("x <EMAIL_1 <EMA", 15, 11),  # only the last "<" can still start one
        ("<CREDIT_CARD_1", 14, 0),
    ],
)
def test_cut_holds_back_only_what_may_still_be_a_known_placeholder(text: str, at: int, expected: int) -> None:
    assert Restorer(VALUES).cut(text, at) == expected


def test_an_empty_restorer_cuts_nothing() -> None:
    assert Restorer({}).cut("Dear <EMA", 9) == 9
    assert not Restorer({}) and not Restorer({"not a placeholder": "x"})


# --- what a request's redaction makes restorable --------------------------------------------------------


def test_a_value_is_restorable_only_when_every_policy_that_redacted_it_asks_for_restore() -> None:
    numbering = Placeholders()
    email, card = numbering.of("EMAIL", JANE), numbering.of("CREDIT_CARD", CARD)
    redacted = [
        ("EMAIL", JANE, "pii", True),
        ("CREDIT_CARD", CARD, "pii", True),
        ("CREDIT_CARD", CARD, "regex", False),  # another redact policy, without restore
        ("EMAIL", "not issued@example.com", "pii", True),  # merged into a longer match: no placeholder
    ]
    found = restorable(redacted, numbering)
    assert [(item.placeholder, item.value, item.detectors) for item in found] == [(email, JANE, frozenset({"pii"}))]
    assert card not in {item.placeholder for item in found}


def test_the_engine_reports_the_restorable_placeholders_of_a_redacted_request() -> None:
    engine = GuardrailEngine(
        [
            GuardrailPolicy(name="mask-pii", detectors=["pii"], action="redact", restore=True),
            GuardrailPolicy(name="mask-keys", detectors=["secrets"], action="redact"),
        ]
    )
    key = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": f"I am {JANE}, key {key}"}]})
    verdict = engine.check_request(
        "inline", vendor="openai", upstream="u", project="p", path="/v1/chat/completions", raw=body
    )
    assert verdict.action == "redact"
    assert orjson.loads(verdict.body)["messages"][0]["content"] == "I am <EMAIL_1>, key <OPENAI_KEY_1>"
    assert [(item.placeholder, item.value) for item in verdict.restorable] == [("<EMAIL_1>", JANE)]
    assert verdict.placeholders is not None and verdict.placeholders.issued("OPENAI_KEY", key) == "<OPENAI_KEY_1>"


def test_a_blocked_request_has_nothing_to_restore() -> None:
    engine = GuardrailEngine(
        [
            GuardrailPolicy(name="mask-pii", detectors=["pii"], action="redact", restore=True),
            GuardrailPolicy(name="no-pii", detectors=["pii"], action="block", categories=["CREDIT_CARD"]),
        ]
    )
    body = orjson.dumps({"messages": [{"role": "user", "content": f"{JANE} pays with {CARD}"}]})
    verdict = engine.check_request(
        "inline", vendor="openai", upstream="u", project="p", path="/v1/chat/completions", raw=body
    )
    assert verdict.action == "block" and verdict.restorable == [] and verdict.placeholders is None


@pytest.mark.parametrize(
    ("options", "ok"),
    [
        ({"action": "redact"}, True),
        ({"action": "redact", "phases": ["input", "output"]}, True),
        ({"action": "flag"}, False),
        ({"action": "block"}, False),
        ({"action": "redact", "phases": ["output"]}, False),
    ],
)
def test_restore_is_only_for_redaction_on_input(options: dict[str, object], ok: bool) -> None:
    config = {"name": "p", "detectors": ["pii"], "restore": True, **options}
    if ok:
        assert CompiledPolicy.of(GuardrailPolicy.model_validate(config)).restore
    else:
        with pytest.raises(ValueError, match="`restore` needs action redact on the input phase"):
            GuardrailPolicy.model_validate(config)


# --- the window, streamed at every cut ---------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 65))
def test_placeholders_cut_across_deltas_are_restored_whatever_the_cut(size: int) -> None:
    client, stored, held = stream(restoring(), MASKED, size)
    assert "".join(client) == RESTORED
    assert "".join(stored) == MASKED, "the span keeps what the vendor wrote"
    assert all(JANE not in piece and BOB not in piece and CARD not in piece for piece in stored)
    # Held back: at most the start of a placeholder (the longest issued has 15 characters).
    assert max(held) <= len("<CREDIT_CARD_1")
    # Client and span copies are cut at the same points: piece by piece, one is the other restored.
    assert [Restorer(VALUES).restore(piece) for piece in stored] == client


@pytest.mark.parametrize("size", range(1, 65))
def test_with_output_policies_both_run_whatever_the_cut(size: int) -> None:
    # Output redaction of phones: a phone the model writes is masked in both copies, numbered
    # after the request's placeholders; the request's own phone stays masked (the output policy
    # would catch it), its emails and card come back.
    phones = output_policy("phones", ["pii"], categories=["PHONE"])
    guard = restoring({**VALUES, "<PHONE_1>": "+1 212 555 0199"}, phones)
    answer = "Call <PHONE_1> or +1 415 555 0100 now, <EMAIL_1>. Card <CREDIT_CARD_1>, mail <EMAIL_2>"
    client, stored, _ = stream(guard, answer, size)
    assert "".join(stored) == "Call <PHONE_1> or <PHONE_2> now, <EMAIL_1>. Card <CREDIT_CARD_1>, mail <EMAIL_2>"
    assert "".join(client) == f"Call <PHONE_1> or <PHONE_2> now, {JANE}. Card {CARD}, mail {BOB}"
    assert [(finding.category, finding.action) for finding in guard.findings] == [("PHONE", "redact")]


def test_text_without_a_placeholder_start_is_released_at_once() -> None:
    window = restoring().window(PATH)
    assert window.push("Hello there") == ("Hello there", "Hello there"), "no space needed: only '<' waits"
    assert window.push(", <EMA") == (", ", ", ")
    assert window.push("IL_1> and <EMAIL_9") == (f"{JANE} and <EMAIL_9", "<EMAIL_1> and <EMAIL_9")
    assert window.close() == ("", "")


def test_a_placeholder_start_at_the_end_of_the_answer_is_released_as_it_is() -> None:
    window = restoring().window(PATH)
    assert window.push("bye <EMAIL_") == ("bye ", "bye ")
    assert window.close() == ("<EMAIL_", "<EMAIL_")


# --- output policies win ---------------------------------------------------------------------------------


def test_a_value_an_output_policy_would_catch_is_not_restored_and_the_span_says_so() -> None:
    guard = restoring(VALUES, output_policy("answers-pii", ["pii"], categories=["EMAIL"]))
    assert guard.restorer is not None and guard.restorer.placeholders() == ["<CREDIT_CARD_1>"]
    assert guard.notes == [
        "<EMAIL_1> not restored: output policy 'answers-pii' would catch its value",
        "<EMAIL_2> not restored: output policy 'answers-pii' would catch its value",
        "placeholders restored for the client where repeated: <CREDIT_CARD_1>",
    ]
    assert all(JANE not in note and BOB not in note and CARD not in note for note in guard.notes)
    client, _, _ = stream(guard, "To <EMAIL_1>, card <CREDIT_CARD_1>", 3)
    assert "".join(client) == f"To <EMAIL_1>, card {CARD}"


def test_a_block_policy_on_answers_keeps_its_values_masked_too() -> None:
    guard = restoring(VALUES, output_policy("answers-cards", ["pii"], action="block", categories=["CREDIT_CARD"]))
    assert guard.restorer is not None and guard.restorer.placeholders() == ["<EMAIL_1>", "<EMAIL_2>"]


def test_an_output_detector_other_than_the_requests_catches_by_the_value_itself() -> None:
    # The request's email was found by `pii`; the output policy's own regex finds the bare value.
    guard = restoring(VALUES, output_policy("house", ["regex"], patterns={"EMAIL": r"[\w.]+@example\.com"}))
    assert guard.restorer is not None and guard.restorer.placeholders() == ["<CREDIT_CARD_1>", "<EMAIL_2>"]


def test_the_same_detector_keeps_a_value_masked_even_if_it_needs_context_to_find_it() -> None:
    # A bare 9-digit SSN is found only after "SSN": alone, the output detector would miss it.
    numbering = Placeholders()
    placeholder = numbering.of("US_SSN", "536221234")
    item = Restorable(placeholder, "536221234", "US_SSN", frozenset({"pii"}))
    guard = AnswerGuard.for_call([output_policy("answers-pii", ["pii"])], numbering, [item])
    assert guard is not None and guard.restorer is None


def test_a_remote_output_policy_keeps_every_value_of_its_categories_masked() -> None:
    remote = dataclasses.replace(output_policy("judge", ["pii"], categories=["CREDIT_CARD"]), detectors=(), remote=True)
    guard = restoring(VALUES, remote)
    assert guard.restorer is not None and guard.restorer.placeholders() == ["<EMAIL_1>", "<EMAIL_2>"]


def test_once_an_output_policy_redacts_a_value_into_a_placeholder_it_is_restored_no_more() -> None:
    # The output pattern needs its context ("mail to"), so the bare value is not caught up front;
    # when the model writes the value itself, it is masked with the request's own placeholder.
    policy = output_policy("house", ["regex"], patterns={"EMAIL": r"(?<=mail to )[\w.]+@[\w.]+\.com"})
    guard = restoring({"<EMAIL_1>": JANE}, policy)
    window = guard.window(PATH)
    first = window.push("Hi <EMAIL_1>. ")
    assert first == (f"Hi {JANE}. ", "Hi <EMAIL_1>. ")
    second = window.push(f"Or mail to {JANE} and <EMAIL_1> ")
    assert second == ("Or mail to <EMAIL_1> and <EMAIL_1> ",) * 2
    assert window.close() == ("", "")


def test_a_whole_answer_keeps_placeholders_for_the_span_and_restores_them_for_the_client() -> None:
    guard = restoring()
    body = (
        b'{"id": "c1",  "choices": [{"index": 0, "message": {"role": "assistant", "content": "To <EMAIL_1>.", '
        b'"tool_calls": [{"id": "t", "type": "function", "function": {"name": "send", '
        b'"arguments": "{\\"to\\": \\"<EMAIL_2>\\", \\"note\\": \\"<EMAIL_9>\\"}"}}]}}], "usage": {"x": "<EMAIL_1>"}}'
    )
    verdict = guard.check_body("openai", "/v1/chat/completions", body)
    assert verdict.action == "forward" and verdict.body == body
    restored = guard.restored_body("openai", "/v1/chat/completions", verdict.body)
    assert restored == body.replace(b"To <EMAIL_1>.", f"To {JANE}.".encode()).replace(b"<EMAIL_2>", BOB.encode()), (
        "only text fields change, byte for byte elsewhere (usage keeps its placeholder)"
    )
    message = orjson.loads(restored)["choices"][0]["message"]
    assert orjson.loads(message["tool_calls"][0]["function"]["arguments"]) == {"to": BOB, "note": "<EMAIL_9>"}


def test_a_whole_cohere_answer_is_restored_in_its_text_and_in_its_own_turn_of_the_history() -> None:
    guard = restoring()
    answer = {
        "text": "To <EMAIL_1>.",
        "chat_history": [
            {"role": "USER", "message": "Write to <EMAIL_1>."},
            {"role": "CHATBOT", "message": "To <EMAIL_1>."},
        ],
    }
    body = orjson.dumps(answer)
    restored = orjson.loads(guard.restored_body("bedrock", "/model/cohere.command-r-v1%3A0/invoke", body))
    assert restored["text"] == restored["chat_history"][1]["message"] == f"To {JANE}."
    assert restored["chat_history"][0]["message"] == "Write to <EMAIL_1>.", "the request's echo, as it came"


def test_a_whole_answer_without_placeholders_is_the_same_bytes() -> None:
    guard = restoring()
    body = b'{"content": [{"type": "text", "text": "no placeholder here"}], "role": "assistant"}'
    assert guard.restored_body("anthropic", "/v1/messages", body) is body


def test_no_guard_is_made_when_there_is_nothing_to_do() -> None:
    assert AnswerGuard.for_call([], None, []) is None
    assert AnswerGuard.for_call([], Placeholders(), []) is None
