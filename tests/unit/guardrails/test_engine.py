"""The engine over real request bodies: block, redact and flag, scopes, placeholders, failures."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.base import Match, register
from glassgate.guardrails.engine import GuardrailEngine, requested_model

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


class EmailFinder:
    name = "test_email"

    def scan(self, text: str) -> list[Match]:
        return [Match("EMAIL", found.start(), found.end()) for found in _EMAIL.finditer(text)]


class Exploding:
    name = "test_exploding"

    def scan(self, text: str) -> list[Match]:
        raise RuntimeError("detector bug")


def _factory(detector: Any) -> Any:
    def build(options: Mapping[str, Any]) -> Any:
        return detector

    return build


register("test_email", _factory(EmailFinder()))
register("test_exploding", _factory(Exploding()))

CHAT = (
    b'{"model": "gpt-4o-mini",  "messages": [{"role": "system", "content": "Be brief."}, '
    b'{"role": "user", "content": "Mail ann@example.com or ann@example.com, cc bob@example.org"}]}'
)


def engine(**policy: Any) -> GuardrailEngine:
    return GuardrailEngine([GuardrailPolicy(name="p", detectors=["test_email"], **policy)])


def check(guard: GuardrailEngine, stage: Any = "inline", raw: bytes = CHAT, **where: Any) -> Any:
    context = {"vendor": "openai", "upstream": "openai", "project": "default", "path": "/v1/chat/completions"}
    return guard.check_request(stage, raw=raw, **{**context, **where})


def test_redact_rewrites_only_the_matched_text_with_numbered_placeholders() -> None:
    verdict = check(engine(action="redact"))
    assert verdict.action == "redact"
    expected = CHAT.replace(b"ann@example.com", b"<EMAIL_1>").replace(b"bob@example.org", b"<EMAIL_2>")
    assert verdict.body == expected, "the rest of the body is byte-identical (note the double space kept)"
    assert [(f.category, f.field, f.action) for f in verdict.findings] == [
        ("EMAIL", "messages[1].content", "redact")
    ] * 3


def test_block_names_policy_and_categories_never_the_value_and_masks_the_stored_body() -> None:
    verdict = check(engine(action="block"))
    assert verdict.action == "block"
    assert "'p'" in verdict.message and "EMAIL" in verdict.message and "example" not in verdict.message
    assert b"@example" not in verdict.body


def test_flag_changes_nothing_and_runs_only_in_the_flag_stage() -> None:
    guard = engine(action="flag")
    assert not guard.has_inline_for("openai")
    assert check(guard).findings == [], "flag policies never run on the request path"
    verdict = check(guard, stage="flag")
    assert verdict.action == "forward" and verdict.body == CHAT and len(verdict.findings) == 3


def test_a_body_without_findings_is_forwarded_untouched() -> None:
    clean = CHAT.replace(b"ann@example.com", b"Ann").replace(b"bob@example.org", b"Bob")
    verdict = check(engine(action="redact"), raw=clean)
    assert (verdict.action, verdict.body, verdict.findings) == ("forward", clean, [])


@pytest.mark.parametrize(
    ("scope", "where", "applies"),
    [
        ({"upstreams": ["azure"]}, {}, False),
        ({"upstreams": ["openai"]}, {}, True),
        ({"projects": ["team-a"]}, {"project": "team-b"}, False),
        ({"projects": ["team-a"]}, {"project": "team-a"}, True),
        ({"models": ["gpt-4o"]}, {}, False),
        ({"models": ["gpt-4o-mini"]}, {}, True),
    ],
)
def test_scopes(scope: dict[str, Any], where: dict[str, Any], applies: bool) -> None:
    verdict = check(engine(action="block", **scope), **where)
    assert (verdict.action == "block") is applies


def test_categories_and_thresholds_filter_matches() -> None:
    assert check(engine(action="block", categories=["PHONE"])).action == "forward"
    assert check(engine(action="block", threshold=1.0)).action == "block", "pattern matches score 1.0"


def test_a_failing_detector_is_contained_and_named() -> None:
    guard = GuardrailEngine([GuardrailPolicy(name="p", detectors=["test_exploding", "test_email"], action="redact")])
    verdict = check(guard)
    assert verdict.action == "redact" and verdict.failures == ["p/test_exploding: RuntimeError"]


def test_a_failing_detector_blocks_when_the_policy_fails_closed() -> None:
    guard = GuardrailEngine(
        [GuardrailPolicy(name="strict", detectors=["test_exploding"], action="redact", on_error="closed")]
    )
    verdict = check(guard)
    assert verdict.action == "block" and "'strict' could not check it" in verdict.message


def test_non_json_bodies_are_forwarded_and_said_so() -> None:
    verdict = check(engine(action="block"), raw=b"not json at all")
    assert verdict.action == "forward" and verdict.skipped == ["the request body is not JSON"]


def test_requested_model_per_vendor() -> None:
    assert requested_model("openai", "/v1/chat/completions", {"model": "gpt-4o"}) == "gpt-4o"
    assert requested_model("bedrock", "/model/anthropic.claude-3-haiku/converse", {}) == "anthropic.claude-3-haiku"
    assert requested_model("bedrock", "/model/anthropic.claude-3-5-sonnet-v2%3A0/converse-stream", {}) == (
        "anthropic.claude-3-5-sonnet-v2:0"
    ), "decoded, as the span's model is, so a `models` scope names it once"
    assert requested_model("azure", "/openai/deployments/prod-4o/chat/completions", {}) == "prod-4o"


def test_config_errors_name_the_policy() -> None:
    with pytest.raises(ValueError, match="unknown detector 'nope'"):
        GuardrailPolicy(name="x", detectors=["nope"])
    with pytest.raises(ValueError, match="needs `patterns` or `deny`"):
        GuardrailPolicy(name="x", detectors=["regex"])
    assert orjson.loads(CHAT)  # the fixture itself is valid JSON


def test_profanity_words_come_from_the_policy() -> None:
    policy = GuardrailPolicy(name="clean", detectors=["profanity"], extra_words=["darn"], action="block")
    body = b'{"model": "m", "messages": [{"role": "user", "content": "well darn it"}]}'
    assert check(GuardrailEngine([policy]), raw=body).action == "block"
    with pytest.raises(ValueError, match="need the profanity detector"):
        GuardrailPolicy(name="x", detectors=["pii"], extra_words=["darn"])


def test_answers_are_flagged_by_output_policies_only() -> None:
    guard = GuardrailEngine(
        [
            GuardrailPolicy(name="answers", detectors=["test_email"], phases=["output"]),
            GuardrailPolicy(name="requests", detectors=["test_email"], phases=["input"]),
        ]
    )
    answer = {"choices": [{"message": {"role": "assistant", "content": "Write to help@example.com"}}]}
    where = {"vendor": "openai", "upstream": "openai", "project": "default", "path": "/v1/chat/completions"}
    verdict = guard.scan_response(**where, model="gpt-4o", body=answer)
    assert [(f.policy, f.phase, f.field, f.start, f.end) for f in verdict.findings] == [
        ("answers", "output", "choices[0].message.content", 9, 25)
    ]
    assert guard.scan_response(**where, model="gpt-4o", body=None).findings == []
    assert check(guard, stage="flag").findings[0].policy == "requests"


def test_answer_policies_that_change_answers_are_chosen_by_scope() -> None:
    guard = GuardrailEngine(
        [
            GuardrailPolicy(name="redact", detectors=["test_email"], phases=["output"], action="redact", models=["m"]),
            GuardrailPolicy(name="watch", detectors=["test_email"], phases=["output"]),
            GuardrailPolicy(name="inputs", detectors=["test_email"], phases=["input"], action="block"),
        ]
    )
    assert guard.has_answer_inline_for("openai")
    assert [policy.name for policy in guard.answer_policies("openai", "default", "m")] == ["redact"]
    assert guard.answer_policies("openai", "default", "other") == []
