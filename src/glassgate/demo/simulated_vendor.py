"""The simulated vendor served over HTTP on loopback (aiohttp), with its answers' timing.

What it answers is decided in `simulation.py`; this module only waits and writes: the whole
body after the answer's time, or a stream's events after the time to first token and then
one by one. `latency_scale` shrinks every delay (0 for none).
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType

from aiohttp import web

from glassgate.demo.simulation import Simulation


class SimulatedVendor:
    """Lifecycle: `async with SimulatedVendor() as vendor:`, then send requests to `vendor.url`."""

    def __init__(self, *, latency_scale: float = 1.0) -> None:
        self.latency_scale = latency_scale
        self.simulation = Simulation()
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatedVendor:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def _sleep(self, seconds: float) -> None:
        if self.latency_scale > 0 and seconds > 0:
            await asyncio.sleep(seconds * self.latency_scale)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.read()
        answer = self.simulation.respond(request.method, request.path, request.headers, body)
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        if answer.streamed:  # the headers come at once, the first event after the time to first token
            await response.prepare(request)
            await self._sleep(answer.first_delay_s)
        else:
            response.content_length = len(answer.body)
            await self._sleep(answer.first_delay_s)
            await response.prepare(request)
        for number, chunk in enumerate(answer.chunks):
            if number:
                await self._sleep(answer.gap_s)
            await response.write(chunk)
        await response.write_eof()
        return response
