"""Health and shutdown of a real `glassgate serve`: /healthz, /readyz, and the drain on SIGTERM.

/healthz says the process is alive; /readyz that it can proxy, which never depends on the
database: with PostgreSQL stopped it stays 200 and calls keep flowing. On SIGTERM /readyz
turns 503 at once, requests are still served for `server.shutdown_delay_s` seconds (a load
balancer's time to notice; `--shutdown-delay` or `GLASSGATE_SERVER__SHUTDOWN_DELAY_S`), then
new connections are refused while calls in flight, streams included, run to their end; every
span is written before the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from aiohttp import web

from glassgate.storage import db
from tests.fakes.vendor_server import ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, free_port, openai_config
from tests.integration.test_database_outage import StoppablePostgres

CHUNKS = 30
CHUNK_INTERVAL_S = 0.1  # a stream of 3 s
BODY = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
CLIENT = {"authorization": "Bearer sk-client"}


class SlowStreams:
    """An OpenAI-shaped upstream whose streams take CHUNKS × CHUNK_INTERVAL_S; plain JSON otherwise."""

    def __init__(self) -> None:
        self.finished = 0
        self._lock = threading.Lock()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        payload = await request.json() if request.can_read_body else {}
        if not payload.get("stream"):
            return web.json_response({"object": "list", "data": []})
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for number in range(CHUNKS):
            choice = {"index": 0, "delta": {"content": f"{number} "}, "finish_reason": None}
            chunk = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [choice]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(CHUNK_INTERVAL_S)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        with self._lock:
            self.finished += 1
        return response


def serve(config: dict[str, Any], workdir: Path, *args: str, env: dict[str, str] | None = None) -> GlassgateProcess:
    """`glassgate serve` with extra command-line options and variables, ready (tests.harness takes none)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "glassgate.yaml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = workdir / "glassgate.log"
    command = [sys.executable, "-m", "glassgate", "serve", "--config", str(config_path), "--port", str(port)]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--log-level", "info", *args],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    glassgate = GlassgateProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, glassgate.log()
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{glassgate.url}/readyz", timeout=1).status_code == 200:
                return glassgate
        time.sleep(0.1)
    glassgate.stop()
    raise AssertionError(f"glassgate did not become ready:\n{glassgate.log()}")


