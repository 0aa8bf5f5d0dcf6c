"""A policy's `provider` block is checked at start: the remote detector, its fields, its upstream."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from glassgate.config import GuardrailPolicy, load_settings
from glassgate.errors import ConfigError
from glassgate.guard_providers import registered

ACS = {"type": "azure_content_safety", "endpoint": "https://contoso.cognitiveservices.azure.com", "key": "acs-secret"}
BEDROCK = {"type": "bedrock_guardrail", "region": "us-east-1", "guardrail_id": "gr1abc", "guardrail_version": "DRAFT"}
JUDGE = {"type": "llm_judge", "upstream": "openai", "model": "gpt-4o-mini", "key": "sk-judge"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GLASSGATE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def policy(detector: str, provider: dict[str, Any] | None, **fields: Any) -> GuardrailPolicy:
    return GuardrailPolicy(name="remote", detectors=[detector], action="block", provider=provider, **fields)


def refused(detector: str, provider: dict[str, Any] | None, **fields: Any) -> str:
    with pytest.raises(ValueError) as caught:
        policy(detector, provider, **fields)
    return str(caught.value)


def test_the_built_in_providers_are_registered() -> None:
    assert registered() == ["azure_content_safety", "bedrock_guardrail", "llm_judge"]


@pytest.mark.parametrize("provider", [ACS, BEDROCK, JUDGE], ids=lambda p: p["type"])
def test_a_complete_provider_block_is_accepted(provider: dict[str, Any]) -> None:
    built = policy(provider["type"], provider)
    assert built.provider is not None and built.provider.timeout_ms == 1500


def test_a_remote_detector_without_a_provider_block_is_named() -> None:
    assert "detector 'llm_judge' is a remote provider; configure it in `provider`" in refused("llm_judge", None)


def test_the_provider_type_must_be_the_remote_detector_listed() -> None:
    assert "exactly one remote detector, 'azure_content_safety'" in refused("pii", ACS)
    assert "unknown; known: azure_content_safety" in refused("pii", {**ACS, "type": "perspective"})


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ({k: v for k, v in ACS.items() if k != "key"}, "azure_content_safety needs provider.key"),
        ({"type": "azure_content_safety"}, "needs provider.endpoint, provider.key"),
        ({k: v for k, v in BEDROCK.items() if k != "guardrail_id"}, "bedrock_guardrail needs provider.guardrail_id"),
        ({"type": "llm_judge", "model": "m"}, "llm_judge needs provider.upstream"),
        ({**ACS, "model": "x"}, "azure_content_safety does not use provider.model"),
        ({**JUDGE, "region": "us-east-1"}, "llm_judge does not use provider.region"),
        ({**ACS, "endpoint": "contoso"}, "provider.endpoint must be an absolute http(s) URL"),
        ({**ACS, "endpoint": "https://u:p@contoso.example"}, "must not carry credentials"),
        ({**BEDROCK, "region": "mars-1"}, "provider.region 'mars-1' is not an AWS region name"),
        ({**BEDROCK, "guardrail_version": "latest"}, "must be a number or DRAFT"),
        ({**BEDROCK, "guardrail_id": "Has Spaces"}, "is not a guardrail id or ARN"),
        ({**JUDGE, "api_version": "2024 10"}, "is not an api-version"),
    ],
)
def test_provider_fields_are_checked_by_name(provider: dict[str, Any], message: str) -> None:
    assert message in refused(provider["type"], provider)


def test_a_bedrock_guardrail_arn_and_a_numbered_version_are_accepted() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123"
    assert policy("bedrock_guardrail", {**BEDROCK, "guardrail_id": arn, "guardrail_version": "3"}).provider


@pytest.mark.parametrize("provider", [ACS, JUDGE], ids=lambda p: p["type"])
def test_providers_that_cannot_place_a_finding_cannot_redact(provider: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="cannot redact; use action block or flag"):
        GuardrailPolicy(name="r", detectors=[provider["type"]], action="redact", provider=provider)


def test_a_bedrock_guardrail_can_redact_and_mix_with_local_detectors() -> None:
    mixed = GuardrailPolicy(name="r", detectors=["pii", "bedrock_guardrail"], action="redact", provider=BEDROCK)
    assert mixed.detectors == ["pii", "bedrock_guardrail"]


def test_timeout_ms_is_bounded() -> None:
    with pytest.raises(ValueError, match="timeout_ms"):
        policy("azure_content_safety", {**ACS, "timeout_ms": 0})


def test_the_key_is_a_secret_in_every_rendering() -> None:
    built = policy("azure_content_safety", ACS)
    assert "acs-secret" not in repr(built) and "acs-secret" not in built.model_dump_json()
    assert built.provider is not None and built.provider.key is not None
    assert built.provider.key.get_secret_value() == "acs-secret"


def settings_error(**provider: Any) -> str:
    upstreams = {
        "openai": {"vendor": "openai"},
        "held": {"vendor": "openai", "auth": {"type": "static", "key": "sk-held"}},
        "bedrock": {"vendor": "bedrock", "region": "us-east-1", "auth": {"type": "aws"}},
    }
    guardrails = [{"name": "judge", "detectors": ["llm_judge"], "action": "block", "provider": provider}]
    with pytest.raises(ConfigError) as caught:
        load_settings(upstreams=upstreams, guardrails=guardrails)
    return str(caught.value)


def test_the_judge_upstream_is_checked_against_the_configured_ones() -> None:
    message = settings_error(type="llm_judge", upstream="nope", model="m", key="k")
    assert "guardrails.0.provider.upstream: 'nope' is not a configured upstream (bedrock, held, openai)" in message
    message = settings_error(type="llm_judge", upstream="bedrock", model="m", key="k")
    assert "guardrails.0.provider.upstream: the judge is called in the openai, azure or anthropic format" in message
    message = settings_error(type="llm_judge", upstream="openai", model="m")
    assert "guardrails.0.provider.key: upstream 'openai' is passthrough: the judge needs a key" in message


def test_a_judge_on_an_upstream_holding_its_credential_needs_no_key() -> None:
    settings = load_settings(
        upstreams={"held": {"vendor": "openai", "auth": {"type": "static", "key": "sk-held"}}},
        guardrails=[
            {
                "name": "judge",
                "detectors": ["llm_judge"],
                "action": "flag",
                "provider": {"type": "llm_judge", "upstream": "held", "model": "m"},
            }
        ],
    )
    assert settings.guardrails is not None and settings.guardrails[0].provider is not None


def test_a_yaml_provider_block_with_an_env_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACS_KEY", "from-env")
    path = tmp_path / "glassgate.yaml"
    path.write_text(
        "guardrails:\n"
        "  - name: harm\n"
        "    detectors: [azure_content_safety]\n"
        "    action: block\n"
        "    on_error: closed\n"
        "    provider:\n"
        "      type: azure_content_safety\n"
        "      endpoint: https://contoso.cognitiveservices.azure.com\n"
        "      key: ${ACS_KEY}\n"
        "      timeout_ms: 800\n",
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.guardrails is not None
    provider = settings.guardrails[0].provider
    assert provider is not None and provider.key is not None
    assert provider.key.get_secret_value() == "from-env" and provider.timeout_ms == 800
