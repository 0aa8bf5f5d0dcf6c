"""`glassgate eval run`'s options as the experiment's target gets them, and the summary it ends with.

The database and the run itself are swapped out (`_prepared_settings`, `_run`): what the command
does with a real run is tested in tests/e2e/test_eval_workers.py and, streamed,
tests/integration/evals/test_proxy_targets.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from glassgate.cli import evals
from glassgate.cli.main import app
from glassgate.config import Settings

RUN = ["eval", "run", "--dataset", "qa", "--target", "openai:gpt-4o-mini", "--evaluator", "exact_match"]


def summary(*, stream: bool, ttft: tuple[float | None, float | None]) -> dict[str, Any]:
    """A finished run as `eval_compare.run_summary` gives it, with `first_errors` as the command adds."""
    return {
        "run_id": "run_1",
        "status": "completed",
        "target": {"upstream": "openai", "model": "gpt-4o-mini", "parameters": {}, "stream": stream},
        "scores": [],
        "first_errors": [],
        "done": 3,
        "item_count": 3,
        "errors": 0,
        "cost_usd": 0.0012,
        "latency_p50_ms": 812.4,
        "latency_p95_ms": 1490.0,
        "ttft_p50_ms": ttft[0],
        "ttft_p95_ms": ttft[1],
    }


@pytest.fixture
def targets(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The target of each experiment the command would create; the run ends as its target says."""
    made: list[dict[str, Any]] = []

    async def run(_settings: Settings, _dataset: str, _version: int | None, spec: dict[str, Any], *_: Any) -> Any:
        made.append(spec)
        return summary(stream=spec["stream"], ttft=(95.0, 180.0) if spec["stream"] else (None, None))

    def settings(_config: Path | None) -> Settings:
        return Settings(database_url="postgresql://unused/db", upstreams={"openai": {"vendor": "openai"}})

    monkeypatch.setattr(evals, "_run", run)
    monkeypatch.setattr(evals, "_prepared_settings", settings)
    return made


def invoke(*extra: str) -> str:
    result = CliRunner().invoke(app, [*RUN, *extra], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_stream_asks_for_a_streamed_target_and_shows_its_time_to_first_token(targets: list[dict[str, Any]]) -> None:
    shown = invoke("--stream")
    assert targets[0]["stream"] is True
    assert "latency p50 812 ms p95 1490 ms · TTFT p50 95 ms p95 180 ms" in shown


def test_targets_are_not_streamed_unless_asked(targets: list[dict[str, Any]]) -> None:
    assert "TTFT" not in invoke()
    assert "TTFT" not in invoke("--no-stream")
    assert [target["stream"] for target in targets] == [False, False]


def test_a_streamed_run_without_a_first_token_says_so() -> None:
    # Every item failed before its first token: the percentiles are null.
    timings = evals._timings(summary(stream=True, ttft=(None, None)))
    assert timings == "latency p50 812 ms p95 1490 ms · TTFT p50 – p95 –"


def test_stream_cannot_be_smuggled_in_as_a_parameter(targets: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, [*RUN, "--parameter", "stream=true"])
    assert result.exit_code == 2
    assert "stream" in result.output and targets == []
