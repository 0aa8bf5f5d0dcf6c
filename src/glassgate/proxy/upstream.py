"""The configured upstreams: where each name goes, with which client and which credential.

This is the allow-list. A request's URL is always this upstream's origin plus its base path
plus the (checked) rest of the client's path, so no request can choose the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from yarl import URL

from glassgate.config import AwsAuth, ProxySettings, UpstreamConfig
from glassgate.proxy.aws_signer import AwsSigner, SigningTarget
from glassgate.proxy.credentials import CredentialProvider, credential_for
from glassgate.proxy.vendors import VendorAdapter, get_adapter


@dataclass(slots=True)
class Upstream:
    """One named upstream, ready to take requests once `open()` has run."""

    name: str
    vendor: str
    adapter: VendorAdapter
    origin: str  # scheme://host[:port], from config only
    host_header: str  # the Host the upstream sees: what aiohttp sends, and what SigV4 signs
    base_path: str  # percent-encoded, no trailing slash
    credential: CredentialProvider | None
    signer: AwsSigner | None = None  # Bedrock with Glassgate's AWS credentials
    session: aiohttp.ClientSession | None = None

    @property
    def holds_credential(self) -> bool:
        """True when clients must present a Glassgate key instead of a vendor key."""
        return self.credential is not None

    def signing_target(self, rest: bytes, query: bytes) -> SigningTarget:
        return SigningTarget(self.host_header, self.base_path + rest.decode("ascii"), query.decode("ascii"))

    def url_for(self, rest: bytes, query: bytes) -> URL:
        # `rest` was checked by routes.check_rest: ASCII, starts with "/", no dot segments.
        target = self.origin + self.base_path + rest.decode("ascii")
        if query:
            target += "?" + query.decode("ascii")
        return URL(target, encoded=True)


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
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self._settings.connect_timeout_s, sock_read=self._settings.read_timeout_s
        )
        for upstream in self.by_name.values():
            if upstream.signer is not None:
                upstream.signer.load()
            upstream.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._settings.max_connections_per_upstream, ttl_dns_cache=300),
                timeout=timeout,
                auto_decompress=False,  # relay the vendor's bytes as they are
                cookie_jar=aiohttp.DummyCookieJar(),  # never share one client's cookies with another
                trust_env=False,  # never pick up proxies or .netrc credentials from the environment
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )

    async def close(self) -> None:
        for upstream in self.by_name.values():
            if upstream.session is not None:
                await upstream.session.close()
            if upstream.credential is not None:
                await upstream.credential.close()
