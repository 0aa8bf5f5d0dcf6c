"""Arize Phoenix, a real OTLP consumer, shows the spans Glassgate exports: kind, model, tokens, messages.

Phoenix runs from its own environment (`.venv-phoenix`, made by `make install-phoenix`:
it pins anthropic 1.x) as a subprocess on loopback, offline, with a SQLite store in tmp.
The official openai SDK calls Glassgate, Glassgate exports over OTLP/HTTP to Phoenix's
`/v1/traces`, and the test reads the spans back with Phoenix's REST API (what it stored)
and GraphQL API (what its UI shows: the token columns it derives).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import openai_fixtures as fx
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import free_port, openai_config, start_glassgate

PHOENIX = Path(__file__).resolve().parents[2] / ".venv-phoenix" / "bin" / "phoenix"
# Offline and quiet: no telemetry pixels, no fonts or WASM sandbox download, and none of the
# features this test does not use (the agent assistant, the MCP server).
PHOENIX_ENV = {
    "PHOENIX_HOST": "127.0.0.1",
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
    "PHOENIX_LOG_MIGRATIONS": "false",
}
# Our exporter sends no `openinference.project.name` resource attribute, so Phoenix files the
# spans under its default project.
PROJECT = "default"
MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
]
SPAN_QUERY = """
query ($id: ID!) {
  node(id: $id) {
    ... on Span {
      name spanKind tokenCountPrompt tokenCountCompletion tokenCountTotal
      project { name }
    }
  }
}
"""


@dataclass
class PhoenixProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def span(self, span_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """The span as Phoenix's REST API returns it, waiting for its bulk inserter."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = httpx.get(f"{self.url}/v1/projects/{PROJECT}/spans", params={"span_id": span_id}, timeout=10)
            if response.status_code == 200 and response.json()["data"]:
                found: dict[str, Any] = response.json()["data"][0]
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"span {span_id} not in Phoenix after {timeout_s}s: {response.status_code} {response.text[:500]}"
                    f"\n--- Phoenix log ---\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def graphql_span(self, node_id: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": SPAN_QUERY, "variables": {"id": node_id}}, timeout=10
        )
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), f"{body}\n--- Phoenix log ---\n{self.log_tail()}"
        node: dict[str, Any] = body["data"]["node"]
        return node

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixProcess]:
    """`phoenix serve` on free loopback ports; fails (never skips) when `.venv-phoenix` is missing."""
    assert PHOENIX.exists(), f"{PHOENIX} is missing: run `make install-phoenix` (`make test` does it)"
    workdir = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PHOENIX_", "OTEL_"))}
    env.update(PHOENIX_ENV)
    env.update({"PHOENIX_WORKING_DIR": str(workdir), "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port())})
    log_path = workdir / "phoenix.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(PHOENIX), "serve"], stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
    handle = PhoenixProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + 120  # cold imports and migrations take ~15 s here
        while True:
            assert process.poll() is None, f"phoenix exited with {process.returncode}:\n{handle.log_tail()}"
            try:
                if httpx.get(f"{handle.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"phoenix not ready after 120 s:\n{handle.log_tail()}"
            time.sleep(0.2)
        yield handle
    finally:
        handle.stop()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_phoenix_shows_exported_llm_spans(
    phoenix: PhoenixProcess, tmp_path: Path, database_url: str, stream: bool
) -> None:
    upstream = ServerThread(FakeVendor().app()).start()
    config = openai_config(tmp_path / "data", database_url, upstream.url)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "GLASSGATE_OTLP_CAPTURE_MESSAGES": "true",
    }
    glassgate = start_glassgate(config, tmp_path / "gg", env=env)
    try:
        client = openai.OpenAI(base_url=f"{glassgate.url}/openai/v1", api_key="sk-test", max_retries=0, timeout=10)
        if stream:
            raw_stream = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            chunks = list(raw_stream.parse())
            span_id = raw_stream.headers["x-glassgate-span-id"]
            answer = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
            usage = chunks[-1].usage
        else:
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
            completion = raw.parse()
            span_id = raw.headers["x-glassgate-span-id"]
            answer, usage = completion.choices[0].message.content or "", completion.usage
        assert answer == fx.TEXT and usage is not None and usage.total_tokens == 18
        stored = phoenix.span(span_id)
        shown = phoenix.graphql_span(stored["id"])
    finally:
        glassgate.stop()
        upstream.stop()
    context = f"\n--- Phoenix log ---\n{phoenix.log_tail()}\n--- Glassgate log ---\n{glassgate.log()[-3000:]}"
    attributes = stored["attributes"]
    # What Phoenix stored, as its REST API returns it.
    assert stored["span_kind"] == "LLM" and stored["name"] == "chat gpt-4o-mini", f"{stored}{context}"
    assert stored["context"]["span_id"] == span_id and stored["parent_id"] is None, f"{stored}{context}"
    duration = datetime.fromisoformat(stored["end_time"]) - datetime.fromisoformat(stored["start_time"])
    assert stored["status_code"] == "UNSET" and duration > timedelta(0), f"{stored}{context}"
    assert attributes["llm.model_name"] == fx.SERVED_MODEL and attributes["llm.provider"] == "openai", context
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini", context
    assert attributes["gen_ai.response.model"] == fx.SERVED_MODEL, context
    tokens = {key: attributes.get(f"llm.token_count.{key}") for key in ("prompt", "completion", "total")}
    assert tokens == {"prompt": 12, "completion": 6, "total": 18}, f"{attributes}{context}"
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (12, 6), context
    details = [
        attributes.get(f"llm.token_count.{key}")
        for key in ("prompt_details.cache_read", "completion_details.reasoning")
    ]
    assert details == [4, 2], f"{attributes}{context}"
    messages = {
        (direction, index, field): attributes.get(f"llm.{direction}_messages.{index}.message.{field}")
        for direction, index in (("input", 0), ("input", 1), ("output", 0))
        for field in ("role", "content")
    }
    assert messages == {
        ("input", 0, "role"): "system",
        ("input", 0, "content"): "Be brief.",
        ("input", 1, "role"): "user",
        ("input", 1, "content"): "Hi",
        ("output", 0, "role"): "assistant",
        ("output", 0, "content"): fx.TEXT,
    }, f"{attributes}{context}"
    assert "sk-test" not in str(stored), "the client's key must never be exported"
    # What Phoenix's UI shows: the token columns it derives from the attributes on insert.
    assert shown["spanKind"] == "llm" and shown["project"]["name"] == PROJECT, f"{shown}{context}"
    assert (shown["tokenCountPrompt"], shown["tokenCountCompletion"], shown["tokenCountTotal"]) == (12, 6, 18), (
        f"{shown}{context}"
    )
