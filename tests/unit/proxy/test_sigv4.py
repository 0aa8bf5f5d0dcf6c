"""Our SigV4 against botocore's, the reference: same signatures, same verdicts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from glassgate.proxy import sigv4

NOW = datetime(2026, 11, 27, 2, 22, 58, tzinfo=UTC)
STAMP = "20261127T022258Z"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PATHS = [
    "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
    "/model/us.anthropic.claude-3-5-sonnet-20241022-v2:0/invoke-with-response-stream",
    "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse",
    "/model/a~b_c-d.e/invoke",
    "/async-invoke",
    "",
]


def botocore_signed(
    path: str, query: str, headers: dict[str, str], body: bytes, *, token: str | None = None
) -> AWSRequest:
    url = f"http://127.0.0.1:4000{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    # botocore reads the clock itself; pin it so both implementations sign at NOW.
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
        SigV4Auth(Credentials("AKIDEXAMPLE", SECRET, token), "bedrock", "us-east-1").add_auth(request)
    assert request.headers["X-Amz-Date"] == STAMP
    return request


def lowered(request: AWSRequest) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("query", ["", "b=2&a=1&a=0", "x=%2F&flag"])
def test_verify_accepts_what_botocore_signs(path: str, query: str) -> None:
    body = b'{"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}'
    request = botocore_signed(
        path, query, {"Content-Type": "application/json", "Accept": "application/json", "X-Custom": "  a   b "}, body
    )
    headers = {**lowered(request), "host": "127.0.0.1:4000"}
    credential = sigv4.parse_authorization(headers["authorization"])
    sigv4.verify(
        credential, secret=SECRET, method="POST", raw_path=path, raw_query=query, headers=headers, body=body, now=NOW
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": b"{}"}, "does not match"),
        ({"secret": "wrong"}, "does not match"),
        ({"path": "/model/other/converse"}, "does not match"),
        ({"now": NOW + timedelta(minutes=6)}, "expired"),
        ({"now": NOW - timedelta(minutes=6)}, "expired"),
        ({"drop": "x-amz-date"}, "X-Amz-Date is missing"),
        ({"drop": "content-type"}, "missing from the request: content-type"),
    ],
)
def test_verify_rejects_any_change(change: dict[str, object], message: str) -> None:
    body = b'{"a": 1}'
    path = PATHS[0]
    request = botocore_signed(path, "", {"Content-Type": "application/json"}, body)
    headers = {**lowered(request), "host": "127.0.0.1:4000"}
    headers.pop(str(change.get("drop", "")), None)
    credential = sigv4.parse_authorization(lowered(request)["authorization"])
    with pytest.raises(sigv4.SignatureError, match=message):
        sigv4.verify(
            credential,
            secret=str(change.get("secret", SECRET)),
            method="POST",
            raw_path=str(change.get("path", path)),
            raw_query="",
            headers=headers,
            body=change.get("body", body),  # type: ignore[arg-type]
            now=change.get("now", NOW),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    "bad", ["Bearer abc", "AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/bedrock/aws4_request", ""]
)
def test_malformed_authorization_is_named(bad: str) -> None:
    with pytest.raises(sigv4.SignatureError, match="not a well-formed"):
        sigv4.parse_authorization(bad)


@pytest.mark.parametrize("path", PATHS[:4])
@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzEXAMPLETOKEN"])
def test_sign_matches_botocore(path: str, token: str | None) -> None:
    body = b'{"inputText": "Hi"}'
    ours = sigv4.sign(
        access_key_id="AKIDEXAMPLE",
        secret=SECRET,
        session_token=token,
        method="POST",
        host="127.0.0.1:4000",
        raw_path=path,
        raw_query="",
        headers=[("Content-Type", "application/json"), ("Accept", "application/json"), ("User-Agent", "Boto3/1.44")],
        body=body,
        region="us-east-1",
        service="bedrock",
        now=NOW,
    )
    reference = botocore_signed(
        path,
        "",
        {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "Boto3/1.44"},
        body,
        token=token,
    )
    assert dict(ours)["Authorization"] == reference.headers["Authorization"]
    assert dict(ours)["X-Amz-Date"] == STAMP
    assert dict(ours).get("X-Amz-Security-Token") == token


def test_signed_body_hash_is_over_the_exact_bytes() -> None:
    body = b'{"b":1, "a":2}'
    signed = dict(
        sigv4.sign(
            access_key_id="AKID",
            secret=SECRET,
            session_token=None,
            method="POST",
            host="h",
            raw_path="/x",
            raw_query="",
            headers=[],
            body=body,
            region="eu-west-1",
            service="bedrock",
            now=NOW,
        )
    )
    headers = {name.lower(): value for name, value in signed.items()}
    credential = sigv4.parse_authorization(headers["authorization"])
    sigv4.verify(
        credential, secret=SECRET, method="POST", raw_path="/x", raw_query="", headers=headers, body=body, now=NOW
    )
    with pytest.raises(sigv4.SignatureError):
        sigv4.verify(
            credential,
            secret=SECRET,
            method="POST",
            raw_path="/x",
            raw_query="",
            headers=headers,
            body=b'{"a":2, "b":1}',
            now=NOW,
        )
    assert hashlib.sha256(body).hexdigest()
