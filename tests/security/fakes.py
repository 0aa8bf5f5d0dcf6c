"""What the security suite watches: a sentinel no request may ever reach, and an upstream that records.

`Sentinel` listens on a loopback port and records every connection made to it. Attacks
name its address (an absolute URL, a Host header, a path that looks like a host, a redirect):
Glassgate must never connect there, and the tests assert it saw nothing.

`RecordingUpstream` is the only host the config names; it records the method, the raw request
target and the headers of each request, and answers small JSON (or a redirect to the sentinel,
for `.../redirect`, which Glassgate must relay and never follow).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import dataclass
from io import BufferedIOBase


class Sentinel:
    """A TCP listener that records who connected and what they sent first."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.connections: list[bytes] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1.0)
                try:
                    first = connection.recv(4096)
                except OSError:
                    first = b""
                self.connections.append(first or b"<connected, sent nothing>")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()


@dataclass(frozen=True)
class Seen:
    method: str
    raw_path: str  # path and query exactly as they arrived
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class RecordingUpstream:
    """The configured upstream: records each request exactly as its bytes arrived, answers a little JSON.

    A raw HTTP/1.1 server (keep-alive, Content-Length bodies, as Glassgate sends them): a web
    framework would refuse or normalise the odd paths these tests need to see arrive intact.
    """

    def __init__(self, redirect_to: str) -> None:
        self.redirect_to = redirect_to
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while upstream._serve_one(self.rfile, self.wfile):
                    pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def since(self, count: int) -> list[Seen]:
        with self._lock:
            return self.seen[count:]

    def _serve_one(self, rfile: BufferedIOBase, wfile: BufferedIOBase) -> bool:
        line = rfile.readline(1 << 20)
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while (header := rfile.readline(1 << 20)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        length = int(next((value for name, value in headers if name.lower() == "content-length"), "0"))
        seen = Seen(method, target, headers, rfile.read(length) if length else b"")
        with self._lock:
            self.seen.append(seen)
        if target.split("?", 1)[0].endswith("/redirect"):
            status, extra, body = "307 Temporary Redirect", f"location: http://{self.redirect_to}/stolen\r\n", b""
        else:
            status, extra, body = "200 OK", "content-type: application/json\r\n", json.dumps(_ANSWER).encode()
        wfile.write(f"HTTP/1.1 {status}\r\n{extra}content-length: {len(body)}\r\n\r\n".encode() + body)
        wfile.flush()
        return True


_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
