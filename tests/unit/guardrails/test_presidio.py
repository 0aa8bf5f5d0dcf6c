"""The optional Presidio detector: a clear start-up error without the package, offline PII with it."""

from __future__ import annotations

import importlib.util

import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails import base
from glassgate.guardrails import detectors as _builtins  # noqa: F401  (registers them)
from glassgate.guardrails.detectors import presidio


def test_it_is_registered_under_its_name() -> None:
    assert "presidio" in base.registered()


def test_without_the_package_a_policy_naming_it_is_a_start_up_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presidio, "available", lambda: False)
    with pytest.raises(ValueError, match=r"detector 'presidio' needs `pip install presidio-analyzer`"):
        GuardrailPolicy(name="p", detectors=["presidio"], action="flag")


def test_availability_is_looked_up_without_importing(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    def find_spec(name: str) -> None:
        looked_up.append(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert presidio.available() is False and looked_up == ["presidio_analyzer"]


def test_unknown_options_are_named_before_anything_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presidio, "available", lambda: True)
    with pytest.raises(ValueError, match=r"detector 'presidio': unknown option\(s\) colour"):
        base.create("presidio", {"colour": "blue"})


def test_with_the_package_it_finds_pii_offline_on_a_blank_pipeline() -> None:
    pytest.importorskip("presidio_analyzer")
    pytest.importorskip("spacy")
    detector = base.create("presidio", {})
    text = "Mail jane.doe@example.com, card 4111 1111 1111 1111, call +1 415 555 0100 or see https://example.com"
    found = {match.category: text[match.start : match.end] for match in detector.scan(text)}
    assert found["EMAIL_ADDRESS"] == "jane.doe@example.com"
    assert found["CREDIT_CARD"] == "4111 1111 1111 1111"
    assert "PHONE_NUMBER" not in found and "URL" not in found  # those recognizers are dropped for cost
    assert detector.scan("nothing to see here") == []
