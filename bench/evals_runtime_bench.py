"""Experiment throughput with code evaluators, and the comparison of two 1,000-item runs.

    python -m bench.evals_runtime_bench [--items 1000] [--concurrency 64] [--compares 20] [--json FILE]

Starts the bench's mock upstream and a real `glassgate serve` (embedded PostgreSQL, its own
evaluation worker), makes a dataset of `--items` items and two experiments on it with three
code evaluators (exact_match, contains, levenshtein), and runs them one after the other
through the proxy: every item is a traced call to the mock, three scores (annotations) and
its result row. Figures:

- items/s: items of a run divided by the time from starting the run to its `completed`
  status (polled every 50 ms). Budget (issue 7): ≥ 200 items/s. Beside it, the CPU the run
  cost Glassgate's process tree and its PostgreSQL per item (including the span writes and
  embeddings that trail the run): the figure that does not depend on what else the machine runs.
- compare: `GET /api/v1/experiments/compare?run=A&run=B&limit=N` for the two runs, `--compares`
  times after one warm-up, timed by the client on loopback (so the figure bounds the server
  time from above; it includes the JSON of every item's two results and six scores).
  Budget: p50 ≤ 300 ms for two 1,000-item runs.

Prints a Markdown table; exit code 1 when over budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.procs import (
    BenchError,
    Children,
    Tree,
    cpu_delta,
    free_port,
    settle,
    wait_for_http,
    wait_for_port,
)
from bench.stack import glassgate_executable

ADMIN_TOKEN = "bench-evals-token"
ITEMS_PER_S_BUDGET = 200.0
COMPARE_BUDGET_MS = 300.0
MOCK_ANSWER = (
    "Hello! This is a fixed answer from the Glassgate bench mock upstream. It is about the size of a short real reply."
)


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN_TOKEN}"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def start(workdir: Path, children: Children, concurrency: int) -> tuple[str, Tree]:
    mock_port = free_port()
    mock = children.start(
        "mock upstream",
        [sys.executable, "-m", "bench.mock_upstream", "--port", str(mock_port)],
        workdir / "mock.log",
        cwd=Path(__file__).resolve().parent.parent,
    )
    wait_for_port(mock, mock_port, timeout_s=15)
    data_dir = (workdir / "glassgate").resolve()
    config = workdir / "glassgate.yaml"
    config.write_text(
        f"data_dir: {data_dir}\nadmin_token: {ADMIN_TOKEN}\n"
        f'upstreams:\n  openai:\n    vendor: openai\n    url: "http://127.0.0.1:{mock_port}"\n'
        f"evals:\n  worker: true\n  concurrency: {concurrency}\n  poll_interval_s: 0.05\n"
    )
    port = free_port()
    children.postgres_marker = str(data_dir / "postgres")
    argv = [glassgate_executable(), "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"]
    child = children.start("glassgate", argv, workdir / "glassgate.log", cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    wait_for_http(child, f"{base}/readyz", timeout_s=180)
    return base, Tree(child.pid, children.postgres_marker)


def prepare(base: str, items: int, concurrency: int, runs: int) -> list[str]:
    """The dataset, the evaluators and the experiments; returns the experiments' ids."""
    dataset = call(base, "POST", "/datasets", {"name": "bench"})
    rows = [
        {"input": f"Question {n}: what does the bench answer?", "expected_output": MOCK_ANSWER, "metadata": {"n": n}}
        for n in range(items)
    ]
    call(base, "POST", f"/datasets/{dataset['dataset_id']}/items", {"items": rows})
    evaluators = [
        call(base, "POST", "/evaluators", {"name": "exact", "type": "exact_match"}),
        call(base, "POST", "/evaluators", {"name": "says-bench", "type": "contains", "params": {"values": ["bench"]}}),
        call(base, "POST", "/evaluators", {"name": "similar", "type": "levenshtein"}),
    ]
    experiments = []
    for name in range(runs):
        experiment = call(
            base,
            "POST",
            "/experiments",
            {
                "name": f"bench {name}",
                "dataset_id": dataset["dataset_id"],
                "target": {"upstream": "openai", "model": "gpt-4o-mini", "parameters": {"temperature": 0}},
                "evaluator_ids": [evaluator["evaluator_id"] for evaluator in evaluators],
                "concurrency": concurrency,
            },
        )
        experiments.append(experiment["experiment_id"])
    return experiments


