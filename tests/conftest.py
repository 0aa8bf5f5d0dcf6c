"""Session-wide real services: one embedded PostgreSQL (pgvector included) and a migrated template,
and (for the rate limit tests) a private redis-server."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from glassgate.storage import db
from tests.harness import create_database, free_port

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded PostgreSQL's admin URL, for this test session only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    data = tmp_path_factory.mktemp("pg")
    server = pgserver.get_server(Path(data), cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> str:
    """A database migrated once; tests clone it (milliseconds) instead of migrating again."""
    url = create_database(postgres_url, "glassgate_template")
    db.migrate(url)
    return "glassgate_template"


@pytest.fixture
def database_url(postgres_url: str, template_database: str) -> str:
    """A fresh, migrated database for one test."""
    return create_database(postgres_url, f"test_{next(_counter)}", template=template_database)


class RedisServer:
    """A private `redis-server` (Debian's package) on a free loopback port, without persistence.

    `stop()` and `start()` again on the same port stand in for an outage; `command()` speaks
    inline RESP for the few things tests ask it directly.
    """

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
        self._binary = binary
        self._directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self._directory / "redis.log").open("ab") as log:
            options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            self._process = subprocess.Popen(
                [self._binary, *options, "--dir", str(self._directory)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.command("PING") == "+PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None

    def command(self, *words: str) -> str:
        """Send one command; the first line of the reply (`+OK`, `:3`, `$-1`)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(" ".join(words).encode() + b"\r\n")
            return sock.makefile("rb").readline().decode().rstrip("\r\n")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for this test session; tests that stop it start it again."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
