"""Targets and judges through a real Glassgate process: Bedrock (a Glassgate-issued key pair, a Bedrock API
key) and streamed targets of every vendor, whose time to first token the results keep.

Glassgate runs as a subprocess in front of the fake vendors; the evaluation worker runs here, on the
same database, and reaches the proxy over HTTP as a `glassgate worker` on another host would (one
test runs `glassgate eval run --stream` instead, whose own worker does the same). The fake Bedrock
checks the signature Glassgate re-signs each call with (as AWS would), so a call whose own
signature the proxy did not accept, or that reached Bedrock unsigned, fails the items.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from glassgate.config import Settings
from glassgate.storage import db, eval_runs
from tests.fakes import openai_fixtures as openai_fx
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.bedrock_server import FakeBedrock
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, start_glassgate
from tests.integration.evals.conftest import new_dataset, new_evaluator, run_to_end, scores_of_run, start_experiment

REGION = "eu-west-1"
UPSTREAM_AWS_KEY = ("AKIAUPSTREAMFAKE0001", "upstream-secret-held-by-glassgate")
BEDROCK_API_KEY = "ABSKfakeBedrockApiKey0001"
ANTHROPIC_KEY = "sk-ant-client-key"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
GLASSGATE = [sys.executable, "-m", "glassgate"]


@dataclass
class Stack:
    glassgate: GlassgateProcess
    database_url: str
    bedrock: FakeBedrock
    vendor: FakeVendor
    anthropic: FakeAnthropic
    upstreams: dict[str, Any]
    aws_key: dict[str, str]  # issued by Glassgate: access_key_id, secret_access_key, project

    def settings(self, **evals: Any) -> Settings:
        """The worker's settings: the server's upstreams, reached through its proxy."""
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "upstreams": self.upstreams,
            "evals": {
                "proxy_url": self.glassgate.url,
                "aws_keys": {"bedrock": {key: self.aws_key[key] for key in ("access_key_id", "secret_access_key")}},
                "api_keys": {"bedrock-api": BEDROCK_API_KEY, "anthropic": ANTHROPIC_KEY},
                "judge": {"upstream": "bedrock", "model": "judge-nova"},
                "poll_interval_s": 0.05,
                "lease_s": 2,
                **evals,
            },
        }
        return Settings(**values)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str) -> Iterator[Stack]:
    bedrock, vendor, anthropic = FakeBedrock(*UPSTREAM_AWS_KEY, region=REGION), FakeVendor(), FakeAnthropic()
    servers = [ServerThread(fake.app()).start() for fake in (bedrock, vendor, anthropic)]
    aws = {"type": "aws", "access_key_id": UPSTREAM_AWS_KEY[0], "secret_access_key": UPSTREAM_AWS_KEY[1]}
    signed = {"vendor": "bedrock", "region": REGION, "url": servers[0].url, "auth": aws}
    upstreams = {
        "bedrock": signed,
        "bedrock-api": signed,
        "openai": {"vendor": "openai", "url": servers[1].url},
        "anthropic": {"vendor": "anthropic", "url": servers[2].url},
    }
    workdir = tmp_path_factory.mktemp("glassgate-evals")
    database_url = create_database(postgres_url, "evals_proxy_targets", template=template_database)
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "tracing": {"flush_interval_ms": 10},
        "upstreams": upstreams,
        "evals": {"worker": False},  # the test's own worker does the work
    }
    glassgate = start_glassgate(config, workdir)
    try:
        aws_key = glassgate.cli_json("keys", "create", "--project", "evals", "--aws")
        yield Stack(glassgate, database_url, bedrock, vendor, anthropic, upstreams, aws_key)
    finally:
        glassgate.stop()
        for server in servers:
            server.stop()


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(stack.database_url)
    yield created
    await created.close()


async def stored_spans(pool: asyncpg.Pool, span_ids: list[str], timeout_s: float = 10.0) -> dict[str, asyncpg.Record]:
    """The spans, once Glassgate's writer has stored them all."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = await pool.fetch(
            "SELECT span_id, upstream, operation, model, status, tags, project, input_tokens, output_tokens, "
            "ttft_ms, latency_ms, streamed, attributes FROM spans WHERE span_id = ANY ($1::text[])",
            span_ids,
        )
        if len(records) == len(set(span_ids)) or time.monotonic() > deadline:
            return {record["span_id"]: record for record in records}
        await asyncio.sleep(0.05)


