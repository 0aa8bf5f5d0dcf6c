"""Official SDK clients configured the way users do it: environment variables only."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.conformance.conftest import CLIENT_VENDOR_KEY, Stack

API_VERSION = "2024-10-21"
OPENAI_SDK_MAJOR = int(openai.__version__.split(".")[0])


def sdk_client(
    vendor: str, stack: Stack, monkeypatch: pytest.MonkeyPatch, key: str = CLIENT_VENDOR_KEY
) -> openai.OpenAI:
    """`OpenAI()` or `AzureOpenAI()` with no arguments, pointed at Glassgate by env vars."""
    for name in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)
    if vendor.startswith("openai"):
        monkeypatch.setenv("OPENAI_BASE_URL", f"{stack.glassgate.url}/{vendor}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", key)
        return openai.OpenAI()
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{stack.glassgate.url}/{vendor}")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_API_VERSION", API_VERSION)
    return openai.AzureOpenAI()


def chat_model(vendor: str) -> str:
    """The model (OpenAI) or deployment (Azure) name the tests ask for."""
    return "gpt-4o-mini" if vendor.startswith("openai") else "my-gpt4o"


def anthropic_client(stack: Stack, monkeypatch: pytest.MonkeyPatch, upstream: str) -> anthropic.Anthropic:
    """`Anthropic()` with no arguments, pointed at Glassgate's `upstream` by environment variables."""
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"{stack.glassgate.url}/{upstream}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLIENT_VENDOR_KEY)
    return anthropic.Anthropic()


def point_boto3_at(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, region: str, access_key_id: str, secret_access_key: str
) -> None:
    """boto3's bedrock-runtime client, as a user points it at Glassgate: environment variables only
    (and nothing from this machine's own AWS profile or files)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_access_key)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
