"""Evaluation through the real server: an official SDK's traffic becomes a dataset, an experiment runs
through the proxy and is judged, online rules score new calls, and `glassgate worker` processes share
a run's queue, one of them killed mid-run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from tests.fakes.judge_server import FakeJudge
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, openai_config, start_glassgate

AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Stack:
    glassgate: GlassgateProcess
    vendor: FakeVendor
    judge: FakeJudge
    config: dict[str, Any]
    workdir: Path

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
        response = httpx.post(f"{self.glassgate.url}/api/v1{path}", json=body, headers=AUTH, timeout=30)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        response = self.glassgate.api(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        """`glassgate worker` in its own process, reaching the server's proxy like another host would."""
        config = {**self.config, "evals": {**self.config["evals"], "proxy_url": self.glassgate.url}}
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")}
        with (self.workdir / f"{name}.log").open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "glassgate", "worker", "--config", str(path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )


@pytest.fixture
def stack_factory(tmp_path: Path, database_url: str) -> Iterator[Callable[[bool], Stack]]:
    servers: list[ServerThread] = []
    stacks: list[Stack] = []

    def build(in_process_worker: bool) -> Stack:
        vendor, judge = FakeVendor(), FakeJudge()
        vendor_server, judge_server = ServerThread(vendor.app()).start(), ServerThread(judge.app()).start()
        servers.extend([vendor_server, judge_server])
        config = openai_config(
            tmp_path / "data",
            database_url,
            vendor_server.url,
            tracing={"flush_interval_ms": 10},
            evals={
                "worker": in_process_worker,
                "judge": {"upstream": "judge", "model": "judge-1"},
                "poll_interval_s": 0.1,
                "lease_s": 2,
                "concurrency": 4,  # below the runs' own limits: several workers are needed to fill them
                "rule_scan_interval_s": 0.3,
            },
        )
        config["upstreams"]["judge"] = {"vendor": "openai", "url": judge_server.url}
        stack = Stack(start_glassgate(config, tmp_path / "gg"), vendor, judge, config, tmp_path)
        stacks.append(stack)
        return stack

    yield build
    for stack in stacks:
        stack.glassgate.stop()
    for server in servers:
        server.stop()


