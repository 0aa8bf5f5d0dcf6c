"""The one relay loop: read the request, forward it, stream the answer back chunk by chunk.

Per request it does only what cannot wait: route, authenticate, send, relay. It appends
what it sees to an `Exchange` and hands that to a sink; parsing happens off the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import orjson

from glassgate.asgi import BodyTooLarge, ClientGone, Receive, Scope, Send, read_body, send_json, send_response
from glassgate.config import ProxySettings, TracingSettings
from glassgate.errors import UpstreamError, UpstreamTimeout
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.engine import GuardrailEngine, Verdict, requested_model
from glassgate.proxy.answer_stream import StreamGuard, stream_guard_for
from glassgate.proxy.client_auth import ClientAuthenticator, Refusal, resign
from glassgate.proxy.exchange import Exchange, Outcome
from glassgate.proxy.headers import relayed_response_headers, split_request_headers
from glassgate.proxy.http1 import UpstreamResponse
from glassgate.proxy.ids import random_hex
from glassgate.proxy.remote_guard import RemoteGuard
from glassgate.proxy.routes import Route
from glassgate.proxy.stream_usage import UsageStripper, with_stream_usage
from glassgate.proxy.upstream import Upstream, UpstreamPool
from glassgate.proxy.vendors.base import error_headers

if TYPE_CHECKING:  # redis-py (~24 MB) loads only when limits are configured
    from glassgate.limits import Limiter

log = logging.getLogger(__name__)
_STREAM_HEADERS = [(b"x-accel-buffering", b"no")]
_STREAM_TYPES = ("text/event-stream", "application/vnd.amazon.eventstream")
# The client left, and the rest of the answer could not be read: the drain timed out, or the upstream broke.
_NOT_READ_TO_END = "client disconnected; upstream not read to the end"


class ExchangeSink(Protocol):
    def submit(self, exchange: Exchange) -> None:
        """Take a finished exchange without blocking (the tracing queue)."""
        ...


class Forwarder:
    """Forwards data-plane requests to the configured upstreams."""

    def __init__(
        self,
        pool: UpstreamPool,
        sink: ExchangeSink,
        auth: ClientAuthenticator,
        proxy: ProxySettings,
        tracing: TracingSettings,
        guardrails: GuardrailEngine | None = None,
        limits: Limiter | None = None,
    ) -> None:
        self._pool = pool
        self._limits = limits  # None without limit rules: no check, no Redis
        self._guardrails = guardrails
        self._remote = RemoteGuard.of(guardrails, pool)  # None unless a policy asks a remote provider
        self._sink = sink
        self._auth = auth
        self._max_body = proxy.max_body_bytes
        self._drain_timeout = proxy.drain_timeout_s
        self._capture_max = tracing.capture_max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        upstream = self._pool.get(route.upstream)
        if upstream is None:
            known = ", ".join(self._pool.names()) or "none"
            message = f"unknown upstream {route.upstream!r}; configured upstreams: {known}"
            await send_json(send, 404, {"error": {"message": message, "type": "not_found", "code": "unknown_upstream"}})
            return
        exchange = Exchange(
            span_id=random_hex(8),
            upstream=upstream.name,
            vendor=upstream.vendor,
            method=scope["method"],
            path=route.rest.decode("latin-1"),
            query=scope["query_string"].decode("latin-1"),
            started_at=time.time(),
        )
        t0 = time.perf_counter()
        try:
            await self._forward(scope, receive, send, route, upstream, exchange, t0)
        finally:
            if exchange.ended_at is None:
                exchange.ended_at = time.perf_counter() - t0
            if self._limits is not None:
                self._limits.finish(exchange)  # a call that got no answer gives its reservation back
            # Flag policies with a remote provider check the call first, off the client's time.
            if self._remote is None or not self._remote.defer(exchange, self._sink.submit):
                self._sink.submit(exchange)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        upstream: Upstream,
        exchange: Exchange,
        t0: float,
    ) -> None:
        span_header = (b"x-glassgate-span-id", exchange.span_id.encode())
        headers, exchange.context_headers, client_key = split_request_headers(
            scope["headers"], strip_client_keys=upstream.holds_credential
        )
        try:
            exchange.request_body = await read_body(scope, receive, self._max_body)
        except BodyTooLarge:
            message = f"request body exceeds the proxy limit of {self._max_body} bytes"
            await self._refuse(send, upstream, exchange, 413, message, "request_too_large", span_header)
            return
        except ClientGone as gone:
            # A partial request must not go upstream as if it were the whole one; the span
            # keeps what arrived.
            exchange.request_body = gone.partial
            exchange.outcome = Outcome.CLIENT_DISCONNECTED
            exchange.error = str(gone)
            return
        admitted = await self._auth.admit(
            upstream,
            exchange,
            headers,
            client_key,
            scope["headers"],
            scope.get("raw_path") or scope["path"].encode(),
            route.rest,
            scope["query_string"],
        )
        if isinstance(admitted, Refusal):
            await self._refuse(send, upstream, exchange, admitted.status, admitted.message, admitted.code, span_header)
            return
        if self._limits is not None:
            limited = await self._limits.check(exchange)  # reserves the call's worst case when it fits
            if limited is not None:
                if limited.status == 429:
                    exchange.outcome = Outcome.BLOCKED  # the span's status: blocked, naming the rule
                status, message, code = limited.status, limited.message, limited.code
                await self._refuse(send, upstream, exchange, status, message, code, span_header, limited.headers)
                return
        assert upstream.pool is not None, "UpstreamPool.open() was not called"
        redaction: Verdict | None = None  # the request's redaction: its placeholders, for the answer
        if self._guardrails is not None and self._guardrails.has_inline_for(upstream.name):
            guarded = await self._guard_request(send, upstream, exchange, route, scope, admitted, span_header)
            if guarded is None:
                return
            admitted, redaction = guarded
        answer_guard = self._answer_guard(upstream, exchange, redaction)
        if answer_guard is not None and upstream.vendor != "bedrock":
            # The answer is read on its way back: ask for it uncompressed. (Not for Bedrock,
            # whose headers are signed; its answers come uncompressed anyway.)
            admitted = [(name, value) for name, value in admitted if name.lower() != "accept-encoding"]
            admitted.append(("accept-encoding", "identity"))
        body = exchange.request_body
        if upstream.inject_stream_usage:
            injected = with_stream_usage(exchange.method, route.rest, body, admitted)
            if injected is not None:
                (body, admitted), exchange.stream_usage_injected = injected, True
        try:
            target = upstream.target_for(route.rest, scope["query_string"])
            response = await upstream.pool.request(exchange.method, target, admitted, body)
        except (UnicodeDecodeError, ValueError) as exc:
            message = "the request cannot be forwarded as sent (non-ASCII query, or CR/LF in a header)"
            await self._refuse(send, upstream, exchange, 400, message, "bad_request_head", span_header)
            log.info("refused a request head for %s: %s", upstream.name, type(exc).__name__)
            return
        except UpstreamError as exc:
            status, code = (
                (504, "upstream_timeout") if isinstance(exc, UpstreamTimeout) else (502, "upstream_unreachable")
            )
            problem = "timed out" if isinstance(exc, UpstreamTimeout) else "could not be reached"
            message = f"upstream {upstream.name!r} {problem}: {exc}"
            exchange.outcome, exchange.error_type = Outcome.UPSTREAM_FAILED, code
            await self._refuse(send, upstream, exchange, status, message, code, span_header)
            return
        try:
            if answer_guard is not None and 200 <= response.status < 300:
                await self._relay_guarded(response, send, receive, upstream, exchange, t0, span_header, answer_guard)
            else:
                await self._relay(response, send, receive, exchange, t0, span_header)
        finally:
            response.release()
            if answer_guard is not None:
                exchange.findings += answer_guard.findings
                exchange.guardrail_notes += [f"answer: {note}" for note in answer_guard.notes]

    async def _relay(
        self,
        response: UpstreamResponse,
        send: Send,
        receive: Receive,
        exchange: Exchange,
        t0: float,
        span_header: tuple[bytes, bytes],
    ) -> None:
        exchange.headers_at = time.perf_counter() - t0
        exchange.status = response.status
        exchange.raw_response_headers = response.raw_headers
        out_headers = relayed_response_headers(response.raw_headers)
        content_type = response.header("content-type")
        streaming = content_type is not None and content_type.startswith(_STREAM_TYPES)
        strip = self._usage_stripper(response, exchange) if exchange.stream_usage_injected and streaming else None
        if strip is not None:
            out_headers = [(name, value) for name, value in out_headers if name.lower() != b"content-length"]
        out_headers.append(span_header)
        out_headers.extend(_STREAM_HEADERS)
        await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
        # Only a stream is worth watching for a hang-up (to keep reading for its usage); the
        # request body was read in full, so the next receive() resolves only on disconnect.
        disconnect = asyncio.ensure_future(receive()) if streaming else None
        try:
            async for chunk in response:
                self._capture(exchange, chunk, t0)
                if disconnect is not None and disconnect.done():
                    exchange.outcome = Outcome.CLIENT_DISCONNECTED
                    break
                if strip is not None:
                    chunk = strip.feed(chunk)  # the capture above keeps the upstream's bytes
                    if not chunk:
                        continue
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if exchange.outcome is Outcome.CLIENT_DISCONNECTED:
                # Keep reading for a while so the usage at the end of the stream is recorded.
                await asyncio.wait_for(self._drain(response, exchange, t0), self._drain_timeout)
        except (UpstreamError, TimeoutError) as exc:
            exchange.ended_at = time.perf_counter() - t0
            if exchange.outcome is Outcome.CLIENT_DISCONNECTED:
                exchange.error = _NOT_READ_TO_END
                return
            exchange.outcome = Outcome.UPSTREAM_FAILED
            exchange.error = f"upstream stream broke: {_describe(exc)}"
            exchange.error_type = "upstream_timeout" if isinstance(exc, UpstreamTimeout) else "upstream_reset"
            log.warning("%s %s: %s", exchange.upstream, exchange.path, exchange.error)
            # Abort the client's connection too, so it sees a broken stream, not a clean end.
            raise ClientAbort(exchange.error) from None
        finally:
            if disconnect is not None:
                disconnect.cancel()
        exchange.ended_at = time.perf_counter() - t0
        tail = strip.flush() if strip is not None else b""
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    def _answer_guard(self, upstream: Upstream, exchange: Exchange, redaction: Verdict | None) -> AnswerGuard | None:
        """The block/redact output policies of this call (the model scopes them), and the
        request's placeholders to restore in the answer; None when there are neither."""
        restorable = redaction.restorable if redaction is not None else []
        if self._guardrails is None or not (restorable or self._guardrails.has_answer_inline_for(upstream.name)):
            return None
        try:
            parsed = orjson.loads(exchange.request_body) if exchange.request_body else None
        except orjson.JSONDecodeError:
            parsed = None
        model = requested_model(exchange.vendor, exchange.path, parsed)
        policies = self._guardrails.answer_policies(upstream.name, exchange.project, model)
        placeholders = redaction.placeholders if redaction is not None else None
        return AnswerGuard.for_call(policies, placeholders, restorable)

    async def _relay_guarded(
        self,
        response: UpstreamResponse,
        send: Send,
        receive: Receive,
        upstream: Upstream,
        exchange: Exchange,
        t0: float,
        span_header: tuple[bytes, bytes],
        guard: AnswerGuard,
    ) -> None:
        """Relay an answer that output policies may block or redact (see guardrails.answers)."""
        content_type = response.header("content-type")
        streaming = content_type is not None and content_type.startswith(_STREAM_TYPES)
        encoding = response.header("content-encoding")
        if streaming and self._remote is not None and self._remote.skip_stream(guard) and guard.restorer is None:
            await self._relay(response, send, receive, exchange, t0, span_header)
            return
        stream_guard = stream_guard_for(exchange.vendor, exchange.path, guard) if streaming else None
        readable = encoding in (None, "identity") and (stream_guard is not None or not streaming)
        if not readable:
            why = f"a {encoding} answer" if encoding not in (None, "identity") else "this stream format"
            if any(policy.on_error == "closed" for policy in guard.policies):
                exchange.outcome = Outcome.ANSWER_BLOCKED
                message = f"answer blocked: guardrails cannot check {why} (on_error: closed)"
                await self._refuse(send, upstream, exchange, 502, message, "guardrail_unchecked", span_header)
                return
            done = "not blocked or redacted" if guard.restorer is None else "not guarded, placeholders not restored"
            guard.notes.append(f"{done}: guardrails cannot check {why}")
            await self._relay(response, send, receive, exchange, t0, span_header)
            return
        if stream_guard is None:
            await self._relay_whole_answer(response, send, upstream, exchange, t0, span_header, guard)
            return
        exchange.headers_at = time.perf_counter() - t0
        exchange.status = response.status
        exchange.raw_response_headers = response.raw_headers
        headers = [(n, v) for n, v in relayed_response_headers(response.raw_headers) if n.lower() != b"content-length"]
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [*headers, span_header, *_STREAM_HEADERS],
            }
        )
        # The usage the proxy asked for is kept from the client, as in `_relay`.
        strip = UsageStripper() if exchange.stream_usage_injected else None
        disconnect = asyncio.ensure_future(receive())
        try:
            async for chunk in response:
                relayed, stored = stream_guard.feed(chunk)
                # The span keeps the answer as the vendor wrote it, output redactions applied: a
                # redacted value is never stored, nor one restored for the client.
                self._capture(exchange, stored, t0)
                if disconnect.done():
                    exchange.outcome = Outcome.CLIENT_DISCONNECTED
                    break
                if strip is not None:
                    relayed = strip.feed(relayed)
                if relayed:
                    await send({"type": "http.response.body", "body": relayed, "more_body": True})
                if stream_guard.ended:
                    break
            if exchange.outcome is Outcome.CLIENT_DISCONNECTED:
                # As in `_relay`: read on (through the guard, so that what is stored is redacted)
                # for the rest of the answer and the usage at its end.
                await asyncio.wait_for(self._drain(response, exchange, t0, stream_guard), self._drain_timeout)
        except (UpstreamError, TimeoutError) as exc:
            exchange.ended_at = time.perf_counter() - t0
            if exchange.outcome is Outcome.CLIENT_DISCONNECTED:
                exchange.error = _NOT_READ_TO_END
                return
            exchange.outcome = Outcome.UPSTREAM_FAILED
            exchange.error = f"upstream stream broke: {_describe(exc)}"
            exchange.error_type = "upstream_timeout" if isinstance(exc, UpstreamTimeout) else "upstream_reset"
            raise ClientAbort(exchange.error) from None
        finally:
            disconnect.cancel()
        tail, stored = stream_guard.flush()
        if stored:
            self._capture(exchange, stored, t0)
        if exchange.outcome is Outcome.CLIENT_DISCONNECTED:
            tail = b""  # nobody to send it to
        elif strip is not None:
            tail = strip.feed(tail) + strip.flush()
        if guard.blocked_by is not None:
            exchange.outcome, exchange.error, exchange.error_type = (
                Outcome.ANSWER_BLOCKED,
                guard.blocked_by,
                "guardrail_blocked",
            )
        exchange.ended_at = time.perf_counter() - t0
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _relay_whole_answer(
        self,
        response: UpstreamResponse,
        send: Send,
        upstream: Upstream,
        exchange: Exchange,
        t0: float,
        span_header: tuple[bytes, bytes],
        guard: AnswerGuard,
    ) -> None:
        """A non-streamed answer is read whole, checked, then sent as it was, redacted, or refused."""
        exchange.headers_at = time.perf_counter() - t0
        pieces: list[bytes] = []
        size = 0
        try:
            async for chunk in response:
                pieces.append(chunk)
                size += len(chunk)
                if size > self._max_body:
                    raise UpstreamError(f"the answer exceeds {self._max_body} bytes, too large to check")
        except (UpstreamError, TimeoutError) as exc:
            exchange.outcome, exchange.error_type = Outcome.UPSTREAM_FAILED, "upstream_reset"
            message = f"upstream {upstream.name!r} answer could not be read: {_describe(exc)}"
            await self._refuse(send, upstream, exchange, 502, message, "upstream_reset", span_header)
            return
        raw = b"".join(pieces)
        verdict = guard.check_body(exchange.vendor, exchange.path, raw)
        if self._remote is not None:
            verdict = await self._remote.check_answer(exchange, guard, verdict)
        exchange.ended_at = time.perf_counter() - t0
        if verdict.action == "block":
            exchange.outcome = Outcome.ANSWER_BLOCKED
            await self._refuse(send, upstream, exchange, 400, verdict.message, "guardrail_blocked", span_header)
            return
        exchange.status = response.status
        exchange.raw_response_headers = response.raw_headers
        self._capture(exchange, verdict.body, t0)  # as the vendor wrote it, output redactions applied
        body = guard.restored_body(exchange.vendor, exchange.path, verdict.body)  # the client's copy
        headers = [(n, v) for n, v in relayed_response_headers(response.raw_headers) if n.lower() != b"content-length"]
        headers += [(b"content-length", str(len(body)).encode()), span_header]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    def _usage_stripper(response: UpstreamResponse, exchange: Exchange) -> UsageStripper | None:
        """A filter for the usage the proxy asked for; None if the stream came compressed."""
        encoding = response.header("content-encoding")
        if encoding not in (None, "identity"):
            log.warning("%s %s: a %s stream cannot have its usage removed", exchange.upstream, exchange.path, encoding)
            return None
        return UsageStripper()

    def _capture(self, exchange: Exchange, chunk: bytes, t0: float) -> None:
        if exchange.captured_bytes + len(chunk) <= self._capture_max:
            exchange.chunks.append(chunk)
            exchange.chunk_times.append(time.perf_counter() - t0)
            exchange.captured_bytes += len(chunk)
        else:
            exchange.truncated = True

    async def _drain(
        self, response: UpstreamResponse, exchange: Exchange, t0: float, stream_guard: StreamGuard | None = None
    ) -> None:
        """Read the rest of an answer whose client left, for the span (through the answer's guard,
        when it has one, so that what is stored is what the guard lets through)."""
        async for chunk in response:
            self._capture(exchange, chunk if stream_guard is None else stream_guard.feed(chunk)[1], t0)
            if stream_guard is not None and stream_guard.ended:
                return

    async def _guard_request(
        self,
        send: Send,
        upstream: Upstream,
        exchange: Exchange,
        route: Route,
        scope: Scope,
        admitted: list[tuple[str, str]],
        span_header: tuple[bytes, bytes],
    ) -> tuple[list[tuple[str, str]], Verdict | None] | None:
        """Block or redact per the policies; the headers to forward with and the redaction (None:
        nothing redacted), or None when refused."""
        assert self._guardrails is not None
        verdict = self._guardrails.check_exchange("inline", exchange)
        if self._remote is not None:
            verdict = await self._remote.check_request(exchange, verdict)
        exchange.findings, exchange.guardrail_notes = verdict.findings, [*verdict.skipped, *verdict.failures]
        if verdict.action == "forward":
            return admitted, None
        # From here on the span keeps the masked body: the matched values are never stored.
        exchange.request_body = verdict.body
        if verdict.action == "block":
            exchange.outcome = Outcome.BLOCKED
            await self._refuse(send, upstream, exchange, 400, verdict.message, "guardrail_blocked", span_header)
            return None
        resigned = await resign(upstream, exchange.method, admitted, verdict.body, route.rest, scope["query_string"])
        if isinstance(resigned, Refusal):
            await self._refuse(send, upstream, exchange, resigned.status, resigned.message, resigned.code, span_header)
            return None
        return resigned, verdict

    async def close(self) -> None:
        """Finish the remote flag checks under way and close their connections (at shutdown)."""
        if self._remote is not None:
            await self._remote.close()

    async def _refuse(
        self,
        send: Send,
        upstream: Upstream,
        exchange: Exchange,
        status: int,
        message: str,
        code: str,
        span_header: tuple[bytes, bytes],
        extra_headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        """Answer in the vendor's own error shape and record the refusal on the span.

        `extra_headers` (a rate limit's retry headers) are sent and recorded too; one of them
        may set `x-should-retry` in place of the default.
        """
        body, content_type = upstream.adapter.error_body(status, message, code)
        exchange.status = status
        exchange.error = message
        exchange.error_type = exchange.error_type or code
        exchange.chunks.append(body)
        exchange.chunk_times.append(0.0)
        exchange.raw_response_headers = [(b"content-type", content_type), *extra_headers]
        headers = [span_header, *error_headers(upstream.adapter, status), *extra_headers]
        if not any(name == b"x-should-retry" for name, _ in extra_headers):
            headers.insert(0, (b"x-should-retry", b"false" if status < 500 else b"true"))
        await send_response(send, status, body, content_type, headers)


class ClientAbort(Exception):
    """Raised after a broken upstream stream so the server drops the client connection."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text[:300]