async def results_of(pool: asyncpg.Pool, run_id: str) -> list[asyncpg.Record]:
    records: list[asyncpg.Record] = await pool.fetch(
        "SELECT item_id, output::text, output_span_id, latency_ms, ttft_ms, input_tokens, output_tokens, cost_usd, "
        "error FROM experiment_results WHERE run_id = $1 ORDER BY item_id",
        run_id,
    )
    return records


async def test_a_bedrock_target_and_judge_sign_with_a_glassgate_key_pair(stack: Stack, pool: asyncpg.Pool) -> None:
    questions = ["What is SigV4?", "Où est Paris ?", "Why %3A?"]
    items = [{"input": {"question": question}, "expected_output": question} for question in questions]
    dataset_id = await new_dataset(pool, "bedrock-qa", items)
    exact, judged = await new_evaluator(pool, "exact", "exact_match"), await new_evaluator(pool, "rel", "relevance")
    target = {"upstream": "bedrock", "prompt_template": "echo:{{ question }}"}
    experiment = await start_experiment(pool, dataset_id, [exact, judged], model=HAIKU, target=target)
    run = await run_to_end(pool, stack.settings(), experiment.run_id)
    assert run["status"] == "completed", run

    results = await results_of(pool, experiment.run_id)
    assert [result["error"] for result in results] == [None] * 3
    assert sorted(json.loads(result["output"]) for result in results) == sorted(questions)
    # Converse counts the 4 cache-read tokens apart; the result counts them in, as the span does.
    assert {(r["input_tokens"], r["output_tokens"]) for r in results} == {(16, 6)}
    assert all(r["cost_usd"] and r["cost_usd"] > 0 and r["ttft_ms"] is None for r in results)
    scores = await scores_of_run(pool, experiment.run_id)
    assert {(score["author"], score["value_text"]) for score in scores} == {("exact", "pass"), ("rel", "relevant")}
    assert len(scores) == 6

    calls = [call for call in stack.bedrock.received if "/converse" in call.raw_path]
    targets = [call for call in calls if HAIKU.replace(":", "%3A") in call.raw_path]
    judges = [call for call in calls if "/model/judge-nova/" in call.raw_path]
    assert (len(targets), len(judges)) == (3, 3)
    # Glassgate verified the worker's signature (issued pair) and signed again with its own key for AWS.
    assert all(f"Credential={UPSTREAM_AWS_KEY[0]}/" in (call.header("authorization") or "") for call in calls)
    assert all(call.header("x-glassgate-tags") is None for call in calls)  # Glassgate's headers stay home

    spans = await stored_spans(pool, [r["output_span_id"] for r in results])
    assert {(s["upstream"], s["operation"], s["model"], s["status"]) for s in spans.values()} == {
        ("bedrock", "converse", HAIKU, "ok")
    }
    assert all("glassgate-experiment" in s["tags"] and s["project"] == "evals" for s in spans.values())
    judge_spans = await pool.fetch("SELECT upstream, model, tags FROM spans WHERE 'glassgate-eval' = ANY (tags)")
    assert [(s["upstream"], s["model"]) for s in judge_spans] == [("bedrock", "judge-nova")] * 3


async def test_a_streamed_bedrock_target_with_an_api_key_records_its_time_to_first_token(
    stack: Stack, pool: asyncpg.Pool
) -> None:
    dataset_id = await new_dataset(pool, "streamed", [{"input": "echo:slow"}, {"input": "echo:words"}])
    # slow-stream: 15 deltas 50 ms apart, so the first token comes long before the last.
    target = {"upstream": "bedrock-api", "stream": True}
    experiment = await start_experiment(pool, dataset_id, [], model="slow-stream", name="streamed", target=target)
    assert (await run_to_end(pool, stack.settings(), experiment.run_id))["status"] == "completed"

    results = await results_of(pool, experiment.run_id)
    assert sorted(json.loads(r["output"]) for r in results) == ["slow" * 15, "words" * 15]
    for result in results:
        assert result["error"] is None and result["input_tokens"] == 16
        assert 0 < result["ttft_ms"] < result["latency_ms"] / 3, dict(result)
    streamed = [call for call in stack.bedrock.received if call.raw_path.endswith("/model/slow-stream/converse-stream")]
    assert [call.header("authorization") for call in streamed] == [f"Bearer {BEDROCK_API_KEY}"] * 2
    spans = await stored_spans(pool, [r["output_span_id"] for r in results])
    assert {(s["operation"], s["streamed"]) for s in spans.values()} == {("converse_stream", True)}
    assert all(s["ttft_ms"] is not None and s["ttft_ms"] < s["latency_ms"] / 3 for s in spans.values())

    run = await eval_runs.get_run(pool, experiment.run_id)
    assert 0 < run["ttft_p50_ms"] < run["latency_p50_ms"] / 3


