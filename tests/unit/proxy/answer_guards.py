"""The answer guards the stream tests share: output policies, and a guard that restores one value."""

from __future__ import annotations

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.placeholders import Placeholders, Restorable
from glassgate.guardrails.policy import CompiledPolicy


def output_guard(*, block_secrets: bool = True) -> AnswerGuard:
    """Redact PII in answers and, unless told not to, block secrets."""
    chosen = [("pii-out", "pii", "redact"), ("keys-out", "secrets", "block")][: 2 if block_secrets else 1]
    return AnswerGuard(
        [
            CompiledPolicy.of(GuardrailPolicy(name=name, detectors=[detector], phases=["output"], action=action))
            for name, detector, action in chosen
        ]
    )


def restoring_guard(value: str) -> AnswerGuard:
    """A call whose request had `value` replaced by `<EMAIL_1>`, to be restored in the answer."""
    numbering = Placeholders()
    item = Restorable(numbering.of("EMAIL", value), value, "EMAIL", frozenset({"pii"}))
    made = AnswerGuard.for_call([], numbering, [item])
    assert made is not None
    return made
