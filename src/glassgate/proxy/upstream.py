"""The configured upstreams: where each name goes, with which client and which credential.

This is the allow-list. A request's URL is always this upstream's origin plus its base path
plus the (checked) rest of the client's path, so no request can choose the host.
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from glassgate.config import AwsAuth, ProxySettings, UpstreamConfig
from glassgate.proxy.aws_signer import AwsSigner, SigningTarget
from glassgate.proxy.credentials import CredentialProvider, credential_for
from glassgate.proxy.http1 import ConnectionPool
from glassgate.proxy.vendors import VendorAdapter, get_adapter


@dataclass(slots=True)
class Upstream:
    """One named upstream, ready to take requests once `open()` has run."""

    name: str
    vendor: str
    adapter: VendorAdapter
    origin: str  # scheme://host[:port], from config only
    host_header: str  # the Host the upstream sees: what the client sends, and what SigV4 signs
    base_path: str  # percent-encoded, no trailing slash
    credential: CredentialProvider | None
    signer: AwsSigner | None = None  # Bedrock with Glassgate's AWS credentials
    pool: ConnectionPool | None = None
    inject_stream_usage: bool = False  # openai/azure: ask streams for usage, strip it on the way back

    @property
    def holds_credential(self) -> bool:
        """True when clients must present a Glassgate key instead of a vendor key."""
        return self.credential is not None

    def signing_target(self, rest: bytes, query: bytes) -> SigningTarget:
        return SigningTarget(self.host_header, self.base_path + rest.decode("ascii"), query.decode("ascii"))

    def target_for(self, rest: bytes, query: bytes) -> str:
        """The request-target sent upstream, percent-encoding untouched.

        `rest` was checked by routes.check_rest (ASCII, no dot segments, starts with "/"),
        and the host comes only from config, so no request can choose where it goes.
        """
        target = self.base_path + rest.decode("ascii") or "/"
        return f"{target}?{query.decode('ascii')}" if query else target


def build_upstream(name: str, config: UpstreamConfig) -> Upstream:
    base = URL(config.url)
    origin = str(base.origin())
    default_port = {"http": 80, "https": 443}.get(base.scheme)
    return Upstream(
        name=name,
        vendor=config.vendor,
        adapter=get_adapter(config.vendor),
        origin=origin,
        host_header=f"{base.host}:{base.port}" if base.port != default_port else str(base.host),
        base_path=base.raw_path.rstrip("/"),
        credential=credential_for(config.vendor, config.auth),
        signer=AwsSigner(config.auth, config.region or "") if isinstance(config.auth, AwsAuth) else None,
        inject_stream_usage=config.inject_stream_usage,
    )


class UpstreamPool:
    """All upstreams by name, with one pooled HTTP client each."""

    def __init__(self, upstreams: dict[str, UpstreamConfig], settings: ProxySettings) -> None:
        self._settings = settings
        self.by_name = {name: build_upstream(name, config) for name, config in upstreams.items()}

    def get(self, name: str) -> Upstream | None:
        return self.by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self.by_name)

    async def open(self) -> None:
        for upstream in self.by_name.values():
            if upstream.signer is not None:
                upstream.signer.load()
            origin = URL(upstream.origin)
            upstream.pool = ConnectionPool(
                origin.scheme,
                str(origin.host),
                int(origin.port or 443),
                connect_timeout=self._settings.connect_timeout_s,
                read_timeout=self._settings.read_timeout_s,
                max_connections=self._settings.max_connections_per_upstream,
            )

    async def close(self) -> None:
        for upstream in self.by_name.values():
            if upstream.pool is not None:
                await upstream.pool.close()
            if upstream.credential is not None:
                await upstream.credential.close()
