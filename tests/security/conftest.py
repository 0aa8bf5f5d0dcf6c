"""One Glassgate for the security suite, between a recording upstream and a sentinel it must never reach.

Upstreams (both on the recording upstream, under base paths the tests can see):
    openai   passthrough, base path /base
    held     Glassgate holds a static key, base path /held; clients send Glassgate keys
The proxy's body limit is 1 MiB, so oversized bodies are cheap to send.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import GlassgateProcess, create_database, openai_config, start_glassgate
from tests.security.fakes import RecordingUpstream, Sentinel

MAX_BODY_BYTES = 1024 * 1024
HELD_KEY = "sk-held-by-glassgate-0123456789"
GLASSGATE = [sys.executable, "-m", "glassgate"]


@dataclass
class Stack:
    glassgate: GlassgateProcess
    upstream: RecordingUpstream
    upstream_host: str  # the Host header the upstream must see: its own address, from config
    sentinel: Sentinel
    glassgate_key: str  # for the `held` upstream (project "security")
    config_path: Path

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.glassgate.url.removeprefix("http://").split(":")
        return host, int(port)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str) -> Iterator[Stack]:
    sentinel = Sentinel()
    upstream = RecordingUpstream(redirect_to=sentinel.address)
    workdir = tmp_path_factory.mktemp("security")
    database_url = create_database(postgres_url, "security", template=template_database)
    config = openai_config(
        workdir / "data",
        database_url,
        upstream.url + "/base",
        proxy={"max_body_bytes": MAX_BODY_BYTES},
        embeddings={"enabled": False},
        evals={"worker": False},
    )
    config["upstreams"]["held"] = {
        "vendor": "openai",
        "url": upstream.url + "/held",
        "auth": {"type": "static", "key": HELD_KEY},
    }
    glassgate = start_glassgate(config, workdir)
    config_path = workdir / "glassgate.yaml"
    issued = subprocess.run(
        [*GLASSGATE, "keys", "create", "--project", "security", "--json", "--config", str(config_path)],
        capture_output=True,
        check=True,
    )
    try:
        yield Stack(
            glassgate=glassgate,
            upstream=upstream,
            upstream_host=upstream.url.removeprefix("http://"),
            sentinel=sentinel,
            glassgate_key=json.loads(issued.stdout)["key"],
            config_path=config_path,
        )
    finally:
        glassgate.stop()
        upstream.stop()
        sentinel.stop()


def raw_exchange(address: tuple[str, int], request: bytes, timeout_s: float = 10.0) -> bytes:
    """Send bytes exactly as given (HTTP clients normalise what these tests need to send) and read the answer.

    Reads until the server closes or the answer's Content-Length is complete.
    """
    with socket.create_connection(address, timeout=timeout_s) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
            head, separator, body = received.partition(b"\r\n\r\n")
            if separator:
                length = _content_length(head)
                if length is not None and len(body) >= length:
                    break
        return received


def status_of(answer: bytes) -> int | None:
    """The status code of a raw answer; None when the server closed without one."""
    if not answer.startswith(b"HTTP/"):
        return None
    return int(answer.split(b" ", 2)[1])


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None
