"""Issue 8: slow-loris clients (a head or a body dribbled a byte a second) while others call as usual.

The scenario lives in bench/faults/slowloris.py (`python -m bench.faults --scenario slowloris`);
here with short deadlines (`glassgate serve --header-timeout 1 --body-timeout 2`) and a few
hundred slow clients, held to the same checks, the healthy calls' latency bound relaxed (a
short run on a shared machine is noisy). A second test holds the server protocol itself
(glassgate.cli.http_deadlines) to each of its deadlines, on a bare uvicorn.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from bench.faults.scenario import Options
from bench.faults.slowloris import DEADLINE_SLACK_S, run_slowloris
from bench.faults.traffic import HEALTHY
from bench.procs import free_port

from glassgate.cli.http_deadlines import with_deadlines


@pytest.mark.timeout(240)
def test_slow_clients_are_cut_off_at_their_deadline_and_cost_the_others_nothing() -> None:
    report = run_slowloris(Options(warmup_s=2.0, recovery_s=2.0, loris=300, header_timeout_s=1.0, body_timeout_s=2.0))

    assert report.failed == 0, "no healthy call failed"
    for kind in HEALTHY:
        before = report.latency["warmup"][kind.name].p99_ms
        during = report.latency["slowloris"][kind.name].p99_ms
        assert before is not None and during is not None
        assert during <= max(5 * before, before + 250.0), f"{kind.name}: p99 {before} → {during} ms"
    for loris, deadline in ((report.head, 1.0), (report.body, 2.0)):
        assert loris.connected == loris.clients == 150
        assert loris.never_closed == 0, "no slow connection is held forever"
        assert loris.closed_by_server == loris.clients
        longest = loris.closed_after_s["max"]
        # From the client's connect (a hair after the server's accept) to the server's close.
        assert longest is not None and deadline - 0.1 <= longest <= deadline + DEADLINE_SLACK_S
    assert report.body.answered_408 == report.body.clients, "a slow body is answered 408"
    assert report.body_spans == {"cancelled": report.body.clients}, "one cancelled span per cut-off body"
    assert report.body_upstream_deliveries == 0, "a partial body never goes upstream"
    # Sampled every 0.5 s: the slow bodies alone stay connected long enough to be seen for sure.
    assert report.fds["peak"] >= report.fds["baseline"] + 140, "the slow clients were connected at once"
    assert report.fds["end"] <= report.fds["baseline"] + 20, report.fds
    assert report.log_problems == []


class _Recorder:
    """A tiny ASGI app: answers `size` bytes (from the query) and notes how each request ended."""

    def __init__(self) -> None:
        self.ended: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.ended.append("disconnected while reading the body")
                return
            if not message.get("more_body"):
                break
        size = int(scope["query_string"] or b"2")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % size)]})
        for offset in range(0, size, 65536):
            await send({"type": "http.response.body", "body": b"x" * min(65536, size - offset), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.ended.append("answered")


@pytest.fixture
def deadline_server() -> Iterator[tuple[int, _Recorder]]:
    """uvicorn with Glassgate's protocol (0.5 s for a head, 1 s for a body or an unread answer)."""
    with _serving(head_timeout_s=0.5, body_timeout_s=1.0) as served:
        yield served


@contextlib.contextmanager
def _serving(head_timeout_s: float, body_timeout_s: float) -> Iterator[tuple[int, _Recorder]]:
    app, port = _Recorder(), free_port()
    deadlines = with_deadlines(head_timeout_s, body_timeout_s)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=deadlines, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port, app
    server.should_exit = True
    thread.join(10)


def _closed_after(sock: socket.socket) -> tuple[float, bytes]:
    """Seconds until the server closes the connection, and what it wrote before."""
    started, received = time.monotonic(), b""
    sock.settimeout(5)
    with contextlib.suppress(ConnectionResetError):
        while piece := sock.recv(65536):
            received += piece
    return time.monotonic() - started, received


def _answered(sock: socket.socket) -> bytes:
    """The whole answer to one request: its head and its 2-byte body."""
    answer = b""
    while not answer.endswith(b"\r\n\r\nxx"):
        piece = sock.recv(1024)
        assert piece, f"closed after {answer!r}"
        answer += piece
    return answer


def test_the_server_protocol_bounds_heads_bodies_and_unread_answers(deadline_server: tuple[int, _Recorder]) -> None:
    port, app = deadline_server
    with socket.create_connection(("127.0.0.1", port)) as idle:  # connects, sends nothing
        waited, _ = _closed_after(idle)
        assert 0.4 <= waited <= 2.0
    with socket.create_connection(("127.0.0.1", port)) as huge:  # a head past 64 KiB, sent at once
        huge.sendall(b"GET / HTTP/1.1\r\nx-big: " + b"a" * 70_000)
        _, answer = _closed_after(huge)
        assert answer.startswith(b"HTTP/1.1 431 ")
    with socket.create_connection(("127.0.0.1", port)) as slow_body:
        slow_body.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nab")
        waited, answer = _closed_after(slow_body)
        assert answer.startswith(b"HTTP/1.1 408 ") and waited <= 2.0
    with socket.create_connection(("127.0.0.1", port)) as unread:  # asks for 64 MB and reads none of it
        unread.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        unread.sendall(b"GET /?67108864 HTTP/1.1\r\nhost: x\r\n\r\n")
        time.sleep(2.5)  # the server's writes stall at once; it gives up after 1 s
        ended = list(app.ended)
    assert ended == ["disconnected while reading the body", "answered"], ended
    with socket.create_connection(("127.0.0.1", port)) as keep_alive:  # a normal client is not cut
        keep_alive.settimeout(5)
        for _ in range(2):
            keep_alive.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            assert _answered(keep_alive).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.7)  # idle between requests longer than the head deadline: keep-alive rules


def test_a_head_deadline_that_falls_before_a_pending_body_deadline_is_kept() -> None:
    # One timer per connection follows the deadline as it moves (http_deadlines._arm): here a
    # slow head's 0.5 s falls before the 5 s the previous request's body had, and must win.
    with (
        _serving(head_timeout_s=0.5, body_timeout_s=5.0) as (port, _),
        socket.create_connection(("127.0.0.1", port)) as client,
    ):
        client.settimeout(10)
        client.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\nab")
        time.sleep(0.7)  # past the head's deadline, within the body's
        client.sendall(b"cd")
        assert _answered(client).startswith(b"HTTP/1.1 200 ")
        client.sendall(b"GET / HTTP/1.1\r\nhost")  # a head that never ends
        waited, _ = _closed_after(client)
        assert 0.4 <= waited <= 2.0, waited
