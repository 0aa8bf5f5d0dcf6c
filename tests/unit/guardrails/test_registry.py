"""The built-in detectors are registered like plugins, and reject unknown options by name."""

from __future__ import annotations

import pytest

from glassgate.guardrails import base
from glassgate.guardrails import detectors as _builtins  # noqa: F401  (registers them)


def test_builtins_are_registered() -> None:
    assert {"pii", "secrets", "injection", "regex", "toxicity", "profanity"} <= set(base.registered())


@pytest.mark.parametrize("name", ["pii", "secrets", "injection", "regex"])
def test_factories_build_detectors_that_scan(name: str) -> None:
    detector = base.create(name, {})
    assert detector.name == name
    assert detector.scan("") == []


@pytest.mark.parametrize("name", ["pii", "secrets", "injection", "regex", "toxicity", "profanity"])
def test_unknown_options_are_named(name: str) -> None:
    with pytest.raises(ValueError, match=r"unknown option.*colour"):
        base.create(name, {"colour": "blue"})
