"""GET /api/v1/upstreams: names, vendors, URLs and auth types, and never a credential."""

from __future__ import annotations

from pydantic import SecretStr

from glassgate.config import (
    AwsAuth,
    AzureServicePrincipalAuth,
    PassthroughAuth,
    StaticKeyAuth,
    UpstreamConfig,
)
from tests.integration.api.accounts import running_api

SECRETS = ("sk-static-0123456789", "azure-client-secret-42", "aws-secret-access-key-7", "aws-session-token-9")
UPSTREAMS = {
    "openai": UpstreamConfig(vendor="openai", auth=PassthroughAuth()),
    "held": UpstreamConfig(vendor="openai", auth=StaticKeyAuth(key=SecretStr(SECRETS[0]))),
    "azure": UpstreamConfig(
        vendor="azure",
        url="https://contoso.openai.azure.com",
        auth=AzureServicePrincipalAuth(tenant_id="t-1", client_id="c-1", client_secret=SecretStr(SECRETS[1])),
    ),
    "bedrock": UpstreamConfig(
        vendor="bedrock",
        region="eu-west-1",
        auth=AwsAuth(
            access_key_id="AKIAEXAMPLE",
            secret_access_key=SecretStr(SECRETS[2]),
            session_token=SecretStr(SECRETS[3]),
        ),
    ),
}


async def test_upstreams_are_listed_without_any_secret(database_url: str) -> None:
    async with running_api(database_url, upstreams=UPSTREAMS) as api, api.client(bearer=True) as http:
        response = await http.get("/api/v1/upstreams")
    assert response.status_code == 200
    for secret in SECRETS:
        assert secret not in response.text
    assert "AKIAEXAMPLE" not in response.text and "c-1" not in response.text
    listed = {upstream["name"]: upstream for upstream in response.json()["data"]}
    assert list(listed) == ["azure", "bedrock", "held", "openai"]
    assert listed["bedrock"] == {
        "name": "bedrock",
        "path": "/bedrock",
        "vendor": "bedrock",
        "url": "https://bedrock-runtime.eu-west-1.amazonaws.com",
        "region": "eu-west-1",
        "auth_type": "aws",
    }
    assert listed["azure"]["auth_type"] == "azure_service_principal"
    assert listed["held"]["auth_type"] == "static" and listed["openai"]["auth_type"] == "passthrough"


async def test_upstreams_need_a_caller(database_url: str) -> None:
    async with running_api(database_url, upstreams=UPSTREAMS) as api, api.client() as http:
        assert (await http.get("/api/v1/upstreams")).status_code == 401
