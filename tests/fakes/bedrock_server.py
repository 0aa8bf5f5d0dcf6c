"""A fake Bedrock Runtime: verifies Glassgate's re-signed SigV4, answers with real event-stream frames.

It checks every request's signature with botocore against the credentials Glassgate is
configured with (as AWS would), so a proxy that forwards a client's signature, re-serialises
the body or changes the path encoding is caught. Scenarios by model id (wire-formats.md §3):
    error-400, throttled       HTTP errors with x-amzn-ErrorType
    stream-exception           an exception frame after the first delta
    slow-stream                many deltas 50 ms apart (client disconnects)
    judge*                     Converse as an evaluation judge: the verdict `judge_server.judge_answer`
                               gives for the system and last user text
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from botocore.auth import SigV4Auth, _host_from_url
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from tests.fakes import bedrock_fixtures as fx
from tests.fakes.judge_server import judge_answer
from tests.fakes.vendor_server import Received, RecordingFake

EVENTSTREAM = "application/vnd.amazon.eventstream"


def _listed_headers(request: AWSRequest) -> HTTPHeaders:
    """Every header of the request: it holds just those the signature lists, which AWS checks.

    (botocore's own signer leaves tracing headers such as traceparent out; AWS accepts a
    signature that covers them.)"""
    headers = HTTPHeaders()
    for name, value in request.headers.items():
        headers[name.lower()] = value
    if "host" not in headers:
        headers["host"] = _host_from_url(request.url)
    return headers


class FakeBedrock(RecordingFake):
    """Bedrock Runtime, checking signatures with the credentials Glassgate should sign with."""

    def __init__(self, access_key_id: str, secret: str, region: str) -> None:
        super().__init__()
        self._credentials = Credentials(access_key_id, secret)
        self._region = region

    def signature_problem(self, request: web.Request, body: bytes) -> str | None:
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            return None  # a Bedrock API key
        try:
            signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
            given = authorization.rsplit("Signature=", 1)[1]
            scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
        except IndexError:
            return "missing or malformed signature"
        if not scope.startswith(self._credentials.access_key + "/") or f"/{self._region}/bedrock/" not in scope:
            return f"unexpected credential scope {scope}"
        headers = {name: request.headers[name] for name in signed if name in request.headers}
        aws = AWSRequest(
            method=request.method, url=f"http://{request.host}{request.raw_path}", data=body, headers=headers
        )
        aws.context["timestamp"] = request.headers.get("x-amz-date", "")
        signer = SigV4Auth(self._credentials, "bedrock", self._region)
        signer.headers_to_sign = _listed_headers
        expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        return None if hmac.compare_digest(expected, given) else "signature mismatch"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        body = record.body
        problem = self.signature_problem(request, body)
        if problem is not None:
            return self._error(
                record,
                403,
                "InvalidSignatureException",
                f"The request signature we calculated does not match ({problem})",
            )
        parts = request.raw_path.split("?", 1)[0].split("/")
        if len(parts) < 4 or parts[1] != "model":
            return self._json(record, 200, {"invocationSummaries": []})
        model_id, operation = unquote(parts[2]), parts[3]
        payload: dict[str, Any] = json.loads(body) if body else {}
        if model_id in fx.ERRORS:
            status, code, message = fx.ERRORS[model_id]
            return self._error(record, status, code, message)
        if operation == "converse" and model_id.startswith("judge"):
            return self._json(record, 200, _judged(payload))
        if operation == "converse":
            return self._json(record, 200, fx.converse(payload))
        if operation == "converse-stream":
            return await self._stream(
                request,
                record,
                fx.converse_stream(payload, pieces=15 if model_id == "slow-stream" else 1),
                slow=model_id == "slow-stream",
            )
        if operation == "invoke":
            answer, headers = fx.invoke(model_id, payload)
            return self._json(record, 200, answer, headers)
        if operation == "invoke-with-response-stream":
            frames = fx.invoke_stream_anthropic(
                fail_after_first=model_id.startswith("stream-exception"), request=payload
            )
            return await self._stream(
                request, record, frames, extra={"X-Amzn-Bedrock-Content-Type": "application/json"}
            )
        return self._json(record, 200, {"inputTokens": 12})

    def _json(self, record: Received, status: int, value: Any, headers: dict[str, str] | None = None) -> web.Response:
        data = json.dumps(value).encode()
        record.sent.append(data)
        return web.Response(
            status=status,
            body=data,
            headers={"Content-Type": "application/json", "x-amzn-RequestId": "req-fake", **(headers or {})},
        )

    def _error(self, record: Received, status: int, code: str, message: str) -> web.Response:
        headers = {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        return self._json(record, status, {"message": message}, headers)

    async def _stream(
        self,
        request: web.Request,
        record: Received,
        frames: list[bytes],
        *,
        slow: bool = False,
        extra: dict[str, str] | None = None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": EVENTSTREAM, "x-amzn-RequestId": "req-fake", **(extra or {})}
        )
        await response.prepare(request)
        for frame in frames:
            record.sent.append(frame)
            await response.write(frame)
            if slow:
                await asyncio.sleep(0.05)
        await response.write_eof()
        return response


def _judged(request: dict[str, Any]) -> dict[str, Any]:
    def text(blocks: Any) -> str:
        return "".join(str(block.get("text", "")) for block in blocks or [] if isinstance(block, dict))

    users = [text(message.get("content")) for message in request.get("messages") or [] if message.get("role") == "user"]
    verdict = judge_answer(text(request.get("system")), users[-1] if users else "")
    return {**fx.converse(request), "output": {"message": {"role": "assistant", "content": [{"text": verdict}]}}}
