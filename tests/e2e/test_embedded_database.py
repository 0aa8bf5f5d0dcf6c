"""What `make run` does for a new user: no database_url, an embedded PostgreSQL under data_dir."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil

from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import start_glassgate


def embedded_postgres_running(data_dir: Path) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        running = [
            process
            for process in psutil.process_iter(["cmdline"])
            if str(data_dir) in " ".join(process.info["cmdline"] or [])
        ]
        if not running:
            return False
        time.sleep(0.1)
    return True


def test_embedded_database_persists_across_restarts(tmp_path: Path) -> None:
    vendor = FakeVendor()
    upstream = ServerThread(vendor.app()).start()
    data_dir = tmp_path / "data"
    config = {"data_dir": str(data_dir), "upstreams": {"openai": {"vendor": "openai", "url": upstream.url}}}
    try:
        first = start_glassgate(config, tmp_path / "run1")
        token_path = data_dir / "admin_token"
        token = token_path.read_text().strip()
        assert token_path.stat().st_mode & 0o777 == 0o600
        assert token in first.log(), "a generated admin token is printed once for the new user"
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
        response = httpx.post(
            f"{first.url}/openai/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-x"}
        )
        assert response.status_code == 200
        span_id = response.headers["x-glassgate-span-id"]
        headers = {"authorization": f"Bearer {token}"}
        for _ in range(100):
            stored = httpx.get(f"{first.url}/api/v1/spans/{span_id}", headers=headers)
            if stored.status_code == 200:
                break
            time.sleep(0.05)
        assert stored.status_code == 200 and stored.json()["input_tokens"] == 12
        first.stop()

        second = start_glassgate(config, tmp_path / "run2")
        assert token not in second.log(), "the token is printed only when it is generated"
        again = httpx.get(f"{second.url}/api/v1/spans/{span_id}", headers=headers)
        assert again.status_code == 200, "spans survive a restart, and the same admin token still works"
        assert second.stop() == 0, "SIGTERM drains and exits cleanly"
        assert not embedded_postgres_running(data_dir), "stopping Glassgate stops its embedded PostgreSQL"
    finally:
        upstream.stop()