async def test_streamed_openai_and_anthropic_targets_assemble_text_usage_and_ttft(
    stack: Stack, pool: asyncpg.Pool
) -> None:
    dataset_id = await new_dataset(pool, "plain", [{"input": "Say hello"}])
    openai = await start_experiment(
        pool, dataset_id, [], model="slow-stream", name="openai-stream", target={"upstream": "openai", "stream": True}
    )
    await run_to_end(pool, stack.settings(), openai.run_id)
    [result] = await results_of(pool, openai.run_id)
    # The fake's slow stream: the first piece, 40 dots 50 ms apart, the rest; then the usage chunk.
    pieces = openai_fx.TEXT_PIECES
    assert json.loads(result["output"]) == pieces[0] + "." * 40 + "".join(pieces[1:])
    assert (result["input_tokens"], result["output_tokens"]) == (12, 6)
    assert 0 < result["ttft_ms"] < result["latency_ms"] / 3
    sent = json.loads(stack.vendor.last().body)
    assert (sent["stream"], sent["stream_options"]) == (True, {"include_usage": True})

    anthropic = await start_experiment(
        pool, dataset_id, [], model="claude-haiku-4-5", name="claude", target={"upstream": "anthropic", "stream": True}
    )
    await run_to_end(pool, stack.settings(), anthropic.run_id)
    [result] = await results_of(pool, anthropic.run_id)
    assert (json.loads(result["output"]), result["error"], result["output_tokens"]) == ("Hello there!", None, 6)
    assert result["ttft_ms"] is not None and result["ttft_ms"] <= result["latency_ms"]


async def test_a_stream_that_keeps_ending_in_an_overload_is_the_items_error(stack: Stack, pool: asyncpg.Pool) -> None:
    dataset_id = await new_dataset(pool, "overloaded", [{"input": "hi"}])
    experiment = await start_experiment(
        pool,
        dataset_id,
        [],
        model="stream-error",
        name="overloaded",
        target={"upstream": "anthropic", "stream": True},
        max_retries=1,
    )
    await run_to_end(pool, stack.settings(), experiment.run_id)
    [result] = await results_of(pool, experiment.run_id)
    assert result["output"] is None
    assert result["error"].startswith("anthropic/stream-error failed 2 time(s)"), result["error"]
    assert "overloaded_error" in result["error"]


async def test_without_a_credential_a_bedrock_item_says_what_to_configure(stack: Stack, pool: asyncpg.Pool) -> None:
    dataset_id = await new_dataset(pool, "no-key", [{"input": "hi"}])
    experiment = await start_experiment(
        pool, dataset_id, [], model=HAIKU, name="no-key", target={"upstream": "bedrock"}
    )
    before = len(stack.bedrock.received)
    await run_to_end(pool, stack.settings(aws_keys={}), experiment.run_id)
    [result] = await results_of(pool, experiment.run_id)
    assert "evals.aws_keys.bedrock" in result["error"] and len(stack.bedrock.received) == before


async def test_the_cli_runs_a_streamed_target_with_stream_and_shows_its_ttft(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await new_dataset(pool, "cli-streamed", [{"input": "Say hello"}, {"input": "Say bye"}])
    config = tmp_path / "cli.yaml"
    evals = {"proxy_url": stack.glassgate.url, "poll_interval_s": 0.05, "lease_s": 2}
    config.write_text(
        yaml.safe_dump({"database_url": stack.database_url, "upstreams": stack.upstreams, "evals": evals})
    )
    command = [*GLASSGATE, "eval", "run", "--config", str(config), "--dataset", "cli-streamed"]
    command += ["--target", "openai:slow-stream", "--evaluator", "exact_match", "--stream"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")}
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"latency p50 \d+ ms p95 \d+ ms · TTFT p50 \d+ ms p95 \d+ ms", result.stdout), result.stdout

    run_id = await pool.fetchval(
        "SELECT r.run_id FROM experiment_runs r JOIN experiments x USING (experiment_id) "
        "WHERE x.name LIKE 'cli-streamed%' AND (x.target->>'stream')::boolean"
    )
    results = await results_of(pool, run_id)
    assert len(results) == 2 and all(0 < r["ttft_ms"] < r["latency_ms"] / 3 for r in results), results
    sent = json.loads(stack.vendor.last().body)
    assert (sent["model"], sent["stream"]) == ("slow-stream", True)
