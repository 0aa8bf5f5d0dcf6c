"""`glassgate demo` on real PostgreSQL: the simulated traffic goes through the proxy and every page's data is stored."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import asyncpg
import openai
import pytest

from glassgate.config import Settings
from glassgate.demo import catalog
from glassgate.demo.simulated_vendor import SimulatedVendor
from glassgate.demo.traffic import has_spans, run_demo
from glassgate.storage import db
from tests.harness import ADMIN_TOKEN

CALLS = 40


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    yield created
    await created.close()


async def test_the_demo_stores_a_span_for_every_call(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=ADMIN_TOKEN)
    assert not await has_spans(database_url)
    progress: list[int] = []
    result = await run_demo(settings, CALLS, latency_scale=0.1, on_call=progress.append)
    assert result.calls == CALLS == len(progress) and result.written == CALLS and result.dropped == 0
    assert {200, 400, 429} <= set(result.statuses) and {500, 529} & set(result.statuses)
    assert await has_spans(database_url)

    spans = await pool.fetch("SELECT * FROM spans")
    assert len(spans) == CALLS
    assert {(row["upstream"], row["vendor"]) for row in spans} == {
        ("demo-openai", "openai"),
        ("demo-anthropic", "anthropic"),
    }
    assert {row["operation"] for row in spans} == {"chat", "responses", "embeddings", "messages"}
    assert {row["status"] for row in spans} == {"ok", "error", "blocked"}
    assert {row["streamed"] for row in spans} == {True, False}
    ok = [row for row in spans if row["status"] == "ok"]
    assert all(row["input_tokens"] and row["latency_ms"] > 0 and row["cost_usd"] for row in ok)
    assert all(row["ttft_ms"] for row in ok if row["streamed"])
    assert any(row["cached_tokens"] for row in ok if row["vendor"] == "anthropic")  # prompt caching

    sessions = [row["session_id"] for row in spans if row["session_id"]]
    assert sessions and max(sessions.count(session) for session in sessions) >= 2  # multi-turn
    assert len({row["user_id"] for row in spans if row["user_id"]}) >= 5
    tags = {tag for row in spans for tag in row["tags"]}
    assert {"support", "code-assistant", "summarizer", "rag", "agent", "prod"} <= tags
    assert any('"metadata"' in row["attributes"] for row in spans)
    traces = await pool.fetch("SELECT trace_id, count(*) AS calls FROM spans GROUP BY trace_id HAVING count(*) > 1")
    assert traces  # a RAG or agent step: its calls share the app's trace

    findings = {
        (row["phase"], row["category"], row["action"]) for row in await pool.fetch("SELECT * FROM guardrail_findings")
    }
    assert {("input", "EMAIL", "flag"), ("input", "PHONE", "flag"), ("input", "PROMPT_INJECTION", "flag")} <= findings
    assert ("input", "OPENAI_KEY", "block") in findings
    blocked = [row for row in spans if row["status"] == "blocked"]
    assert blocked and all(row["guardrail_categories"] for row in blocked)
    rollups = await pool.fetchval("SELECT sum(requests) FROM rollups_minute")
    assert rollups == CALLS  # the dashboards' counts


def glassgate(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    process_env = {key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "glassgate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**process_env, **env},
        timeout=180,
    )


def test_the_command_fills_an_empty_instance_and_refuses_a_used_one(tmp_path: Path, database_url: str) -> None:
    env = {"GLASSGATE_DATABASE_URL": database_url, "GLASSGATE_DATA_DIR": str(tmp_path / "data")}
    first = glassgate("demo", "--calls", "12", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "12 calls in" in first.stderr and "12 spans stored" in first.stderr
    assert "open http://127.0.0.1:4000/" in first.stderr
    token = (tmp_path / "data" / "admin_token").read_text().strip()
    assert token in first.stderr  # generated now, so shown once, as `serve` does
    again = glassgate("demo", "--calls", "12", cwd=tmp_path, env=env)
    assert again.returncode == 1 and "already has spans" in again.stderr
    forced = glassgate("demo", "--calls", "3", "--force", cwd=tmp_path, env=env)
    assert forced.returncode == 0 and "3 spans stored" in forced.stderr
    assert f"Admin token: in {tmp_path / 'data' / 'admin_token'}" in forced.stderr


async def test_the_sdks_talk_to_the_simulated_vendor_over_http() -> None:
    async with SimulatedVendor(latency_scale=0.2) as vendor:
        turn = catalog.script().support[0].turns[0]
        chat = openai.AsyncOpenAI(api_key="k", base_url=f"{vendor.url}/v1", max_retries=0)
        stream = await chat.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": turn.prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert "".join(pieces) == turn.answer
        messages = anthropic.AsyncAnthropic(api_key="k", base_url=vendor.url, max_retries=0)
        async with messages.messages.stream(
            model="claude-haiku-4-5", max_tokens=256, messages=[{"role": "user", "content": turn.prompt}]
        ) as events:
            final = await events.get_final_message()
        assert final.content[0].type == "text" and final.content[0].text == turn.answer
        await chat.close()
        await messages.close()
    assert vendor.requests == 2
