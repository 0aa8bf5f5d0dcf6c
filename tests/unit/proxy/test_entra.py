"""Entra ID tokens: one fetch per token lifetime, refreshed before expiry, failures named; `azure_identity` config."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from pydantic import ValidationError

from glassgate.config import AzureIdentityAuth, UpstreamConfig
from glassgate.errors import UpstreamUnavailable
from glassgate.proxy.credentials import credential_for
from glassgate.proxy.entra import REFRESH_MARGIN_S, EntraToken

SCOPE = "https://cognitiveservices.azure.com/.default"


class FakeCredential:
    """An azure-identity async credential whose tokens live `lifetime_s`; counts its fetches."""

    def __init__(self, lifetime_s: float = 3600, fail: bool = False) -> None:
        self.lifetime_s = lifetime_s
        self.fail = fail
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        await asyncio.sleep(0)  # let concurrent callers pile up behind the lock
        if self.fail:
            raise ClientAuthenticationError("AADSTS700016: application not found")
        return AccessToken(f"token-{len(self.scopes)}", int(time.time() + self.lifetime_s))

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


async def test_a_token_is_fetched_once_for_concurrent_calls_and_reused() -> None:
    credential = FakeCredential()
    token = EntraToken(credential, SCOPE)
    answers = await asyncio.gather(*(token.headers() for _ in range(20)))
    answers.append(await token.headers())
    assert {tuple(answer) for answer in answers} == {(("Authorization", "Bearer token-1"),)}
    assert credential.scopes == [(SCOPE,)]


async def test_a_token_near_expiry_is_refreshed_before_use() -> None:
    credential = FakeCredential(lifetime_s=REFRESH_MARGIN_S - 10)
    token = EntraToken(credential, SCOPE)
    assert await token.headers() == [("Authorization", "Bearer token-1")]
    assert await token.headers() == [("Authorization", "Bearer token-2")], "inside the margin: fetched again"
    credential.lifetime_s = 3600
    assert await token.headers() == [("Authorization", "Bearer token-3")]
    assert await token.headers() == [("Authorization", "Bearer token-3")]


async def test_a_failed_fetch_is_an_upstream_error_and_the_next_call_tries_again() -> None:
    credential = FakeCredential(fail=True)
    token = EntraToken(credential, SCOPE)
    with pytest.raises(UpstreamUnavailable, match="cannot obtain an Entra ID token: ClientAuthenticationError"):
        await token.headers()
    credential.fail = False
    assert await token.headers() == [("Authorization", "Bearer token-2")]
    await token.close()
    assert credential.closed


async def test_workload_identity_without_its_settings_fails_each_call_with_the_reason() -> None:
    auth = AzureIdentityAuth(source="workload_identity", tenant_id="t", client_id="c")
    provider = credential_for("azure", auth)
    assert provider is not None
    with pytest.raises(UpstreamUnavailable, match=r"azure_identity \(workload_identity\).*token_file_path"):
        await provider.headers()
    await provider.close()


def test_azure_identity_is_an_upstream_auth_type_with_checked_fields() -> None:
    upstream = UpstreamConfig.model_validate(
        {"vendor": "azure", "url": "https://contoso.openai.azure.com", "auth": {"type": "azure_identity"}}
    )
    assert isinstance(upstream.auth, AzureIdentityAuth)
    assert upstream.auth.source == "auto" and upstream.auth.scope == SCOPE
    with pytest.raises(ValidationError, match="for workload identity, not source 'managed_identity'"):
        AzureIdentityAuth(source="managed_identity", token_file="/var/run/token")
    with pytest.raises(ValidationError, match="token_file needs source 'workload_identity'"):
        AzureIdentityAuth(token_file="/var/run/token")
    with pytest.raises(ValidationError):
        AzureIdentityAuth(source="cli")
