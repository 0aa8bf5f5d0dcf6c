"""CPU per Bedrock request spent on SigV4: verify the client's signature, then re-sign.

Compares Glassgate's signer (glassgate.proxy.sigv4) with botocore's on the same boto3-shaped
Converse request. Budget: verify + re-sign ≤ 150 µs CPU per request.

    python -m bench.sigv4_bench [--iterations N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from glassgate.proxy import sigv4

PATH = "/bedrock/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
BODY = b'{"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": 64}}'
CLIENT = ("AKGGCLIENTKEY0000000", "client-secret-issued-by-glassgate")
UPSTREAM = ("AKIAUPSTREAM00000000", "upstream-secret", "session-token-from-the-role")


def client_request() -> dict[str, str]:
    request = AWSRequest(
        method="POST", url=f"http://127.0.0.1:4000{PATH}", data=BODY, headers={"Content-Type": "application/json"}
    )
    request.headers["User-Agent"] = "Boto3/1.44.8 md/Botocore#1.44.8"
    SigV4Auth(Credentials(*CLIENT), "bedrock", "us-east-1").add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()} | {"host": "127.0.0.1:4000"}


def glassgate_once(headers: dict[str, str]) -> None:
    credential = sigv4.parse_authorization(headers["authorization"])
    now = datetime.now(UTC)
    sigv4.verify(
        credential, secret=CLIENT[1], method="POST", raw_path=PATH, raw_query="", headers=headers, body=BODY, now=now
    )
    forwarded = [("Content-Type", "application/json"), ("User-Agent", headers["user-agent"])]
    sigv4.sign(
        access_key_id=UPSTREAM[0],
        secret=UPSTREAM[1],
        session_token=UPSTREAM[2],
        method="POST",
        host="bedrock-runtime.us-east-1.amazonaws.com",
        raw_path=PATH.removeprefix("/bedrock"),
        raw_query="",
        headers=forwarded,
        body=BODY,
        region="us-east-1",
        service="bedrock",
        now=now,
    )


def botocore_once(headers: dict[str, str]) -> None:
    checked = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:4000{PATH}",
        data=BODY,
        headers={k: headers[k] for k in ("content-type", "host", "x-amz-date")},
    )
    checked.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(*CLIENT), "bedrock", "us-east-1")
    signer.signature(signer.string_to_sign(checked, signer.canonical_request(checked)), checked)
    upstream = AWSRequest(
        method="POST",
        url=f"https://bedrock-runtime.us-east-1.amazonaws.com{PATH.removeprefix('/bedrock')}",
        data=BODY,
        headers={"Content-Type": "application/json", "User-Agent": headers["user-agent"]},
    )
    SigV4Auth(Credentials(*UPSTREAM), "bedrock", "us-east-1").add_auth(upstream)


def cpu_us_per_call(call: Callable[[dict[str, str]], None], headers: dict[str, str], iterations: int) -> float:
    for _ in range(min(iterations, 200)):
        call(headers)  # warm the signing-key cache and the interpreter
    started = time.process_time()
    for _ in range(iterations):
        call(headers)
    return (time.process_time() - started) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=20_000)
    iterations = parser.parse_args().iterations
    headers = client_request()
    ours = cpu_us_per_call(glassgate_once, headers, iterations)
    reference = cpu_us_per_call(botocore_once, headers, iterations // 4)
    verdict = "PASS" if ours <= 150 else "FAIL"
    sys.stdout.write(
        "| SigV4 verify + re-sign, CPU per request | µs | budget |\n|---|---:|---:|\n"
        f"| glassgate.proxy.sigv4 | {ours:.1f} | ≤ 150 ({verdict}) |\n"
        f"| botocore SigV4Auth (reference) | {reference:.1f} | |\n"
    )


if __name__ == "__main__":
    main()
