"""evals.proxy_auth: what evaluation's calls present to the proxy, Bedrock's SigV4 checked two ways."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from yarl import URL

from glassgate.config import Settings
from glassgate.evals.chat_wire import Endpoint
from glassgate.evals.judge_client import ProxyClient
from glassgate.evals.proxy_auth import AwsKeyPair, MissingCredential, ProxyCredentials, host_header
from glassgate.proxy import sigv4

PAIR = AwsKeyPair("GGAKIAEVALFAKE000001", "secret-issued-by-glassgate")
BEDROCK = Endpoint(
    "bedrock", "bedrock", "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/x", region="eu-west-1"
)
URL_ = URL(
    "http://127.0.0.1:4000/bedrock/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A1%3Ainference-profile%2Fx/converse",
    encoded=True,
)
BODY = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
EXTRA = {"x-glassgate-tags": "glassgate-experiment", "x-glassgate-metadata-run": "run_1", "traceparent": "00-ab-cd-01"}


def received(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def test_a_key_pair_signs_for_glassgates_host_as_the_proxy_and_botocore_verify() -> None:
    headers = received(ProxyCredentials(aws_keys={"bedrock": PAIR}).headers(BEDROCK, URL_, BODY, EXTRA))
    assert headers["host"] == "127.0.0.1:4000"
    credential = sigv4.parse_authorization(headers["authorization"])
    assert (credential.access_key_id, credential.region, credential.service) == (
        PAIR.access_key_id,
        "eu-west-1",
        "bedrock",
    )
    assert {"host", "x-amz-date", "content-type", "x-glassgate-tags"} <= set(credential.signed_headers)
    assert headers["traceparent"] == EXTRA["traceparent"] and "traceparent" not in credential.signed_headers

    # As the proxy verifies it: over the raw path it received, %3A and %2F as sent.
    def verify(body: bytes) -> None:
        now = datetime.now(UTC)
        sigv4.verify(
            credential,
            secret=PAIR.secret_access_key,
            method="POST",
            raw_path=URL_.raw_path,
            raw_query="",
            headers=headers,
            body=body,
            now=now,
        )

    verify(BODY)
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        verify(BODY + b" ")
    # And as botocore, the reference, computes it.
    signed = {name: headers[name] for name in credential.signed_headers}
    request = AWSRequest(method="POST", url=f"http://{headers['host']}{URL_.raw_path}", data=BODY, headers=signed)
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(PAIR.access_key_id, PAIR.secret_access_key), "bedrock", "eu-west-1")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert hmac.compare_digest(expected, credential.signature)


def test_a_bedrock_api_key_goes_as_a_bearer_token() -> None:
    credentials = ProxyCredentials(api_keys={"bedrock": "ABSK-bedrock-api-key"}, default_aws_key=PAIR)
    headers = received(credentials.headers(BEDROCK, URL_, BODY, {}))
    assert headers["authorization"] == "Bearer ABSK-bedrock-api-key"
    assert "x-amz-date" not in headers
    # A pair named for the upstream wins over its API key; the default pair signs for any other.
    both = ProxyCredentials(api_keys={"bedrock": "ABSK-x"}, aws_keys={"bedrock": PAIR})
    assert received(both.headers(BEDROCK, URL_, BODY, {}))["authorization"].startswith("AWS4-HMAC-SHA256 ")
    other = Endpoint("bedrock-eu", "bedrock", "m")
    assert received(credentials.headers(other, URL_, BODY, {}))["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_the_default_api_key_never_goes_to_bedrock() -> None:
    credentials = ProxyCredentials(default_key="gg-a-glassgate-key")
    with pytest.raises(MissingCredential, match=r"evals\.aws_keys\.bedrock"):
        credentials.headers(BEDROCK, URL_, BODY, {})
    openai = Endpoint("openai", "openai", "gpt-4o-mini")
    assert received(credentials.headers(openai, URL_, BODY, {}))["authorization"] == "Bearer gg-a-glassgate-key"


def test_a_passthrough_bedrock_upstream_takes_an_api_key_not_a_signature() -> None:
    credentials = ProxyCredentials(default_aws_key=PAIR, passthrough_bedrock=frozenset({"bedrock"}))
    with pytest.raises(MissingCredential, match="passthrough"):
        credentials.headers(BEDROCK, URL_, BODY, {})
    with_key = ProxyCredentials(api_keys={"bedrock": "ABSK-k"}, passthrough_bedrock=frozenset({"bedrock"}))
    assert received(with_key.headers(BEDROCK, URL_, BODY, {}))["authorization"] == "Bearer ABSK-k"


def test_other_vendors_get_their_own_key_headers() -> None:
    credentials = ProxyCredentials(api_keys={"azure": "az-key", "claude": "sk-ant"}, default_key="sk-default")
    extra = {"x-glassgate-tags": "glassgate-eval"}
    assert received(credentials.headers(Endpoint("openai", "openai", "m"), URL_, BODY, extra)) == {
        "content-type": "application/json",
        "x-glassgate-tags": "glassgate-eval",
        "authorization": "Bearer sk-default",
    }
    assert received(credentials.headers(Endpoint("azure", "azure", "d"), URL_, BODY, {}))["api-key"] == "az-key"
    anthropic = received(credentials.headers(Endpoint("claude", "anthropic", "m"), URL_, BODY, {}))
    assert (anthropic["x-api-key"], anthropic["anthropic-version"]) == ("sk-ant", "2023-06-01")
    assert "authorization" not in received(ProxyCredentials().headers(Endpoint("o", "openai", "m"), URL_, BODY, {}))


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:4000/x", "127.0.0.1:4000"),
        ("http://[::1]:4000/x", "[::1]:4000"),
        ("https://glassgate.internal/x", "glassgate.internal"),
        ("http://glassgate.internal:80/x", "glassgate.internal"),
        ("https://glassgate.internal:8443/x", "glassgate.internal:8443"),
    ],
)
def test_the_signed_host_is_the_one_sent(url: str, host: str) -> None:
    assert host_header(URL(url)) == host


def test_the_worker_takes_its_credentials_from_the_settings() -> None:
    upstreams = {
        "bedrock": {"vendor": "bedrock", "region": "us-east-1"},  # passthrough
        "bedrock-held": {"vendor": "bedrock", "region": "eu-west-1", "auth": {"type": "aws"}},
        "openai": {"vendor": "openai"},
    }
    pair = {"access_key_id": PAIR.access_key_id, "secret_access_key": PAIR.secret_access_key}
    evals = {"api_key": "sk-default", "api_keys": {"bedrock": "ABSK-k"}, "aws_keys": {"bedrock-held": pair}}
    client = ProxyClient.from_settings(Settings(upstreams=upstreams, evals=evals))
    assert client.credentials == ProxyCredentials(
        api_keys={"bedrock": "ABSK-k"},
        default_key="sk-default",
        aws_keys={"bedrock-held": PAIR},
        passthrough_bedrock=frozenset({"bedrock"}),
    )
    shown = repr(client)  # secrets stay out of logs
    assert PAIR.access_key_id in shown
    assert not [secret for secret in (PAIR.secret_access_key, "ABSK-k", "sk-default") if secret in shown]
