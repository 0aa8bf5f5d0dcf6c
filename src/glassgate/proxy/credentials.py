"""Credentials Glassgate holds for an upstream and injects in place of the client's key.

A provider returns the headers to add; it caches what it fetches so the hot path pays for
a token only when it is close to expiry.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Protocol

from glassgate.config import AzureServicePrincipalAuth, StaticKeyAuth, UpstreamAuth
from glassgate.errors import UpstreamUnavailable

if TYPE_CHECKING:
    from azure.identity.aio import ClientSecretCredential

_REFRESH_MARGIN_S = 300.0  # refresh Entra tokens five minutes before they expire


class CredentialProvider(Protocol):
    async def headers(self) -> list[tuple[str, str]]:
        """Headers that authenticate Glassgate to the upstream."""
        ...

    async def close(self) -> None: ...


class StaticKey:
    """A vendor key from config, sent in the header the vendor expects."""

    def __init__(self, vendor: str, key: str) -> None:
        if vendor == "azure":
            self._headers = [("api-key", key)]
        elif vendor == "anthropic":
            self._headers = [("x-api-key", key)]
        else:
            self._headers = [("Authorization", f"Bearer {key}")]

    async def headers(self) -> list[tuple[str, str]]:
        return self._headers

    async def close(self) -> None:
        return None


class AzureServicePrincipal:
    """An Entra ID client-credentials token for Azure OpenAI, cached until near expiry."""

    def __init__(self, auth: AzureServicePrincipalAuth) -> None:
        # Imported here: azure-identity costs ~30 MB and most of a second, and only this needs it.
        from azure.identity.aio import ClientSecretCredential

        self._scope = auth.scope
        self._credential: ClientSecretCredential = ClientSecretCredential(
            auth.tenant_id,
            auth.client_id,
            auth.client_secret.get_secret_value(),
            authority=auth.authority_host,
            disable_instance_discovery=True,
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def headers(self) -> list[tuple[str, str]]:
        if self._token is None or time.time() > self._expires_at - _REFRESH_MARGIN_S:
            await self._refresh()
        return [("Authorization", f"Bearer {self._token}")]

    async def _refresh(self) -> None:
        async with self._lock:
            if self._token is not None and time.time() <= self._expires_at - _REFRESH_MARGIN_S:
                return  # another request refreshed it while we waited
            try:
                token = await self._credential.get_token(self._scope)
            except Exception as exc:  # azure-identity raises several unrelated types
                raise UpstreamUnavailable(f"cannot obtain an Entra ID token: {type(exc).__name__}") from exc
            self._token, self._expires_at = token.token, float(token.expires_on)

    async def close(self) -> None:
        await self._credential.close()


def credential_for(vendor: str, auth: UpstreamAuth) -> CredentialProvider | None:
    """The provider for an upstream's `auth`, or None for passthrough."""
    if isinstance(auth, StaticKeyAuth):
        return StaticKey(vendor, auth.key.get_secret_value())
    if isinstance(auth, AzureServicePrincipalAuth):
        return AzureServicePrincipal(auth)
    return None
