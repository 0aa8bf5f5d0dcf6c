"""Glassgate's own AWS credentials for Bedrock, and the re-signing of each forwarded call.

Credentials come from the upstream's `auth: {type: aws}`: explicit keys, or botocore's
default chain (environment, shared profile, ECS task role, EKS IRSA web identity), whose
refreshable credentials renew themselves before they expire.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from glassgate.config import AwsAuth
from glassgate.errors import UpstreamUnavailable
from glassgate.proxy import sigv4

if TYPE_CHECKING:  # botocore costs ~18 MB and 0.2 s to import: only Bedrock with `auth: aws` loads it
    from botocore.credentials import Credentials, ReadOnlyCredentials

SERVICE = "bedrock"  # Bedrock's signing name, for every Bedrock host


@dataclass(frozen=True, slots=True)
class SigningTarget:
    host: str  # the Host header the upstream sees (and that is signed)
    raw_path: str
    raw_query: str


class AwsSigner:
    """Signs requests for one Bedrock upstream (one region)."""

    def __init__(self, auth: AwsAuth, region: str) -> None:
        self._auth = auth
        self.region = region
        self._credentials: Credentials | None = None

    def load(self) -> None:
        """Resolve the credential source (reads env and profile files; call at start, not per request)."""
        from botocore.credentials import Credentials
        from botocore.session import Session

        if self._auth.access_key_id and self._auth.secret_access_key:
            token = self._auth.session_token.get_secret_value() if self._auth.session_token else None
            self._credentials = Credentials(
                self._auth.access_key_id, self._auth.secret_access_key.get_secret_value(), token
            )
        else:
            self._credentials = Session().get_credentials()

    async def _frozen(self) -> ReadOnlyCredentials:
        credentials = self._credentials
        if credentials is None:
            raise UpstreamUnavailable("no AWS credentials for Bedrock: configure auth keys or an AWS role")
        refresh_needed = getattr(credentials, "refresh_needed", None)  # only RefreshableCredentials have it
        if refresh_needed is not None and refresh_needed():
            # A refresh is a blocking HTTP call (STS, ECS or IMDS): keep it off the event loop.
            return await asyncio.to_thread(credentials.get_frozen_credentials)
        return credentials.get_frozen_credentials()

    async def sign(
        self, method: str, target: SigningTarget, headers: list[tuple[str, str]], body: bytes
    ) -> list[tuple[str, str]]:
        frozen = await self._frozen()
        return sigv4.sign(
            access_key_id=frozen.access_key,
            secret=frozen.secret_key,
            session_token=frozen.token,
            method=method,
            host=target.host,
            raw_path=target.raw_path,
            raw_query=target.raw_query,
            headers=headers,
            body=body,
            region=self.region,
            service=SERVICE,
            now=datetime.now(UTC),
        )
