"""Remote guardrail providers: detectors that ask a service over the network (optional, off by default).

| name                 | asks                                          | finds                                    |
|----------------------|-----------------------------------------------|------------------------------------------|
| azure_content_safety | Azure AI Content Safety `text:analyze`        | HATE, SELF_HARM, SEXUAL, VIOLENCE        |
| bedrock_guardrail    | a Bedrock guardrail (`ApplyGuardrail`, SigV4) | its topics, filters, words, PII (placed) |
| llm_judge            | a chat model behind a configured upstream     | what the judge names                     |

Each in the module of its name; `base.py` holds the contract and the registry, `transport.py`
the one HTTP call they all make.

They live outside `glassgate.guardrails`, which stays pure; `glassgate.proxy.remote_guard`
runs them (on the request path for block and redact, after the call for flag) with each
policy's `timeout_ms` and `on_error`. A policy names one of them in `detectors` and
configures it in `provider`; each type checks the fields it needs at start.
"""

from __future__ import annotations

from glassgate.guard_providers import azure_content_safety, bedrock_guardrail, llm_judge
from glassgate.guard_providers.base import (
    Assessment,
    Phase,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    RemoteCheck,
    RemoteFinding,
    check_policy,
    create,
    register,
    registered,
    spec_of,
)

register(azure_content_safety.SPEC)
register(bedrock_guardrail.SPEC)
register(llm_judge.SPEC)

__all__ = [
    "Assessment",
    "Phase",
    "ProviderContext",
    "ProviderError",
    "ProviderSpec",
    "RemoteCheck",
    "RemoteFinding",
    "check_policy",
    "create",
    "register",
    "registered",
    "spec_of",
]
