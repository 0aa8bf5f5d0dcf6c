"""Credentials Glassgate holds for an upstream and injects in place of the client's key.

A provider returns the headers to add; it caches what it fetches so the hot path pays for
a token only when it is close to expiry (Entra ID tokens: `entra`).
"""

from __future__ import annotations

from typing import Protocol

from glassgate.config import AzureIdentityAuth, AzureServicePrincipalAuth, StaticKeyAuth, UpstreamAuth
from glassgate.proxy import entra


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


def credential_for(vendor: str, auth: UpstreamAuth) -> CredentialProvider | None:
    """The provider for an upstream's `auth`, or None for passthrough."""
    if isinstance(auth, StaticKeyAuth):
        return StaticKey(vendor, auth.key.get_secret_value())
    if isinstance(auth, AzureServicePrincipalAuth):
        return entra.service_principal(auth)
    if isinstance(auth, AzureIdentityAuth):
        return entra.ambient_identity(auth)
    return None