def run_once(base: str, tree: Tree, experiment_id: str) -> dict[str, Any]:
    before = settle(tree)
    started = time.perf_counter()
    run = call(base, "POST", f"/experiments/{experiment_id}/runs")
    path = f"/experiments/{experiment_id}/runs/{run['run_id']}"
    deadline = time.monotonic() + 600
    while run["status"] == "running":
        if time.monotonic() > deadline:
            raise BenchError(f"run {run['run_id']} did not finish in 600 s: {run}")
        time.sleep(0.05)
        run = call(base, "GET", path)
    elapsed = time.perf_counter() - started
    used = cpu_delta(before, settle(tree))  # with the span writes and embeddings that trail the run
    if run["status"] != "completed" or run["errors"]:
        raise BenchError(f"run ended {run['status']} with {run['errors']} errors: {run}")
    return {
        "run_id": run["run_id"],
        "items": run["item_count"],
        "seconds": elapsed,
        "items_per_s": run["item_count"] / elapsed,
        "cpu_ms_per_item": 1000 * used.total_s / run["item_count"],
        "postgres_cpu_ms_per_item": 1000 * used.postgres_s / run["item_count"],
        "scores": {score["evaluator"]: score["count"] for score in run["scores"]},
    }


def compare(base: str, run_ids: list[str], items: int, times: int) -> dict[str, Any]:
    query = "&".join(f"run={run_id}" for run_id in run_ids) + f"&limit={items}"
    page = call(base, "GET", f"/experiments/compare?{query}")  # warm-up (and a check)
    if len(page["items"]) != items:
        raise BenchError(f"compare returned {len(page['items'])} items, not {items}")
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call(base, "GET", f"/experiments/compare?{query}")
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[max(0, round(0.95 * len(samples)) - 1)],
        "max_ms": samples[-1],
        "samples": len(samples),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = ["| | figure | budget |", "|---|---:|---:|"]
    for number, run in enumerate(report["runs"], 1):
        lines.append(
            f"| run {number}: {run['items']} items, 3 code evaluators, {report['concurrency']} at once | "
            f"{run['items_per_s']:.0f} items/s ({run['seconds']:.1f} s); CPU {run['cpu_ms_per_item']:.2f} ms/item "
            f"(PostgreSQL {run['postgres_cpu_ms_per_item']:.2f}) | ≥ {ITEMS_PER_S_BUDGET:.0f} items/s |"
        )
    compared = report["compare"]
    lines.append(
        f"| compare two {report['items']}-item runs (p50 / p95 / max, {compared['samples']} requests) | "
        f"{compared['p50_ms']:.0f} / {compared['p95_ms']:.0f} / {compared['max_ms']:.0f} ms | "
        f"≤ {COMPARE_BUDGET_MS:.0f} ms |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evals_runtime_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="items in the dataset (each run runs them all)")
    parser.add_argument("--concurrency", type=int, default=64, help="items in flight (experiment and worker)")
    parser.add_argument("--compares", type=int, default=20, help="timed compare requests")
    parser.add_argument("--runs", type=int, default=2, help="runs, one experiment each (the last two are compared)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    children = Children()
    with tempfile.TemporaryDirectory(prefix="glassgate-evals-bench-") as tmp:
        try:
            base, tree = start(Path(tmp), children, args.concurrency)
            experiments = prepare(base, args.items, args.concurrency, max(args.runs, 2))
            runs = [run_once(base, tree, experiment_id) for experiment_id in experiments]
            compared = compare(base, [run["run_id"] for run in runs[-2:]], args.items, args.compares)
        finally:
            children.stop_all()
    report = {"items": args.items, "concurrency": args.concurrency, "runs": runs, "compare": compared}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    sys.stdout.write(markdown(report) + "\n")
    slowest = min(run["items_per_s"] for run in runs)
    over = slowest < ITEMS_PER_S_BUDGET or compared["p50_ms"] > COMPARE_BUDGET_MS
    sys.stdout.write(f"over budget: {'yes' if over else 'nothing'}\n")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
