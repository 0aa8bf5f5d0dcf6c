"""What evaluation's calls show Glassgate's proxy to be let through, per upstream.

The proxy's upstream auth decides what the vendor sees; this is only what the eval client
must present to Glassgate, exactly as an application's SDK would:

    openai, azure, anthropic   `evals.api_keys[upstream]` or `evals.api_key`, in the vendor's own
                               header: a Glassgate key when the upstream holds its credential,
                               the vendor's key when it is passthrough
    bedrock                    `evals.aws_keys[upstream]` or `evals.aws_key`: a key pair from
                               `glassgate keys create --aws` that signs each call (SigV4, signing
                               name `bedrock`, for Glassgate's own host, as boto3 pointed at the
                               proxy would); the proxy verifies the signature and re-signs with its
                               own AWS credentials (upstream `auth: {type: aws}`). Or
                               `evals.api_keys[upstream]`: a Bedrock API key, sent as
                               `Authorization: Bearer` and passed through to AWS.

`evals.api_key` is never sent to a Bedrock upstream: the proxy hands Bearer tokens to AWS as
they are, and that key is a Glassgate key or another vendor's. A signature made for Glassgate's
host cannot go upstream, so a passthrough Bedrock upstream takes a Bedrock API key only.
Signatures are made right before each try (a retry after a long Retry-After is dated afresh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from yarl import URL

from glassgate.evals.chat_wire import Endpoint
from glassgate.proxy import sigv4

ANTHROPIC_VERSION = "2023-06-01"
SIGNING_NAME = "bedrock"
# Sent but not signed, as botocore leaves them out: tracing headers may be rewritten on the way.
_UNSIGNED = frozenset({"traceparent", "tracestate", "baggage"})


class MissingCredential(ValueError):
    """Evaluation has nothing to present for this upstream that its proxy route would accept."""


@dataclass(frozen=True)
class AwsKeyPair:
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class ProxyCredentials:
    """The keys evaluation holds, by upstream name."""

    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    default_key: str | None = field(default=None, repr=False)
    aws_keys: Mapping[str, AwsKeyPair] = field(default_factory=dict)
    default_aws_key: AwsKeyPair | None = None
    passthrough_bedrock: frozenset[str] = frozenset()  # Bedrock upstreams that relay the client's own auth

    def headers(self, endpoint: Endpoint, url: URL, body: bytes, extra: Mapping[str, str]) -> list[tuple[str, str]]:
        """The headers of one try at `url`: `extra`, the content type and the credential."""
        headers = [("content-type", "application/json"), *extra.items()]
        if endpoint.vendor == "bedrock":
            return self._bedrock(endpoint, url, body, headers)
        key = self.api_keys.get(endpoint.upstream, self.default_key)
        if endpoint.vendor == "anthropic":
            headers.append(("anthropic-version", ANTHROPIC_VERSION))
            if key:
                headers.append(("x-api-key", key))
        elif key:
            headers.append(("api-key", key) if endpoint.vendor == "azure" else ("authorization", f"Bearer {key}"))
        return headers

    def _bedrock(
        self, endpoint: Endpoint, url: URL, body: bytes, headers: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        pair = self.aws_keys.get(endpoint.upstream)
        api_key = self.api_keys.get(endpoint.upstream)
        if pair is None and api_key:
            return [*headers, ("authorization", f"Bearer {api_key}")]
        pair = pair or self.default_aws_key
        if pair is None:
            raise MissingCredential(
                f"evaluation has no credential for bedrock upstream {endpoint.upstream!r}: set "
                f"evals.aws_keys.{endpoint.upstream} (a pair from `glassgate keys create --aws`) or "
                f"evals.api_keys.{endpoint.upstream} (a Bedrock API key)"
            )
        if endpoint.upstream in self.passthrough_bedrock:
            raise MissingCredential(
                f"bedrock upstream {endpoint.upstream!r} is passthrough, and a signature made for Glassgate's host "
                f"cannot go on to AWS: give it `auth: {{type: aws}}`, or give evaluation a Bedrock API key "
                f"(evals.api_keys.{endpoint.upstream})"
            )
        signed = sigv4.sign(
            access_key_id=pair.access_key_id,
            secret=pair.secret_access_key,
            session_token=None,
            method="POST",
            host=host_header(url),
            raw_path=url.raw_path,
            raw_query=url.raw_query_string,
            headers=[(name, value) for name, value in headers if name.lower() not in _UNSIGNED],
            body=body,
            region=endpoint.region,
            service=SIGNING_NAME,
            now=datetime.now(UTC),
        )
        return [*signed, *((name, value) for name, value in headers if name.lower() in _UNSIGNED)]


def host_header(url: URL) -> str:
    """The Host header aiohttp would send for `url` (it is signed, so it is sent as computed here)."""
    host = url.raw_host or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return host if url.explicit_port is None or url.is_default_port() else f"{host}:{url.explicit_port}"
