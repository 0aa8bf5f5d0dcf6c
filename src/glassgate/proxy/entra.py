"""Entra ID bearer tokens for Azure OpenAI, from a service principal or the identity Glassgate runs as.

Every source is an azure-identity async credential behind one cache: the token is fetched on
first use and again five minutes before it expires, by one request at a time however many
calls are waiting. azure-identity is imported only when an upstream uses it (~30 MB, most of
a second); its credentials read the variables Azure sets for a pod or VM themselves
(`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`,
`IDENTITY_ENDPOINT`), as botocore reads the AWS chain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from glassgate.config import AzureIdentityAuth, AzureServicePrincipalAuth
from glassgate.errors import UpstreamUnavailable

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.credentials_async import AsyncTokenCredential

log = logging.getLogger(__name__)
REFRESH_MARGIN_S = 300.0  # refresh five minutes before expiry: no call ever carries a dying token


class EntraToken:
    """A credential provider: `Authorization: Bearer <token>`, cached until near expiry."""

    def __init__(self, credential: AsyncTokenCredential, scope: str) -> None:
        self._credential = credential
        self._scope = scope
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def headers(self) -> list[tuple[str, str]]:
        if self._stale():
            await self._refresh()
        return [("Authorization", f"Bearer {self._token}")]

    def _stale(self) -> bool:
        return self._token is None or time.time() > self._expires_at - REFRESH_MARGIN_S

    async def _refresh(self) -> None:
        async with self._lock:
            if not self._stale():
                return  # another request refreshed it while we waited
            try:
                token = await self._credential.get_token(self._scope)
            except UpstreamUnavailable:
                raise
            except Exception as exc:  # azure-identity raises several unrelated types
                raise UpstreamUnavailable(f"cannot obtain an Entra ID token: {type(exc).__name__}") from exc
            self._token, self._expires_at = token.token, float(token.expires_on)

    async def close(self) -> None:
        await self._credential.close()


def service_principal(auth: AzureServicePrincipalAuth) -> EntraToken:
    """Client credentials (a secret in config) for one app registration."""
    from azure.identity.aio import ClientSecretCredential

    credential = ClientSecretCredential(
        auth.tenant_id,
        auth.client_id,
        auth.client_secret.get_secret_value(),
        authority=auth.authority_host,
        disable_instance_discovery=True,
    )
    return EntraToken(credential, auth.scope)


def ambient_identity(auth: AzureIdentityAuth) -> EntraToken:
    """The identity the process runs as: AKS workload identity or a managed identity; no secret in config."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential, WorkloadIdentityCredential

    authority = {"authority": auth.authority_host} if auth.authority_host else {}
    credential: AsyncTokenCredential
    try:
        if auth.source == "workload_identity":
            credential = WorkloadIdentityCredential(
                tenant_id=auth.tenant_id,
                client_id=auth.client_id,
                token_file_path=str(auth.token_file) if auth.token_file else None,
                disable_instance_discovery=True,
                **authority,
            )
        elif auth.source == "managed_identity":
            credential = ManagedIdentityCredential(client_id=auth.client_id)
        else:
            # The production part of the default chain only: what a pod or VM is given, never
            # whichever developer login happens to be on the machine.
            ids = {"managed_identity_client_id": auth.client_id} if auth.client_id else {}
            if auth.tenant_id:
                ids["workload_identity_tenant_id"] = auth.tenant_id
            credential = DefaultAzureCredential(
                **ids,
                **authority,
                exclude_shared_token_cache_credential=True,
                exclude_visual_studio_code_credential=True,
                exclude_cli_credential=True,
                exclude_developer_cli_credential=True,
                exclude_powershell_credential=True,
            )
    except ValueError as exc:
        # WorkloadIdentityCredential names what it lacks. Calls to this upstream get a 502 that
        # says so; the other upstreams keep working.
        reason = f"azure_identity ({auth.source}) is not configured: {exc}"
        log.warning("%s", reason)
        credential = _Unconfigured(reason)
    return EntraToken(credential, auth.scope)


class _Unconfigured:
    """Stands in for a credential that could not be built; every token request says why."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise UpstreamUnavailable(self._reason)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> _Unconfigured:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None
