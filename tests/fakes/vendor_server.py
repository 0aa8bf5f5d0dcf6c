"""A fake OpenAI / Azure OpenAI (and Entra ID) server speaking the exact wire format.

Runs on loopback in a background thread. It records every request byte it receives and
every chunk it sends, so tests can check that the proxy relays both unchanged.

Scenarios are chosen by the request's `model` (or Azure deployment), since that is the
one field every SDK call lets a test set:
    error-400, rate-limited, server-error   the vendor's error shapes and headers
    cut-stream                              two chunks, then the connection drops
    slow-stream                             40 chunks 50 ms apart (for client disconnects)
    echo-slow                               the user's text echoed (as `echo*` models), 50 ms a chunk
    split-stream                            the stream's bytes in 37-byte writes, cutting events apart
    hang                                    no answer for 5 s (for read timeouts)
    filtered (Azure)                        a content-filter 400
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import openai_fixtures as fx


@dataclass
class Received:
    method: str
    raw_path: str  # path and query exactly as received
    headers: list[tuple[str, str]]
    body: bytes
    sent: list[bytes] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class RecordingFake:
    """A fake vendor's common part: one catch-all route that records each request's bytes.

    Subclasses answer in `handle`, starting with `record = await self.record(request)`.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()

    def last(self) -> Received:
        with self.lock:
            return self.received[-1]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def record(self, request: web.Request) -> Received:
        body = await request.read()
        headers = [(key.decode("latin-1"), value.decode("latin-1")) for key, value in request.raw_headers]
        received = Received(request.method, request.raw_path, headers, body)
        with self.lock:
            self.received.append(received)
        return received

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError


class FakeVendor(RecordingFake):
    """OpenAI and Azure OpenAI."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        body = record.body
        path = request.path
        azure = path.startswith("/openai/")
        try:
            payload: dict[str, Any] = json.loads(body) if body else {}
        except ValueError:
            return await self._json(
                request,
                record,
                400,
                fx.error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None),
            )
        if not isinstance(payload, dict):
            payload = {}
        model = str(payload.get("model") or "")
        if azure and "/deployments/" in path:
            model = path.split("/deployments/", 1)[1].split("/", 1)[0]
        if model == "error-400":
            return await self._json(
                request,
                record,
                400,
                fx.error(400, "Invalid value for 'temperature'.", "invalid_request_error", "invalid_value"),
            )
        if model == "rate-limited":
            headers = {
                "retry-after": "1",
                "retry-after-ms": "1",
                "x-ratelimit-remaining-requests": "0",
                "x-should-retry": "false",
            }
            return await self._json(
                request,
                record,
                429,
                fx.error(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                headers,
            )
        if model == "server-error":
            return await self._json(
                request,
                record,
                500,
                fx.error(500, "The server had an error.", "server_error", None),
                {"x-should-retry": "false"},
            )
        if model == "hang":
            await asyncio.sleep(5)  # longer than the proxy's read timeout in the tests
        if azure and model == "filtered":
            return await self._json(request, record, 400, fx.AZURE_CONTENT_FILTER_ERROR)
        if path.endswith("/chat/completions"):
            if payload.get("stream"):
                return await self._stream(request, record, fx.chat_stream(payload, azure=azure), model)
            return await self._json(request, record, 200, fx.chat_completion(payload, azure=azure))
        if path.endswith("/responses"):
            if payload.get("stream"):
                return await self._stream(request, record, fx.responses_stream(payload), model)
            return await self._json(request, record, 200, fx.responses_object(payload))
        if path.endswith("/embeddings"):
            return await self._json(request, record, 200, fx.embeddings(payload))
        if path.endswith("/completions"):
            if payload.get("stream"):
                return await self._stream(request, record, fx.completion_stream(payload), model)
            return await self._json(request, record, 200, fx.completion(payload))
        if path.endswith("/gzip"):
            data = gzip.compress(fx.dumps(fx.chat_completion({}, azure=False)))
            return await self._send(
                request, record, 200, data, {"content-type": "application/json", "content-encoding": "gzip"}
            )
        return await self._json(
            request, record, 200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}
        )

    async def _json(
        self, request: web.Request, record: Received, status: int, value: Any, headers: dict[str, str] | None = None
    ) -> web.StreamResponse:
        all_headers = {
            "content-type": "application/json",
            "x-request-id": "req_fake",
            "openai-processing-ms": "12",
            **(headers or {}),
        }
        return await self._send(request, record, status, fx.dumps(value), all_headers)

    async def _send(
        self, request: web.Request, record: Received, status: int, data: bytes, headers: dict[str, str]
    ) -> web.StreamResponse:
        response = web.Response(status=status, body=data, headers=headers)
        record.sent.append(data)
        return response

    async def _stream(
        self, request: web.Request, record: Received, events: list[bytes], model: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_fake"}
        )
        await response.prepare(request)
        if model == "slow-stream":
            dot = fx.sse({**fx.CHUNK_BASE, "choices": [{"index": 0, "delta": {"content": "."}, "finish_reason": None}]})
            events = events[:2] + [dot] * 40 + events[2:]
        if model == "split-stream":
            data = b"".join(events)
            events = [data[start : start + 37] for start in range(0, len(data), 37)]
        for number, event in enumerate(events):
            if model == "cut-stream" and number == 2:
                assert request.transport is not None
                request.transport.abort()  # a reset mid-stream, as a failing upstream would
                return response
            record.sent.append(event)
            await response.write(event)
            if model in ("slow-stream", "echo-slow"):
                await asyncio.sleep(0.05)
            elif model == "split-stream":
                await asyncio.sleep(0.002)  # separate writes, so the pieces reach the proxy apart
        await response.write_eof()
        return response


class FakeEntra:
    """Entra ID's discovery and client-credentials token endpoints (over HTTPS)."""

    def __init__(self) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.base = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        return web.json_response(
            {
                "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize",
                "issuer": f"{self.base}/{tenant}/v2.0",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests.append({key: str(value) for key, value in form.items()})
        number = len(self.token_requests)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": f"entra-token-{number}",
            }
        )


class ServerThread:
    """Run an aiohttp application on a loopback port in a daemon thread."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        self._app = app
        self._ssl = ssl_context
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
