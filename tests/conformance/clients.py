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
