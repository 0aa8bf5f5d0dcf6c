"""`auth: {type: aws}` with no keys signs with the role the platform gives the process.

EKS IRSA: botocore's default chain trades the projected service-account token
(AWS_WEB_IDENTITY_TOKEN_FILE) for AWS_ROLE_ARN's temporary credentials at STS. ECS task role
and EKS Pod Identity: the container credentials endpoint. Both are fakes on loopback; what is
checked is the signature Glassgate puts on a Bedrock call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from glassgate.config import AwsAuth
from glassgate.proxy.aws_signer import AwsSigner, SigningTarget
from tests.fakes.vendor_server import ServerThread

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/glassgate-bedrock"
WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eks-projected-token.sig"
POD_IDENTITY_TOKEN = "eks-pod-identity-authorization-token"


def expiration() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeAws:
    """STS AssumeRoleWithWebIdentity and the container credentials endpoint."""

    def __init__(self) -> None:
        self.sts_forms: list[dict[str, str]] = []
        self.container_auth: list[str | None] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self.sts)
        app.router.add_get("/v1/credentials", self.container)
        return app

    async def sts(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.sts_forms.append({key: str(value) for key, value in form.items()})
        body = f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAIRSAFAKE00000001</AccessKeyId>
      <SecretAccessKey>irsa-secret</SecretAccessKey>
      <SessionToken>irsa-session-token</SessionToken>
      <Expiration>{expiration()}</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>{ROLE_ARN}/glassgate</Arn><AssumedRoleId>AROAFAKE:glassgate</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"""
        return web.Response(text=body, content_type="text/xml")

    async def container(self, request: web.Request) -> web.Response:
        self.container_auth.append(request.headers.get("Authorization"))
        return web.json_response(
            {
                "AccessKeyId": "ASIATASKFAKE00000001",
                "SecretAccessKey": "task-secret",
                "Token": "task-session-token",
                "Expiration": expiration(),
            }
        )


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[FakeAws, str]]:
    """A fake AWS, and an environment holding no credentials of its own."""
    fake = FakeAws()
    server = ServerThread(fake.app()).start()
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never look for an instance role
    monkeypatch.setenv("AWS_REGION", REGION)
    yield fake, server.url
    server.stop()


async def signed_headers(signer: AwsSigner) -> dict[str, str]:
    target = SigningTarget("bedrock-runtime.us-east-1.amazonaws.com", "/model/m/converse", "")
    signed = await signer.sign("POST", target, [("content-type", "application/json")], b"{}")
    return {name.lower(): value for name, value in signed}


async def test_irsa_web_identity_role_signs_bedrock_calls(
    fake_aws: tuple[FakeAws, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake, url = fake_aws
    token_file = tmp_path / "eks.amazonaws.com-serviceaccount-token"
    token_file.write_text(WEB_IDENTITY_TOKEN)
    # What the EKS pod identity webhook sets for a service account annotated with a role ARN.
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
    signer = AwsSigner(AwsAuth(), REGION)
    signer.load()
    for _ in range(2):
        headers = await signed_headers(signer)
        assert "Credential=ASIAIRSAFAKE00000001/" in headers["authorization"]
        assert "/us-east-1/bedrock/aws4_request" in headers["authorization"]
        assert headers["x-amz-security-token"] == "irsa-session-token"
    [form] = fake.sts_forms
    assert form["Action"] == "AssumeRoleWithWebIdentity" and form["RoleArn"] == ROLE_ARN
    assert form["WebIdentityToken"] == WEB_IDENTITY_TOKEN, "the temporary credentials are fetched once, then reused"


async def test_ecs_task_role_or_eks_pod_identity_signs_bedrock_calls(
    fake_aws: tuple[FakeAws, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_aws
    # EKS Pod Identity's agent and ECS both serve the container credentials endpoint; Pod
    # Identity adds an authorization token (ECS's task role needs none).
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{url}/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", POD_IDENTITY_TOKEN)
    signer = AwsSigner(AwsAuth(), REGION)
    signer.load()
    headers = await signed_headers(signer)
    assert "Credential=ASIATASKFAKE00000001/" in headers["authorization"]
    assert headers["x-amz-security-token"] == "task-session-token"
    assert fake.container_auth == [POD_IDENTITY_TOKEN]
