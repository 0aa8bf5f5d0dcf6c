"""Who may use an upstream, and with which credential the call leaves Glassgate.

passthrough upstream      the client's vendor key goes through unchanged
static / Entra upstream   a Glassgate key is required; replaced by Glassgate's credential
Bedrock with `aws` auth   a SigV4 signature by a Glassgate-issued key pair is verified over
                          the raw request, then the call is re-signed with Glassgate's own
                          AWS credentials; a Bedrock API key (Bearer) passes through
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from glassgate.errors import UpstreamError
from glassgate.proxy import sigv4
from glassgate.proxy.client_keys import AwsKeyStore, KeyVerifier
from glassgate.proxy.exchange import Exchange
from glassgate.proxy.upstream import Upstream

# The client's own signature headers: they describe a request to Glassgate, not to AWS.
_CLIENT_SIGNATURE_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})
_RESIGNED_HEADERS = _CLIENT_SIGNATURE_HEADERS | {"host"}


@dataclass(frozen=True, slots=True)
class Refusal:
    """The call may not go upstream: answer with this status in the vendor's error shape."""

    status: int
    message: str
    code: str


class ClientAuthenticator:
    def __init__(self, keys: KeyVerifier, aws_keys: AwsKeyStore) -> None:
        self._keys = keys
        self._aws_keys = aws_keys

    async def admit(
        self,
        upstream: Upstream,
        exchange: Exchange,
        headers: list[tuple[str, str]],
        client_key: str | None,
        raw_headers: Iterable[tuple[bytes, bytes]],
        raw_path: bytes,
        rest: bytes,
        query: bytes,
    ) -> list[tuple[str, str]] | Refusal:
        """The headers to send upstream, or why the call is refused.

        `raw_path` is the whole path the client sent (what it signed); `rest` is what follows
        the upstream name (what goes upstream).
        """
        if upstream.signer is not None:
            return await self._admit_sigv4(upstream, exchange, headers, raw_headers, raw_path, rest, query)
        if upstream.credential is None:
            return headers
        identity = await self._keys.verify(client_key) if client_key else None
        if identity is None:
            problem = "missing Glassgate key" if not client_key else "invalid or revoked Glassgate key"
            hint = "create one with `glassgate keys create --project NAME`"
            return Refusal(401, f"{problem} for upstream {upstream.name!r}; {hint}", "invalid_api_key")
        exchange.project, exchange.key_id = identity.project, identity.key_id
        try:
            return [*headers, *await upstream.credential.headers()]
        except UpstreamError as exc:
            return Refusal(502, str(exc), "upstream_auth_failed")

    async def _admit_sigv4(
        self,
        upstream: Upstream,
        exchange: Exchange,
        headers: list[tuple[str, str]],
        raw_headers: Iterable[tuple[bytes, bytes]],
        raw_path: bytes,
        rest: bytes,
        query: bytes,
    ) -> list[tuple[str, str]] | Refusal:
        assert upstream.signer is not None
        received = _header_map(raw_headers)
        authorization = received.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            return headers  # a Bedrock API key: not bound to a host, valid as it is
        if not authorization:
            return Refusal(
                403,
                "missing Authorization: sign with a key pair from `glassgate keys create --aws`",
                "MissingAuthenticationToken",
            )
        try:
            credential = sigv4.parse_authorization(authorization)
            found = await self._aws_keys.secret_for(credential.access_key_id)
            if found is None:
                raise sigv4.SignatureError(
                    f"unknown or revoked access key id {credential.access_key_id}; "
                    "issue one with `glassgate keys create --aws`"
                )
            secret, identity = found
            sigv4.verify(
                credential,
                secret=secret,
                method=exchange.method,
                raw_path=raw_path.decode("latin-1"),
                raw_query=query.decode("latin-1"),
                headers=received,
                body=exchange.request_body,
                now=datetime.now(UTC),
            )
        except sigv4.SignatureError as exc:
            return Refusal(403, str(exc), "AccessDeniedException")
        exchange.project, exchange.key_id = identity.project, identity.key_id
        kept = [(name, value) for name, value in headers if name.lower() not in _CLIENT_SIGNATURE_HEADERS]
        try:
            return await upstream.signer.sign(
                exchange.method, upstream.signing_target(rest, query), kept, exchange.request_body
            )
        except UpstreamError as exc:
            return Refusal(502, str(exc), "upstream_auth_failed")


async def resign(
    upstream: Upstream, method: str, headers: list[tuple[str, str]], body: bytes, rest: bytes, query: bytes
) -> list[tuple[str, str]] | Refusal:
    """Sign again over a body the proxy rewrote (guardrail redaction); others need nothing."""
    if upstream.signer is None or not _has_aws_signature(headers):
        return headers  # no signature, or a Bedrock API key (Bearer) that does not cover the body
    # The signer adds Host and the signature headers again.
    kept = [(name, value) for name, value in headers if name.lower() not in _RESIGNED_HEADERS]
    try:
        return await upstream.signer.sign(method, upstream.signing_target(rest, query), kept, body)
    except UpstreamError as exc:
        return Refusal(502, str(exc), "upstream_auth_failed")


def _has_aws_signature(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "authorization" and value.startswith("AWS4-") for name, value in headers)


def _header_map(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; repeated headers joined with ',' as SigV4 canonicalises them."""
    merged: dict[str, str] = {}
    for raw_name, raw_value in raw_headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    return merged
