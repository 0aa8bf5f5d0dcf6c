"""Start the real pieces tests need: an embedded PostgreSQL, fake vendors, a Glassgate process."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ADMIN_TOKEN = "test-admin-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Create database `name` (optionally from a template) and return its URL."""
    import asyncio

    import asyncpg

    async def create() -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            clause = f" TEMPLATE {template}" if template else ""
            await connection.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await connection.close()

    asyncio.run(create())
    return with_database(admin_url, name)


def with_database(url: str, name: str) -> str:
    """The same server, another database (pgserver URLs look like postgresql://postgres:@/postgres?host=/dir)."""
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@dataclass
class GlassgateProcess:
    """A `glassgate serve` subprocess and the ways tests talk to it."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    verify: ssl.SSLContext | bool = True  # trusts Glassgate's CA when it serves HTTPS
    config_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # the server's environment, which the CLI gets too

    def cli_json(self, *args: str) -> Any:
        """`glassgate ARGS --json --config <the server's>`, run as the server runs; its JSON output."""
        assert self.config_path is not None
        finished = subprocess.run(
            [sys.executable, "-m", "glassgate", *args, "--json", "--config", str(self.config_path)],
            capture_output=True,
            check=True,
            env=self.env,
            cwd=self.config_path.parent,
        )
        return json.loads(finished.stdout)

    def api(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(
            f"{self.url}/api/v1{path}",
            params=params,
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
            verify=self.verify,
        )

    def span(self, span_id: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """The stored span, waiting for the batch writer to flush it."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = self.api(f"/spans/{span_id}")
            if response.status_code == 200:
                result: dict[str, Any] = response.json()
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"span {span_id} not stored after {timeout_s}s: {response.status_code} {response.text}"
                )
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def openai_config(data_dir: Path, database_url: str, upstream_url: str, **extra: Any) -> dict[str, Any]:
    """The usual test config: one `openai` upstream, the given database, the harness's admin token."""
    return {
        "data_dir": str(data_dir),
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "upstreams": {"openai": {"vendor": "openai", "url": upstream_url}},
        **extra,
    }


def start_glassgate(
    config: dict[str, Any], workdir: Path, env: dict[str, str] | None = None, tls_ca: Path | None = None
) -> GlassgateProcess:
    """Write the config, start `python -m glassgate serve`, wait until /readyz answers 200.

    With `tls_ca`, Glassgate serves HTTPS (its config names the certificate) and the
    harness's own requests trust that CA.
    """
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "glassgate.yaml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = workdir / "glassgate.log"
    process_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("GLASSGATE_", "OPENAI_", "AZURE_"))
    }
    process_env.update(env or {})
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "glassgate",
                "serve",
                "--config",
                str(config_path),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=process_env,
            cwd=workdir,
        )
    scheme = "https" if tls_ca else "http"
    handle = GlassgateProcess(
        url=f"{scheme}://127.0.0.1:{port}",
        process=process,
        log_path=log_path,
        verify=ssl.create_default_context(cafile=str(tls_ca)) if tls_ca else True,
        config_path=config_path,
        env=process_env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"glassgate exited with {process.returncode}:\n{handle.log()}")
        try:
            if httpx.get(f"{handle.url}/readyz", timeout=1, verify=handle.verify).status_code == 200:
                return handle
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    handle.stop()
    raise RuntimeError(f"glassgate did not become ready:\n{handle.log()}")
