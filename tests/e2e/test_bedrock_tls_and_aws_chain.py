"""Bedrock API keys over HTTPS (botocore sends Bearer keys only over TLS), and Glassgate's own
AWS credentials taken from the default chain (here: its environment) rather than the config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import trustme

from tests.fakes.bedrock_server import FakeBedrock
from tests.fakes.vendor_server import ServerThread
from tests.harness import ADMIN_TOKEN, start_glassgate

REGION = "eu-west-1"
CHAIN_KEY = ("AKIACHAINFAKE0000001", "secret-from-the-aws-chain")


def test_bearer_over_tls_and_sigv4_resigned_with_chain_credentials(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bedrock = FakeBedrock(*CHAIN_KEY, region=REGION)
    upstream = ServerThread(bedrock.app()).start()
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    cert_path, key_path, ca_path = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert_path))
    certificate.private_key_pem.write_to_path(str(key_path))
    authority.cert_pem.write_to_path(str(ca_path))
    config = {
        "data_dir": str(tmp_path / "data"),
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "tls_cert": str(cert_path),
        "tls_key": str(key_path),
        "upstreams": {"bedrock": {"vendor": "bedrock", "region": REGION, "url": upstream.url, "auth": {"type": "aws"}}},
    }
    chain = {
        "AWS_ACCESS_KEY_ID": CHAIN_KEY[0],
        "AWS_SECRET_ACCESS_KEY": CHAIN_KEY[1],
        "AWS_CONFIG_FILE": "/nonexistent",
    }
    glassgate = start_glassgate(config, tmp_path / "gg", env=chain, tls_ca=ca_path)
    try:
        for name in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"{glassgate.url}/bedrock")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("AWS_CA_BUNDLE", str(ca_path))
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-xyz")
        client = boto3.session.Session().client("bedrock-runtime")
        answer = client.converse(
            modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=[{"role": "user", "content": [{"text": "Hi"}]}]
        )
        client.close()
        assert answer["stopReason"] == "end_turn"
        assert bedrock.last().header("authorization") == "Bearer bedrock-api-key-xyz", "API keys pass through unchanged"

        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK")
        pair = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "glassgate",
                    "keys",
                    "create",
                    "--project",
                    "tls",
                    "--aws",
                    "--json",
                    "--config",
                    str(tmp_path / "gg" / "glassgate.yaml"),
                ],
                capture_output=True,
                check=True,
                env={**os.environ, **chain},
            ).stdout
        )
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", pair["access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", pair["secret_access_key"])
        client = boto3.session.Session().client("bedrock-runtime")
        answer = client.converse(
            modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=[{"role": "user", "content": [{"text": "Hi"}]}]
        )
        client.close()
        assert answer["usage"]["outputTokens"] == 6
        authorization = bedrock.last().header("authorization") or ""
        assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={CHAIN_KEY[0]}/"), (
            "re-signed with the chain's key"
        )
        assert f"/{REGION}/bedrock/aws4_request" in authorization
    finally:
        glassgate.stop()
        upstream.stop()
