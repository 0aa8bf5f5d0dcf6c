"""How the proxy learns who is calling when Glassgate holds the vendor credential.

The proxy only sees this Protocol; the implementation (a cache in front of the database)
is wired in by `create_app`, which keeps the hot path free of storage imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """A verified Glassgate key: which key and which project it belongs to."""

    key_id: str
    project: str


class KeyVerifier(Protocol):
    async def verify(self, presented: str) -> ClientIdentity | None:
        """The identity behind a presented key, or None if it is unknown or revoked."""
        ...


class AwsKeyStore(Protocol):
    async def secret_for(self, access_key_id: str) -> tuple[str, ClientIdentity] | None:
        """The secret and identity of a Glassgate-issued AWS key pair, or None if unknown or revoked."""
        ...