class Stream(threading.Thread):
    """One streamed call in the background: its status, the bytes it got, and its span id."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.status: int | None = None
        self.body = b""
        self.span_id: str | None = None
        self.started = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            with httpx.stream("POST", f"{self.url}/openai/v1/chat/completions", json=BODY, headers=CLIENT) as response:
                self.status, self.span_id = response.status_code, response.headers.get("x-glassgate-span-id")
                for chunk in response.iter_raw():
                    self.body += chunk
                    self.started.set()
        except httpx.HTTPError as exc:
            self.error = exc
        finally:
            self.started.set()


def stored(database_url: str, span_ids: list[str]) -> set[str]:
    async def query() -> set[str]:
        connection = await asyncpg.connect(database_url)
        try:
            rows = await connection.fetch("SELECT span_id FROM spans WHERE span_id = ANY($1::text[])", span_ids)
        finally:
            await connection.close()
        return {row["span_id"] for row in rows}

    return asyncio.run(query())


@pytest.fixture
def upstream() -> Iterator[tuple[SlowStreams, str]]:
    fake = SlowStreams()
    server = ServerThread(fake.app()).start()
    yield fake, server.url
    server.stop()


def test_readiness_never_depends_on_the_database(upstream: tuple[SlowStreams, str], tmp_path: Path) -> None:
    _, url = upstream
    postgres = StoppablePostgres(tmp_path / "pg")
    db.migrate(postgres.url)
    config = openai_config(tmp_path / "data", postgres.url, url, embeddings={"enabled": False})
    config["upstreams"]["held"] = {"vendor": "openai", "url": url, "auth": {"type": "static", "key": "sk-held"}}
    glassgate = serve(config, tmp_path / "gg")
    try:
        admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        key = httpx.post(f"{glassgate.url}/api/v1/keys", json={"project": "p"}, headers=admin).json()["key"]
        held = {"authorization": f"Bearer {key}"}
        assert httpx.get(f"{glassgate.url}/held/v1/models", headers=held).status_code == 200  # the key is now known
        assert httpx.get(f"{glassgate.url}/healthz").json() == {"status": "ok"}

        postgres.stop()
        for _ in range(3):
            ready = httpx.get(f"{glassgate.url}/readyz")
            assert ready.status_code == 200 and ready.json() == {"status": "ready"}
            assert httpx.get(f"{glassgate.url}/healthz").status_code == 200
            assert httpx.get(f"{glassgate.url}/openai/v1/models", headers=CLIENT).status_code == 200
            assert httpx.get(f"{glassgate.url}/held/v1/models", headers=held).status_code == 200
            time.sleep(1.0)
        assert httpx.get(f"{glassgate.url}/api/v1/spans", headers=admin).status_code == 503, "the API does need it"
        postgres.start()
        assert httpx.get(f"{glassgate.url}/readyz").status_code == 200
    finally:
        assert glassgate.stop() == 0, glassgate.log()
        with contextlib.suppress(subprocess.CalledProcessError):
            postgres.stop()
        postgres.server.cleanup()


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--shutdown-delay", "1.0"], {}),  # on a command line
        ([], {"GLASSGATE_SERVER__SHUTDOWN_DELAY_S": "1.0"}),  # in a container: no flag, a setting
    ],
    ids=["flag", "environment"],
)
def test_sigterm_turns_readiness_off_then_drains_in_flight_streams_and_flushes_spans(
    upstream: tuple[SlowStreams, str], tmp_path: Path, database_url: str, args: list[str], env: dict[str, str]
) -> None:
    fake, url = upstream
    config = openai_config(tmp_path / "data", database_url, url, embeddings={"enabled": False})
    glassgate = serve(config, tmp_path / "gg", *args, env=env)
    try:
        stream = Stream(glassgate.url)
        stream.start()
        assert stream.started.wait(10) and stream.status == 200
        glassgate.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        # During the delay: not ready, yet everything is still served, on new connections too.
        draining = httpx.get(f"{glassgate.url}/readyz", timeout=2)
        assert draining.status_code == 503 and draining.json() == {"status": "draining"}
        assert httpx.get(f"{glassgate.url}/healthz", timeout=2).status_code == 200
        not_streamed = {**BODY, "stream": False}
        late_call = httpx.post(f"{glassgate.url}/openai/v1/chat/completions", json=not_streamed, headers=CLIENT)
        assert late_call.status_code == 200
        assert time.monotonic() - signalled < 1.0, "the checks above ran inside the delay"

        # After it: new connections are refused while the stream is still running.
        refused_at = None
        while stream.is_alive() and refused_at is None:
            try:
                httpx.get(f"{glassgate.url}/healthz", timeout=0.5)
            # A connection accepted just as the listener closed is dropped unanswered (closed or
            # reset, by who wins the race): refused too.
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                refused_at = time.monotonic() - signalled
            time.sleep(0.05)
        assert refused_at is not None and refused_at >= 1.0, "new connections were refused, after the delay"
        assert stream.is_alive(), "…while the stream was still in flight"

        stream.join(15)
        assert stream.error is None and stream.body.endswith(b"data: [DONE]\n\n"), stream.body[-200:]
        assert stream.body.count(b"chat.completion.chunk") == CHUNKS, "the stream was relayed to its end"
        assert glassgate.process.wait(30) == 0, glassgate.log()
        assert fake.finished >= 1
        span_ids = [stream.span_id, late_call.headers["x-glassgate-span-id"]]
        assert all(span_ids)
        assert stored(database_url, [span_id for span_id in span_ids if span_id]) == set(span_ids), "spans flushed"
    finally:
        glassgate.stop()  # a failed check must not leave the server running into the next test


def test_without_a_delay_sigterm_refuses_new_connections_at_once(
    upstream: tuple[SlowStreams, str], tmp_path: Path, database_url: str
) -> None:
    _, url = upstream
    config = openai_config(tmp_path / "data", database_url, url, embeddings={"enabled": False})
    glassgate = serve(config, tmp_path / "gg")
    stream = Stream(glassgate.url)
    stream.start()
    assert stream.started.wait(10) and stream.status == 200
    glassgate.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{glassgate.url}/readyz", timeout=2)
    assert stream.is_alive()
    stream.join(15)
    assert stream.body.endswith(b"data: [DONE]\n\n")
    assert glassgate.process.wait(30) == 0, glassgate.log()
    assert stream.span_id is not None and stored(database_url, [stream.span_id]) == {stream.span_id}
