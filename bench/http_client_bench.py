"""`python -m bench.http_client_bench`: CPU per request of the upstream HTTP client alone.

Compares Glassgate's own client (`glassgate.proxy.http1`) with `aiohttp.ClientSession` set up
as the proxy used it (no decompression, no cookies, no environment), both on uvloop, against
the bench's mock upstream (`bench/mock_upstream.py`, started here as a child process).

Each phase sends a small keep-alive `POST /v1/chat/completions` (about 200 bytes in, 600
out) from `concurrency` tasks in a loop, reads each body chunk by chunk as the relay does,
and reports the client process's CPU time (`time.process_time()`, user + system, so the
socket syscalls are included) per request and the requests per second. The mock runs in
another process and is not counted. A `stream` phase does the same with SSE answers of
10 chunked events sent back to back, to price the per-chunk path.

    python -m bench.http_client_bench [--requests 20000] [--concurrency 1,32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop
from yarl import URL

from glassgate.proxy.http1 import ConnectionPool

_ROOT = Path(__file__).resolve().parent.parent
_PATH = "/v1/chat/completions"
_HEADERS = [
    ("content-type", "application/json"),
    ("authorization", "Bearer sk-bench-0000000000000000000000000000"),
    ("user-agent", "OpenAI/Python 1.109.1"),
    ("x-stainless-retry-count", "0"),
    ("openai-organization", "org-bench"),
]
_SMALL = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence, please."}],'
    b'"max_tokens":50,"temperature":0}'
)
_STREAM = _SMALL[:-1] + b',"stream":true,"bench":{"chunks":10,"delay_ms":0}}'

Send = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class Phase:
    client: str
    kind: str  # "small" or "stream"
    concurrency: int
    requests: int
    cpu_us: float  # user + system
    user_us: float
    per_second: float
    chunks: float  # body chunks handed to the caller per request


def _ours(pool: ConnectionPool, body: bytes) -> Send:
    async def send() -> int:
        response = await pool.request("POST", _PATH, _HEADERS, body)
        chunks = 0
        try:
            async for _ in response:
                chunks += 1
        finally:
            response.release()
        if response.status != 200:
            raise RuntimeError(f"mock answered {response.status}")
        return chunks

    return send


def _aiohttp(session: aiohttp.ClientSession, origin: str, body: bytes) -> Send:
    async def send() -> int:
        # As the proxy did: an encoded URL built per request from origin + raw target.
        url = URL(origin + _PATH, encoded=True)
        chunks = 0
        async with session.request("POST", url, headers=_HEADERS, data=body, allow_redirects=False) as response:
            async for _ in response.content.iter_any():
                chunks += 1
        if response.status != 200:
            raise RuntimeError(f"mock answered {response.status}")
        return chunks

    return send


async def _drive(send: Send, concurrency: int, requests: int) -> tuple[float, float, float, int]:
    """Send `requests` requests from `concurrency` looping tasks; (cpu s, user s, wall s, chunks)."""
    remaining = requests
    chunks = 0

    async def worker() -> None:
        nonlocal remaining, chunks
        while remaining > 0:
            remaining -= 1
            got = await send()  # not `chunks += await send()`: that reads `chunks` before awaiting
            chunks += got

    gc.collect()
    user = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, resource.getrusage(resource.RUSAGE_SELF).ru_utime - user, wall, chunks


async def _phases(client: str, port: int, kinds: list[str], concurrencies: list[int], requests: int) -> list[Phase]:
    origin = f"http://127.0.0.1:{port}"
    pool = ConnectionPool("http", "127.0.0.1", port, connect_timeout=5, read_timeout=30, max_connections=100)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
        timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=30),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )
    results = []
    try:
        for kind in kinds:
            body = _SMALL if kind == "small" else _STREAM
            send = _ours(pool, body) if client == "glassgate" else _aiohttp(session, origin, body)
            for concurrency in concurrencies:
                count = requests if kind == "small" else max(requests // 10, concurrency)
                await _drive(send, concurrency, max(count // 10, concurrency))  # warm-up: pool, caches
                cpu, user, wall, chunks = await _drive(send, concurrency, count)
                results.append(
                    Phase(
                        client,
                        kind,
                        concurrency,
                        count,
                        cpu / count * 1e6,
                        user / count * 1e6,
                        count / wall,
                        chunks / count,
                    )
                )
    finally:
        await pool.close()
        await session.close()
    return results


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int, mock: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if mock.poll() is not None:
            raise RuntimeError("the mock upstream exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the mock upstream did not start listening")


def _table(phases: list[Phase]) -> str:
    lines = [
        "| client | answer | concurrency | requests | CPU µs/request | of which user | requests/s | chunks/request |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        lines.append(
            f"| {p.client} | {p.kind} | {p.concurrency} | {p.requests} | {p.cpu_us:.1f} | {p.user_us:.1f} "
            f"| {p.per_second:,.0f} | {p.chunks:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _best(rounds: list[list[Phase]]) -> list[Phase]:
    """Per phase, the round with the least CPU: the one least disturbed by the rest of the host."""
    return [min(same, key=lambda p: p.cpu_us) for same in zip(*rounds, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_client_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per small phase (streams: a tenth)")
    parser.add_argument("--concurrency", default="1,32", help="comma-separated concurrency levels")
    parser.add_argument("--clients", default="glassgate,aiohttp", help="comma-separated: glassgate, aiohttp")
    parser.add_argument("--kinds", default="small,stream", help="comma-separated: small, stream")
    parser.add_argument("--rounds", type=int, default=3, help="alternate the clients this many times; best kept")
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    clients, kinds = args.clients.split(","), args.kinds.split(",")
    port = _free_port()
    mock = subprocess.Popen(
        [sys.executable, "-m", "bench.mock_upstream", "--port", str(port)],
        cwd=_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, mock)
        rounds: list[list[Phase]] = []
        for index in range(args.rounds):
            sys.stderr.write(f"round {index + 1}/{args.rounds}\n")
            rounds.append(
                [p for c in clients for p in uvloop.run(_phases(c, port, kinds, concurrencies, args.requests))]
            )
    finally:
        mock.terminate()
        mock.wait(timeout=10)
    sys.stdout.write(_table(_best(rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
