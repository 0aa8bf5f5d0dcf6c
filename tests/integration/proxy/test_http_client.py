"""The upstream HTTP client (`glassgate.proxy.http1`) against loopback servers sending exact bytes."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import ssl
import time

import pytest
import trustme

from glassgate.proxy.http1 import (
    ConnectionPool,
    UpstreamReset,
    UpstreamResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from glassgate.proxy.http1 import pool as pool_module
from tests.integration.proxy.conftest import MakePool, StartServer
from tests.integration.proxy.rawserver import Peer, answering, free_port, ok


async def read_all(response: UpstreamResponse) -> bytes:
    try:
        return b"".join([chunk async for chunk in response])
    finally:
        response.release()


async def fetch(
    pool: ConnectionPool,
    method: str = "GET",
    target: str = "/",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> tuple[UpstreamResponse, bytes]:
    response = await pool.request(method, target, headers or [], body)
    return response, await read_all(response)


# --- response bodies ---------------------------------------------------------------------


async def test_content_length_body_and_raw_headers(serve: StartServer, make_pool: MakePool) -> None:
    raw = (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-ID: req_1\r\n"
        b'set-cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 11\r\n\r\n{"ok":true}'
    )
    server = await serve(answering(raw))
    response, body = await fetch(make_pool(server.port))
    assert response.status == 201
    assert body == b'{"ok":true}'
    assert response.raw_headers == [
        (b"Content-Type", b"application/json"),
        (b"X-Request-ID", b"req_1"),
        (b"set-cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
        (b"Content-Length", b"11"),
    ]
    assert response.header("x-request-id") == "req_1"
    assert response.header("set-cookie") == "a=1"  # the first of several
    assert response.header("absent") is None


@pytest.mark.parametrize("piece", [1, 3, 7])
async def test_chunked_body_split_at_odd_places(serve: StartServer, make_pool: MakePool, piece: int) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"1;ext\r\n,\r\n"
        b"0000000006\r\n world\r\n"
        b"0\r\nX-Trailer: t\r\n\r\n"
    )
    pieces = [raw[i : i + piece] for i in range(0, len(raw), piece)]

    async def handler(peer: Peer) -> None:
        while await peer.read_request():
            await peer.send(*pieces, pause=0.001)

    server = await serve(handler)
    pool = make_pool(server.port)
    response, body = await fetch(pool)
    assert body == b"hello, world"
    assert response.raw_headers == [(b"Transfer-Encoding", b"chunked")]  # trailers are dropped
    _, again = await fetch(pool)
    assert again == b"hello, world"
    assert server.connections == 1  # a chunked body ends cleanly: the connection is reused


async def test_chunks_are_yielded_as_they_arrive(serve: StartServer, make_pool: MakePool) -> None:
    release = asyncio.Event()

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfirs\r\n")
        await release.wait()
        await peer.send(b"4\r\nlast\r\n0\r\n\r\n")

    server = await serve(handler)
    response = await make_pool(server.port).request("GET", "/", [], b"")
    chunks = aiter(response)
    assert await anext(chunks) == b"firs"  # before the server sent the rest
    release.set()
    assert await read_all(response) == b"last"


async def test_close_delimited_body(serve: StartServer, make_pool: MakePool) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ", b"the end")
        peer.writer.close()

    server = await serve(handler)
    pool = make_pool(server.port)
    assert (await fetch(pool))[1] == b"until the end"
    assert (await fetch(pool))[1] == b"until the end"
    assert server.connections == 2


async def test_gzip_body_is_passed_through_undecoded(serve: StartServer, make_pool: MakePool) -> None:
    compressed = gzip.compress(b'{"text": "' + b"squeeze me " * 200 + b'"}')
    server = await serve(answering(ok(compressed, b"Content-Encoding: gzip")))
    response, body = await fetch(make_pool(server.port))
    assert body == compressed
    assert response.header("content-encoding") == "gzip"


async def test_head_has_no_body_and_keeps_the_connection(serve: StartServer, make_pool: MakePool) -> None:
    head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"
    server = await serve(answering(head_answer, ok(b"after head")))
    pool = make_pool(server.port)
    response, body = await fetch(pool, "HEAD")
    assert (response.status, body, response.header("content-length")) == (200, b"", "1000")
    assert (await fetch(pool))[1] == b"after head"
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 500\r\n\r\n',
    ],
)
async def test_204_and_304_have_no_body(serve: StartServer, make_pool: MakePool, answer: bytes) -> None:
    server = await serve(answering(answer, ok(b"next")))
    pool = make_pool(server.port)
    response, body = await fetch(pool)
    assert response.status in (204, 304)
    assert body == b""
    assert (await fetch(pool))[1] == b"next"
    assert server.connections == 1


async def test_interim_103_is_skipped(serve: StartServer, make_pool: MakePool) -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
    server = await serve(answering(early + ok(b"final", b"X-Final: yes")))
    response, body = await fetch(make_pool(server.port))
    assert (response.status, body) == (200, b"final")
    assert response.raw_headers == [(b"X-Final", b"yes"), (b"Content-Length", b"5")]


async def test_five_megabyte_bodies_both_ways(serve: StartServer, make_pool: MakePool) -> None:
    payload = os.urandom(5 * 1024 * 1024)

    async def handler(peer: Peer) -> None:
        while request := await peer.read_request():
            received = request.partition(b"\r\n\r\n")[2]
            digest = hashlib.sha256(received).hexdigest().encode()
            await peer.send(ok(payload, b"X-Received-SHA256: " + digest))

    server = await serve(handler)
    response, body = await fetch(make_pool(server.port), "PUT", "/blob", body=payload)
    assert hashlib.sha256(body).digest() == hashlib.sha256(payload).digest()
    assert response.header("x-received-sha256") == hashlib.sha256(payload).hexdigest()


async def test_chunked_five_megabytes(serve: StartServer, make_pool: MakePool) -> None:
    payload = os.urandom(5 * 1024 * 1024)
    step = 100_003  # odd chunk sizes, so chunk and read boundaries never line up
    pieces = [payload[i : i + step] for i in range(0, len(payload), step)]
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    server = await serve(answering(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + encoded + b"0\r\n\r\n"))
    _, body = await fetch(make_pool(server.port))
    assert body == payload


# --- connection reuse ----------------------------------------------------------------------


async def test_keep_alive_uses_one_connection_for_ten_requests(serve: StartServer, make_pool: MakePool) -> None:
    server = await serve(answering(ok(b"again")))
    pool = make_pool(server.port)
    for _ in range(10):
        assert (await fetch(pool))[1] == b"again"
    assert server.connections == 1
    assert len(server.requests) == 10


async def test_connection_close_is_honoured(serve: StartServer, make_pool: MakePool) -> None:
    closed_by_client: list[bool] = []

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(ok(b"bye", b"Connection: close"))
        closed_by_client.append(await peer.wait_eof())  # the server itself does not close

    server = await serve(handler)
    pool = make_pool(server.port)
    assert (await fetch(pool))[1] == b"bye"
    assert (await fetch(pool))[1] == b"bye"
    assert server.connections == 2
    await asyncio.sleep(0.05)
    assert closed_by_client[:1] == [True]


async def test_http10_response_is_not_reused(serve: StartServer, make_pool: MakePool) -> None:
    server = await serve(answering(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    pool = make_pool(server.port)
    await fetch(pool)
    await fetch(pool)
    assert server.connections == 2


async def test_stale_connection_is_retried_once_on_a_new_one(serve: StartServer, make_pool: MakePool) -> None:
    async def handler(peer: Peer) -> None:
        if peer.index == 0:
            await peer.read_request()
            await peer.send(ok(b"first"))
            await peer.read_request()  # the keep-alive race: it arrives as the server closes
            return
        await answering(ok(b"retried"))(peer)

    server = await serve(handler)
    pool = make_pool(server.port)
    assert (await fetch(pool))[1] == b"first"
    response, body = await fetch(pool, "POST", "/again", [("Content-Type", "text/plain")], b"payload")
    assert (response.status, body) == (200, b"retried")
    assert server.connections == 2
    assert server.requests[1] == server.requests[2]  # the same bytes, sent once more


async def test_fresh_connection_closed_without_answer_is_not_retried(serve: StartServer, make_pool: MakePool) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()

    server = await serve(handler)
    with pytest.raises(UpstreamUnavailable, match="without answering"):
        await fetch(make_pool(server.port), "POST", "/x", body=b"{}")
    assert server.connections == 1


async def test_partial_answer_on_reused_connection_is_not_retried(serve: StartServer, make_pool: MakePool) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(ok(b"first"))
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 O")

    server = await serve(handler)
    pool = make_pool(server.port)
    await fetch(pool)
    with pytest.raises(UpstreamUnavailable):
        await fetch(pool)
    assert server.connections == 1


async def test_idle_connection_expires(
    serve: StartServer, make_pool: MakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "IDLE_TIMEOUT_S", 0.05)
    server = await serve(answering(ok()))
    pool = make_pool(server.port)
    await fetch(pool)
    await asyncio.sleep(0.1)
    await fetch(pool)
    assert server.connections == 2


async def test_bytes_after_a_response_drop_the_connection(serve: StartServer, make_pool: MakePool) -> None:
    server = await serve(answering(ok(b"one") + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"))
    pool = make_pool(server.port)
    assert (await fetch(pool))[1] == b"one"
    await asyncio.sleep(0.05)
    assert (await fetch(pool))[1] == b"one"
    assert server.connections == 2


# --- what is sent --------------------------------------------------------------------------


async def test_request_bytes_are_sent_exactly(serve: StartServer, make_pool: MakePool) -> None:
    server = await serve(answering(ok()))
    pool = make_pool(server.port)
    headers = [("X-Mixed-Case", "Value"), ("authorization", "Bearer sk-test"), ("Content-Type", "application/json")]
    await fetch(pool, "POST", "/v1/a%3Ab%2Fc/models?x=%2F&y=%3A", headers, b'{"a":1}')
    await fetch(pool, "GET", "/v1/models")
    await fetch(pool, "GET", "/signed", [("x-amz-date", "20250101T000000Z"), ("Host", "bedrock.example:443")])
    host = f"127.0.0.1:{server.port}".encode()
    assert server.requests == [
        b"POST /v1/a%3Ab%2Fc/models?x=%2F&y=%3A HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"X-Mixed-Case: Value\r\nauthorization: Bearer sk-test\r\nContent-Type: application/json\r\n"
        b'Content-Length: 7\r\n\r\n{"a":1}',
        b"GET /v1/models HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /signed HTTP/1.1\r\nx-amz-date: 20250101T000000Z\r\nHost: bedrock.example:443\r\n\r\n",
    ]


async def test_post_without_body_sends_content_length_zero(serve: StartServer, make_pool: MakePool) -> None:
    server = await serve(answering(ok()))
    await fetch(make_pool(server.port), "POST", "/empty")
    assert server.requests[0].endswith(b"\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/", [("X-Evil", "a\r\nInjected: 1")]),
        ("/", [("X-Evil", "a\nInjected: 1")]),
        ("/", [("X-Evil\r\nInjected", "1")]),
        ("/", [("X-Nul", "a\0b")]),
        ("/", [("Content-Length", "5")]),
        ("/", [("transfer-encoding", "chunked")]),
        ("/a b", []),
        ("/a\r\nHost: x", []),
        ("http://elsewhere/", []),
        ("/", [("X-Snowman", "☃")]),
    ],
)
async def test_unsafe_heads_are_refused_before_connecting(
    serve: StartServer, make_pool: MakePool, target: str, headers: list[tuple[str, str]]
) -> None:
    server = await serve(answering(ok()))
    with pytest.raises(ValueError):
        await make_pool(server.port).request("GET", target, headers, b"")
    assert server.connections == 0


# --- failures ----------------------------------------------------------------------------


async def test_refused_port_is_unavailable(make_pool: MakePool) -> None:
    port = free_port()
    pool = make_pool(port, max_connections=1)
    for _ in range(2):  # the failed attempt gave its slot back
        with pytest.raises(UpstreamUnavailable) as caught:
            await pool.request("POST", "/", [("authorization", "Bearer sk-secret")], b"{}")
        message = str(caught.value)
        assert f"127.0.0.1:{port}" in message
        assert "sk-secret" not in message


async def test_unknown_host_is_unavailable(make_pool: MakePool) -> None:
    with pytest.raises(UpstreamUnavailable, match=r"nonexistent\.invalid"):
        await make_pool(80, host="nonexistent.invalid").request("GET", "/", [], b"")


async def test_connect_timeout_covers_the_tls_handshake(serve: StartServer, make_pool: MakePool) -> None:
    async def silent(peer: Peer) -> None:
        await peer.wait_eof()  # accepts TCP, never answers the TLS ClientHello

    server = await serve(silent)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="connecting"):
        await make_pool(server.port, scheme="https", connect_timeout=0.2).request("GET", "/", [], b"")
    assert time.monotonic() - started < 2


async def test_read_timeout_waiting_for_headers(serve: StartServer, make_pool: MakePool) -> None:
    async def slow(peer: Peer) -> None:
        await peer.read_request()
        await peer.wait_eof()

    server = await serve(slow)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="response headers"):
        await make_pool(server.port, read_timeout=0.2).request("GET", "/", [], b"")
    assert 0.15 < time.monotonic() - started < 2


async def test_read_timeout_between_body_chunks(serve: StartServer, make_pool: MakePool) -> None:
    async def stalls(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await peer.wait_eof()

    server = await serve(stalls)
    response = await make_pool(server.port, read_timeout=0.2).request("GET", "/", [], b"")
    chunks: list[bytes] = []
    with pytest.raises(UpstreamTimeout, match="body"):
        async for chunk in response:
            chunks.append(chunk)
    response.release()
    assert chunks == [b"partial"]


async def test_slow_but_steady_body_is_not_a_timeout(serve: StartServer, make_pool: MakePool) -> None:
    events = [b"data: %d\n\n" % i for i in range(8)]
    parts = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
    parts += [b"%x\r\n%s\r\n" % (len(event), event) for event in events] + [b"0\r\n\r\n"]

    async def trickles(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(*parts, pause=0.08)

    server = await serve(trickles)
    started = time.monotonic()
    _, body = await fetch(make_pool(server.port, read_timeout=0.3))
    assert body == b"".join(events)
    assert time.monotonic() - started > 0.5  # longer in total than the read timeout


async def test_slow_upload_is_not_a_read_timeout(serve: StartServer, make_pool: MakePool) -> None:
    payload = os.urandom(48 * 1024 * 1024)  # more than the kernel's socket buffers hold

    async def busy(peer: Peer) -> None:
        await asyncio.sleep(0.6)  # not reading the request yet: the client's writes back up
        request = await peer.read_request()
        await peer.send(ok(b"%d" % len(request.partition(b"\r\n\r\n")[2])))

    server = await serve(busy)
    _, body = await fetch(make_pool(server.port, read_timeout=0.3), "PUT", "/upload", body=payload)
    assert body == b"%d" % len(payload)


@pytest.mark.parametrize("how", ["eof", "reset"])
async def test_connection_lost_mid_body_is_a_reset(serve: StartServer, make_pool: MakePool, how: str) -> None:
    async def breaks(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await asyncio.sleep(0.05)
        if how == "reset":
            peer.reset()

    server = await serve(breaks)
    response = await make_pool(server.port).request("GET", "/", [], b"")
    chunks: list[bytes] = []
    with pytest.raises(UpstreamReset):
        async for chunk in response:
            chunks.append(chunk)
    response.release()
    assert chunks == [b"0123456789"]


async def test_chunked_body_cut_short_is_a_reset(serve: StartServer, make_pool: MakePool) -> None:
    async def breaks(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")

    server = await serve(breaks)
    with pytest.raises(UpstreamReset):
        await fetch(make_pool(server.port))


async def test_malformed_response_is_unavailable(serve: StartServer, make_pool: MakePool) -> None:
    server = await serve(answering(b"SPDY/9 200 OK\r\n\r\n"))
    with pytest.raises(UpstreamUnavailable, match="invalid response"):
        await fetch(make_pool(server.port))


# --- pool limits, release, cancellation, close ------------------------------------------------


async def test_max_connections_queues_requests_in_order(serve: StartServer, make_pool: MakePool) -> None:
    async def slow(peer: Peer) -> None:
        while await peer.read_request():
            await asyncio.sleep(0.05)
            await peer.send(ok())

    server = await serve(slow)
    pool = make_pool(server.port, max_connections=2)
    tasks = []
    for index in range(6):
        tasks.append(asyncio.create_task(fetch(pool, "GET", f"/{index}")))
        await asyncio.sleep(0.001)  # a known submission order
    await asyncio.gather(*tasks)
    assert server.connections == 2
    assert server.max_open == 2
    targets = [request.split(b" ")[1] for request in server.requests]
    assert [set(targets[i : i + 2]) for i in (0, 2, 4)] == [{b"/0", b"/1"}, {b"/2", b"/3"}, {b"/4", b"/5"}]


async def test_cancelled_waiter_gives_its_turn_back(serve: StartServer, make_pool: MakePool) -> None:
    gate = asyncio.Event()

    async def gated(peer: Peer) -> None:
        while await peer.read_request():
            await gate.wait()
            await peer.send(ok())

    server = await serve(gated)
    pool = make_pool(server.port, max_connections=1)
    first = asyncio.create_task(fetch(pool))
    await asyncio.sleep(0.05)
    queued = asyncio.create_task(fetch(pool))
    await asyncio.sleep(0.01)
    queued.cancel()
    gate.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert (await fetch(pool))[1] == b"ok"
    assert server.connections == 1


async def test_cancelled_request_closes_its_connection(serve: StartServer, make_pool: MakePool) -> None:
    closed: list[bool] = []

    async def handler(peer: Peer) -> None:
        if peer.index == 0:
            await peer.read_request()
            closed.append(await peer.wait_eof())
            return
        await answering(ok())(peer)

    server = await serve(handler)
    pool = make_pool(server.port, max_connections=1)
    pending = asyncio.create_task(fetch(pool))
    await asyncio.sleep(0.05)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert (await fetch(pool))[1] == b"ok"  # the slot came back
    assert server.connections == 2
    assert len(closed) == 1


async def test_release_without_reading_a_complete_body_keeps_the_connection(
    serve: StartServer, make_pool: MakePool
) -> None:
    server = await serve(answering(ok(b"unread")))
    pool = make_pool(server.port)
    response = await pool.request("GET", "/", [], b"")
    response.release()
    response.release()  # idempotent
    await fetch(pool)
    assert server.connections == 1


async def test_release_mid_body_closes_the_connection(serve: StartServer, make_pool: MakePool) -> None:
    big = os.urandom(4 * 1024 * 1024)
    server = await serve(answering(ok(big)))
    pool = make_pool(server.port, max_connections=1)
    response = await pool.request("GET", "/", [], b"")
    first = await anext(aiter(response))
    assert big.startswith(first)
    response.release()
    with pytest.raises(UpstreamReset):
        async for _ in response:
            pass
    assert (await fetch(pool))[1] == big
    assert server.connections == 2


async def test_backpressure_bounds_the_buffer(serve: StartServer, make_pool: MakePool) -> None:
    size = 64 * 1024 * 1024  # well past what the kernel socket buffers can absorb (~36 MiB here)
    block = os.urandom(1024 * 1024)
    sent = 0

    async def firehose(peer: Peer) -> None:
        nonlocal sent
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        while sent < size:
            await peer.send(block)
            sent += len(block)

    server = await serve(firehose)
    # A short read timeout too: a paused socket is the caller's silence, not the upstream's.
    response = await make_pool(server.port, read_timeout=0.2).request("GET", "/", [], b"")
    await asyncio.sleep(0.5)  # the caller does not read
    assert response._buffered <= 1024 * 1024
    assert sent < size  # the upstream was made to wait
    received = 0
    async for chunk in response:
        received += len(chunk)
        assert response._buffered <= 1024 * 1024
    response.release()
    assert received == size


async def test_close_fails_requests_in_flight_and_refuses_new_ones(serve: StartServer, make_pool: MakePool) -> None:
    async def endless(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await peer.wait_eof()

    server = await serve(endless)
    pool = make_pool(server.port)
    response = await pool.request("GET", "/", [], b"")
    await pool.close()
    with pytest.raises(UpstreamReset):
        async for _ in response:
            pass
    response.release()
    with pytest.raises(UpstreamUnavailable, match="closed"):
        await pool.request("GET", "/", [], b"")


# --- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def server_context(authority: trustme.CA, names: list[str]) -> tuple[ssl.SSLContext, list[str | None]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*names).configure_cert(context)
    seen: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: seen.append(name)
    return context, seen


async def test_tls_with_sni_and_keep_alive(serve: StartServer, make_pool: MakePool, authority: trustme.CA) -> None:
    context, seen = server_context(authority, ["localhost"])
    server = await serve(answering(ok(b"secure")), context)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    pool = make_pool(server.port, scheme="https", host="localhost", ssl_context=client)
    assert (await fetch(pool))[1] == b"secure"
    assert (await fetch(pool))[1] == b"secure"
    assert server.connections == 1
    assert seen == ["localhost"]
    assert server.requests[0].startswith(b"GET / HTTP/1.1\r\nHost: localhost:%d\r\n" % server.port)


async def test_tls_untrusted_certificate_is_unavailable(
    serve: StartServer, make_pool: MakePool, authority: trustme.CA
) -> None:
    context, _ = server_context(authority, ["localhost"])
    server = await serve(answering(ok()), context)
    with pytest.raises(UpstreamUnavailable, match="certificate"):
        await make_pool(server.port, scheme="https", host="localhost").request("GET", "/", [], b"")
