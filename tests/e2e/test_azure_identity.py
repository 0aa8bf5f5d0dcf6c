"""`auth: {type: azure_identity}` in a real `glassgate serve`: no secret in config, the token from the pod or VM.

Workload identity (AKS): azure-identity reads the projected service-account token from a file
and trades it at Entra (a fake over HTTPS) for an access token. Managed identity: the App
Service style endpoint Azure announces in IDENTITY_ENDPOINT / IDENTITY_HEADER (a fake on
loopback). Clients send Glassgate keys; the vendor sees only Glassgate's bearer token.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import trustme
from aiohttp import web

from tests.fakes.vendor_server import FakeEntra, FakeVendor, ServerThread
from tests.harness import GlassgateProcess, create_database, openai_config, start_glassgate

API = "openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "Hi"}]}
SERVICE_ACCOUNT_TOKEN = "eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig"
IDENTITY_HEADER = "identity-header-secret"


class FakeManagedIdentity:
    """The managed identity endpoint Azure App Service and Container Apps expose to a process."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], str | None]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/msi/token", self.token)
        return app

    async def token(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.query), request.headers.get("X-IDENTITY-HEADER")))
        return web.json_response(
            {
                "access_token": f"mi-token-{len(self.requests)}",
                "expires_on": str(int(time.time()) + 3600),
                "resource": request.query.get("resource", ""),
                "token_type": "Bearer",
            }
        )


@dataclass
class Stack:
    glassgate: GlassgateProcess
    vendor: FakeVendor
    entra: FakeEntra
    identity: FakeManagedIdentity
    key: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("azure-identity")
    authority = trustme.CA()
    ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(ssl_context)
    ca_path = workdir / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_path))
    vendor, entra, identity = FakeVendor(), FakeEntra(), FakeManagedIdentity()
    servers = [ServerThread(vendor.app()).start(), ServerThread(entra.app(), ssl_context).start()]
    servers.append(ServerThread(identity.app()).start())
    entra.base = servers[1].url
    token_file = workdir / "azure-identity-token"
    token_file.write_text(SERVICE_ACCOUNT_TOKEN)
    azure = {"vendor": "azure", "url": servers[0].url}
    config = openai_config(
        workdir,
        create_database(postgres_url, "azure_identity", template=template_database),
        servers[0].url,
        upstreams={
            "azure-wi": {
                **azure,
                "auth": {
                    "type": "azure_identity",
                    "source": "workload_identity",
                    "tenant_id": "tenant-1",
                    "client_id": "wi-client",
                    "token_file": str(token_file),
                    "authority_host": entra.base,
                },
            },
            "azure-mi": {**azure, "auth": {"type": "azure_identity", "source": "managed_identity", "client_id": "mi"}},
            "azure-unset": {**azure, "auth": {"type": "azure_identity", "source": "workload_identity"}},
        },
    )
    env = {
        "SSL_CERT_FILE": str(ca_path),
        "IDENTITY_ENDPOINT": f"{servers[2].url}/msi/token",
        "IDENTITY_HEADER": IDENTITY_HEADER,
    }
    env_without_azure = {name: value for name, value in os.environ.items() if not name.startswith("AZURE_")}
    glassgate = start_glassgate(config, workdir, {**env_without_azure, **env})
    issued = subprocess.run(
        [sys.executable, "-m", "glassgate", "keys", "create", "--project", "p", "--json"],
        capture_output=True,
        check=True,
        env={**env_without_azure, **env},
        cwd=workdir,
    )
    yield Stack(glassgate, vendor, entra, identity, json.loads(issued.stdout)["key"])
    glassgate.stop()
    for server in servers:
        server.stop()


def call(stack: Stack, upstream: str) -> httpx.Response:
    return httpx.post(f"{stack.glassgate.url}/{upstream}/{API}", json=BODY, headers={"api-key": stack.key}, timeout=20)


def test_workload_identity_trades_the_projected_token_once_for_an_entra_token(stack: Stack) -> None:
    for _ in range(3):
        response = call(stack, "azure-wi")
        assert response.status_code == 200, response.text
        received = stack.vendor.last()
        assert received.header("authorization") == "Bearer entra-token-1"
        assert received.header("api-key") is None, "the Glassgate key never reaches the vendor"
    [form] = stack.entra.token_requests
    assert form["client_assertion"] == SERVICE_ACCOUNT_TOKEN
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert form["client_id"] == "wi-client" and form["scope"] == "https://cognitiveservices.azure.com/.default"


def test_managed_identity_asks_the_endpoint_azure_gives_the_process(stack: Stack) -> None:
    for _ in range(2):
        response = call(stack, "azure-mi")
        assert response.status_code == 200, response.text
        assert stack.vendor.last().header("authorization") == "Bearer mi-token-1"
    [(query, header)] = stack.identity.requests
    assert header == IDENTITY_HEADER
    assert query["resource"] == "https://cognitiveservices.azure.com" and query["client_id"] == "mi"


def test_an_identity_the_environment_does_not_provide_fails_its_calls_with_the_reason(stack: Stack) -> None:
    before = len(stack.vendor.received)
    response = call(stack, "azure-unset")
    assert response.status_code == 502
    assert "azure_identity (workload_identity) is not configured" in response.text
    assert len(stack.vendor.received) == before, "nothing goes upstream without a credential"
    assert call(stack, "azure-mi").status_code == 200, "the other upstreams keep working"
