"""POST /v1/traces: OTLP/HTTP (protobuf or JSON) from instrumented apps, into the span store.

Authenticated like the API (admin token) or like the proxy (a Glassgate key, whose project
the spans join). Stored synchronously: when the database is down the answer is 503 with
Retry-After, which OTLP exporters retry, so nothing is lost on the way in either.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from glassgate.asgi import BodyTooLarge, ClientGone, Receive, Scope, Send, read_body, send_response
from glassgate.proxy.client_keys import KeyVerifier
from glassgate.storage import db
from glassgate.tracing.otlp_in import MalformedOtlp, parse_request, to_spans
from glassgate.tracing.span import Span

log = logging.getLogger(__name__)
Inserter = Callable[[Sequence[Span]], Awaitable[None]]
MAX_BODY = 16 * 1024 * 1024
_STORE_UNAVAILABLE: tuple[type[Exception], ...] = (*db.UNAVAILABLE, AttributeError)


class OtlpReceiver:
    def __init__(self, admin_token: str, keys: KeyVerifier, insert: Inserter) -> None:
        self._admin = admin_token.encode()
        self._keys = keys
        self._insert = insert

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        content_type = headers.get("content-type", "application/x-protobuf")
        json_body = content_type.startswith("application/json")
        if scope["method"] != "POST":
            await _answer(send, 405, {"message": "use POST with an OTLP ExportTraceServiceRequest"}, json_body)
            return
        project = await self._project(headers)
        if project is None:
            await _answer(
                send, 401, {"message": "send Authorization: Bearer <admin token or Glassgate key>"}, json_body
            )
            return
        try:
            body = await read_body(scope, receive, MAX_BODY)
        except BodyTooLarge:
            await _answer(send, 413, {"message": f"an OTLP export is limited to {MAX_BODY} bytes"}, json_body)
            return
        except ClientGone:
            # Nobody is left to answer, and a cut export may still parse as fewer spans: the
            # exporter retries the whole batch.
            log.info("an OTLP export broke off before the end of its body; nothing stored")
            return
        try:
            spans = to_spans(parse_request(body, content_type), project)
        except MalformedOtlp as exc:
            await _answer(send, 400, {"message": str(exc)}, json_body)
            return
        try:
            if spans:
                await self._insert(spans)
        except _STORE_UNAVAILABLE as exc:
            log.warning("OTLP ingest of %d spans deferred: database unavailable (%s)", len(spans), type(exc).__name__)
            await _answer(send, 503, {"message": "the span store is unavailable; retry"}, json_body, retry_after=True)
            return
        await _answer(send, 200, None, json_body)

    async def _project(self, headers: dict[str, str]) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if hmac.compare_digest(token.encode(), self._admin):
            return "default"
        identity = await self._keys.verify(token)
        return identity.project if identity is not None else None


async def _answer(
    send: Send, status: int, problem: dict[str, str] | None, json_body: bool, retry_after: bool = False
) -> None:
    if problem is not None:  # errors as a JSON message: clearer to a person than a google.rpc.Status
        body, content_type = orjson.dumps(problem), b"application/json"
    elif json_body:
        body, content_type = b"{}", b"application/json"
    else:
        body, content_type = ExportTraceServiceResponse().SerializeToString(), b"application/x-protobuf"
    await send_response(send, status, body, content_type, [(b"retry-after", b"5")] if retry_after else None)