def wait_for(check: Callable[[], Any], timeout_s: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def finished_run(stack: Stack, experiment_id: str, run_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        run: dict[str, Any] = stack.get(f"/experiments/{experiment_id}/runs/{run_id}")
        return run if run["status"] != "running" else None

    result: dict[str, Any] = wait_for(ended, timeout_s, f"run {run_id} to end")
    return result


def test_sdk_traffic_to_dataset_to_judged_experiment_and_online_scores(stack_factory: Callable[[bool], Stack]) -> None:
    stack = stack_factory(True)
    client = openai.OpenAI(base_url=f"{stack.glassgate.url}/openai/v1", api_key="sk-test", max_retries=0)
    questions = ["What is the capital of France?", "Name a prime number.", "Who wrote Hamlet?"]
    span_ids = []
    for question in questions:
        raw = client.chat.completions.with_raw_response.create(
            model="echo-app", messages=[{"role": "user", "content": question}]
        )
        assert raw.parse().choices[0].message.content == question
        span_ids.append(raw.headers["x-glassgate-span-id"])
    for span_id in span_ids:
        stack.glassgate.span(span_id)

    dataset = stack.post("/datasets", {"name": "from production"})
    stack.post(f"/datasets/{dataset['dataset_id']}/items/from-spans", {"span_ids": span_ids})
    exact = stack.post("/evaluators", {"name": "exact", "type": "exact_match"})
    correct = stack.post("/evaluators", {"name": "correct", "type": "correctness"})
    experiment = stack.post(
        "/experiments",
        {
            "name": "echo-2 vs production",
            "dataset_id": dataset["dataset_id"],
            "target": {"upstream": "openai", "model": "echo-2"},
            "evaluator_ids": [exact["evaluator_id"], correct["evaluator_id"]],
            "start": True,
        },
    )
    run_id = stack.get(f"/experiments/{experiment['experiment_id']}/runs")["data"][0]["run_id"]
    run = finished_run(stack, experiment["experiment_id"], run_id)
    assert (run["status"], run["done"], run["errors"]) == ("completed", 3, 0)
    assert [(s["evaluator"], s["count"], s["labels"]) for s in run["scores"]] == [
        ("exact", 3, {"pass": 3}),
        ("correct", 3, {"correct": 3}),
    ]
    results = stack.get(f"/experiments/{experiment['experiment_id']}/runs/{run_id}/results")["data"]
    assert sorted(row["output"] for row in results) == sorted(questions)

    for row in results:
        span = stack.glassgate.span(row["output_span_id"])  # the target's call, traced by the proxy
        assert span["tags"] == ["glassgate-experiment"] and span["model"] == "echo-2"
        assert span["attributes"]["metadata"]["run"] == run_id
        assert span["trace_id"] == row["output_trace_id"]
        assert {score["name"]: score["label"] for score in span["scores"]} == {"exact": "pass", "correct": "correct"}
    judged = wait_for(
        lambda: (page := stack.get("/spans", tag="glassgate-eval"))["data"] and len(page["data"]) == 3 and page
    )
    assert {span["attributes"]["metadata"]["evaluator"] for span in judged["data"]} == {"correct"}
    assert {span["trace_id"] for span in judged["data"]} == {row["output_trace_id"] for row in results}
    filtered = stack.get("/spans", score_config="correct", score_label="correct")["data"]
    assert {span["span_id"] for span in filtered} == {row["output_span_id"] for row in results}

    # Online: a rule scores new calls of one model, never evaluation's own.
    contains = stack.post(
        "/evaluators", {"name": "mentions-france", "type": "contains", "params": {"values": ["France"]}}
    )
    rule = {
        "name": "live",
        "evaluator_id": contains["evaluator_id"],
        "filter": {"model": "echo-live"},
        "sampling_rate": 1,
    }
    stack.post("/eval-rules", rule)
    time.sleep(0.1)
    live = client.chat.completions.with_raw_response.create(
        model="echo-live", messages=[{"role": "user", "content": "Tell me about France."}]
    )
    live_span = live.headers["x-glassgate-span-id"]

    def scored() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = stack.glassgate.span(live_span)["scores"]
        return found

    assert [(s["name"], s["label"]) for s in wait_for(scored, 30, "the online score")] == [("mentions-france", "pass")]


def worker_counters(log: str) -> dict[str, int]:
    found = re.search(r"stopped: Counters\(claimed=(\d+), done=(\d+), failed=(\d+)", log)
    assert found is not None, log
    return {"claimed": int(found.group(1)), "done": int(found.group(2)), "failed": int(found.group(3))}


def slow_experiment(stack: Stack, items: int, concurrency: int) -> str:
    dataset = stack.post("/datasets", {"name": f"slow {items}"})
    rows = [{"input": f"question {n}", "expected_output": f"question {n}"} for n in range(items)]
    stack.post(f"/datasets/{dataset['dataset_id']}/items", {"items": rows})
    exact = stack.post("/evaluators", {"name": f"exact-{items}", "type": "exact_match"})
    correct = stack.post("/evaluators", {"name": f"correct-{items}", "type": "correctness"})
    experiment = stack.post(
        "/experiments",
        {
            "name": f"slow {items}",
            "dataset_id": dataset["dataset_id"],
            "target": {"upstream": "judge", "model": "slow-echo"},
            "evaluator_ids": [exact["evaluator_id"], correct["evaluator_id"]],
            "concurrency": concurrency,
        },
    )
    experiment_id: str = experiment["experiment_id"]
    return experiment_id


def worker_started(log: Path) -> bool:
    return "evaluation worker running" in log.read_text()


def start_run(stack: Stack, experiment_id: str, *workers: str) -> str:
    """Start a run once the workers are up (they take seconds to start), so each gets a share."""
    for name in workers:
        wait_for(functools.partial(worker_started, stack.workdir / f"{name}.log"), 60, f"worker {name} to start")
    run_id: str = stack.post(f"/experiments/{experiment_id}/runs")["run_id"]
    return run_id


def scores_per_item(stack: Stack, experiment_id: str, run_id: str) -> list[int]:
    rows = stack.get(f"/experiments/{experiment_id}/runs/{run_id}/results", limit=500)["data"]
    return [sum(score["label"] is not None for score in row["scores"]) for row in rows]


@pytest.mark.timeout(180)
def test_a_worker_killed_mid_run_leaves_its_items_to_another_each_scored_once(
    stack_factory: Callable[[bool], Stack],
) -> None:
    stack = stack_factory(False)
    experiment_id = slow_experiment(stack, items=40, concurrency=4)
    first = stack.worker("first")
    try:
        run_id = start_run(stack, experiment_id, "first")
        wait_for(lambda: stack.get(f"/experiments/{experiment_id}/runs/{run_id}")["done"] >= 8, 60, "progress")
        assert stack.get(f"/experiments/{experiment_id}/runs/{run_id}")["running"] > 0, "items are in flight"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = stack.worker("second")
    try:
        run = finished_run(stack, experiment_id, run_id, 90)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert (run["status"], run["item_count"], run["done"], run["errors"]) == ("completed", 40, 40, 0)
    assert scores_per_item(stack, experiment_id, run_id) == [2] * 40  # every item, each evaluator once
    taken_over = worker_counters((stack.workdir / "second.log").read_text())
    assert 0 < taken_over["done"] <= 32
    target_calls = stack.judge.requests_for("slow-echo")
    assert 40 <= len(target_calls) <= 44  # at most the 4 in flight at the kill were asked twice


@pytest.mark.timeout(180)
def test_two_worker_processes_share_one_queue(stack_factory: Callable[[bool], Stack]) -> None:
    stack = stack_factory(False)
    experiment_id = slow_experiment(stack, items=60, concurrency=8)
    workers = {name: stack.worker(name) for name in ("left", "right")}
    try:
        run_id = start_run(stack, experiment_id, *workers)
        run = finished_run(stack, experiment_id, run_id, 90)
    finally:
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
    assert all(process.wait(30) == 0 for process in workers.values())
    assert (run["status"], run["done"], run["errors"]) == ("completed", 60, 0)
    assert scores_per_item(stack, experiment_id, run_id) == [2] * 60
    done = [worker_counters((stack.workdir / f"{name}.log").read_text())["done"] for name in workers]
    assert sum(done) == 60 and min(done) > 0, done
    assert stack.judge.max_in_flight <= 8 + 8  # targets (at most the run's 8) plus their judges


def test_the_cli_runs_an_experiment_and_sums_it_up(stack_factory: Callable[[bool], Stack]) -> None:
    stack = stack_factory(False)  # the CLI's own worker does the work
    dataset = stack.post("/datasets", {"name": "cli"})
    rows: list[dict[str, Any]] = [{"input": {"question": f"q{n}"}, "expected_output": f"Q: q{n}"} for n in range(4)]
    rows.append({"input": {"prompt": "no question column"}, "expected_output": "x"})
    stack.post(f"/datasets/{dataset['dataset_id']}/items", {"items": rows})
    template = stack.workdir / "prompt.txt"
    template.write_text("Q: {{ question }}")
    config = stack.workdir / "cli.yaml"
    config.write_text(
        yaml.safe_dump({**stack.config, "evals": {**stack.config["evals"], "proxy_url": stack.glassgate.url}})
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "glassgate",
            "eval",
            "run",
            "--config",
            str(config),
            "--dataset",
            "cli",
            "--target",
            "judge:echo-cli",
            "--prompt-template",
            str(template),
            "--evaluator",
            "exact_match",
            "--evaluator",
            'contains:{"values": ["q"]}',
            "--evaluator",
            "correctness",
            "--concurrency",
            "3",
            "--parameter",
            "temperature=0",
        ],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        cwd=stack.workdir,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "5/5" in result.stderr and "dataset version 1" in result.stderr  # the progress bar and what ran
    table = result.stdout
    assert "completed" in table
    assert re.search(r"exact_match\s+│\s+1\.000\s+│\s+4\s+│\s+0\s+│\s+pass 4", table), table
    assert re.search(r"contains-[0-9a-f]{8}\s+│\s+1\.000\s+│\s+4\s+│\s+0", table), table
    assert re.search(r"correctness\s+│\s+1\.000\s+│\s+4\s+│\s+0\s+│\s+correct 4", table), table
    assert "items 5/5 done, 1 with errors" in table and "latency p50" in table
    assert "template variable {{question}} is unknown" in table  # the item in error, and why
    names = {evaluator["name"] for evaluator in stack.get("/evaluators")["data"]}
    assert {"exact_match", "correctness"} <= names
    experiments = stack.get("/experiments")["data"]
    assert experiments[0]["target"]["parameters"] == {"temperature": 0}
    sent = [json.loads(call.body) for call in stack.judge.requests_for("echo-cli")]
    assert {call["temperature"] for call in sent} == {0}
    assert sorted(call["messages"][0]["content"] for call in sent) == [f"Q: q{n}" for n in range(4)]
