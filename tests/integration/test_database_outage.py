"""PostgreSQL stops while Glassgate serves: calls keep working, and the spans arrive when it returns."""

from __future__ import annotations

import contextlib
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glassgate.storage import db
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, start_glassgate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver import _commands

pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # built at import time by pgserver


class StoppablePostgres:
    """A PostgreSQL of this test's own, so stopping it cannot disturb other tests."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server = pgserver.get_server(pgdata, cleanup_mode="stop")
        self.url: str = self.server.get_uri()

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user="pgserver" if self.server.system_user else None)

    def start(self) -> None:
        args = ["-w", "-o", '-h ""', "-o", f"-k {self.pgdata}", "-l", str(self.pgdata / "log"), "start"]
        pg_ctl(args, pgdata=self.pgdata, user="pgserver" if self.server.system_user else None)


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[StoppablePostgres]:
    instance = StoppablePostgres(tmp_path / "pg")
    db.migrate(instance.url)
    yield instance
    # pgserver tracks the postmaster it started; the test restarted it, so stop it ourselves.
    with contextlib.suppress(subprocess.CalledProcessError):
        instance.stop()
    instance.server.cleanup()


def test_calls_succeed_while_the_database_is_down_and_spans_arrive_after(
    postgres: StoppablePostgres, tmp_path: Path
) -> None:
    vendor = FakeVendor()
    upstream = ServerThread(vendor.app()).start()
    config = {
        "data_dir": str(tmp_path / "data"),
        "database_url": postgres.url,
        "admin_token": ADMIN_TOKEN,
        "tracing": {"flush_interval_ms": 10},
        "upstreams": {"openai": {"vendor": "openai", "url": upstream.url}},
    }
    glassgate = start_glassgate(config, tmp_path / "gg")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    span_ids: list[str] = []

    def call() -> None:
        started = time.monotonic()
        response = httpx.post(
            f"{glassgate.url}/openai/v1/chat/completions", json=body, headers={"authorization": "Bearer k"}
        )
        assert response.status_code == 200
        assert time.monotonic() - started < 1.0, "a database outage must not slow the client down"
        span_ids.append(response.headers["x-glassgate-span-id"])

    try:
        for _ in range(5):
            call()
        glassgate.span(span_ids[-1])
        postgres.stop()
        for _ in range(20):
            call()
        outage = glassgate.api("/spans")
        assert outage.status_code == 503 and outage.headers["content-type"] == "application/problem+json"
        postgres.start()
        deadline = time.monotonic() + 30
        stored: set[str] = set()
        while time.monotonic() < deadline and len(stored) < len(span_ids):
            response = glassgate.api("/spans", limit=200)
            if response.status_code == 200:
                stored = {span["span_id"] for span in response.json()["data"]}
            time.sleep(0.2)
        assert stored == set(span_ids), f"{len(set(span_ids) - stored)} spans lost"
        metrics = httpx.get(f"{glassgate.url}/metrics").text
        assert "glassgate_trace_spilled 20.0" in metrics and "glassgate_trace_replayed 20.0" in metrics
        assert "glassgate_trace_dropped 0.0" in metrics
    finally:
        glassgate.stop()
        upstream.stop()
    assert "Traceback" not in glassgate.log(), glassgate.log()
