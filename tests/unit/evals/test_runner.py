"""evals.runner: score configs from evaluators' scales, results encoded as scores, faults kept per item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest

from glassgate.errors import UpstreamError
from glassgate.evals import base, runner
from glassgate.evals.base import EvalInput, EvalResult, JudgeClient
from glassgate.storage.evals import ScoreShape
from glassgate.storage.score_configs import Category

CORRECTNESS = [
    {"label": "correct", "value": 1.0},
    {"label": "partially_correct", "value": 0.5},
    {"label": "incorrect", "value": 0.0},
]


def shape(kind: str, params: Mapping[str, Any] | None = None) -> ScoreShape:
    return runner.score_shape(base.create(kind, params or {}))


def test_judges_score_into_their_labels_or_range() -> None:
    assert shape("correctness") == ScoreShape(
        "categorical", (Category("correct", 1.0), Category("partially_correct", 0.5), Category("incorrect", 0.0))
    )
    assert shape("summarization") == ScoreShape("numeric", min_value=1.0, max_value=5.0)
    # Two labels with one score cannot be categories (their values must differ): a number in their range.
    assert shape("toxicity", {"labels": {"non_toxic": 1, "toxic": 1}}) == ScoreShape(
        "numeric", min_value=1, max_value=1
    )


PASS_FAIL = (Category("pass", 1.0), Category("fail", 0.0))


class Undeclared:
    name = "undeclared"
    kind: Literal["code", "llm"] = "code"

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        return EvalResult(0.5, None, "")


def test_pass_fail_code_evaluators_are_labelled_and_similarities_are_numbers() -> None:
    assert shape("exact_match") == ScoreShape("categorical", PASS_FAIL)
    assert shape("latency_threshold", {"max_ms": 10}) == ScoreShape("categorical", PASS_FAIL)
    assert shape("levenshtein") == ScoreShape("numeric", min_value=0.0, max_value=1.0)
    assert shape("embedding_similarity") == ScoreShape("numeric", min_value=-1.0, max_value=1.0)
    assert runner.score_shape(Undeclared()) == ScoreShape("numeric")  # a plugin that declares no scale


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (EvalResult(1.0, "correct", "ok"), (1.0, "correct")),
        (EvalResult(None, "partially_correct", "meh"), (0.5, "partially_correct")),
        (EvalResult(0.0, None, "by score"), (0.0, "incorrect")),
        (EvalResult(0.7, None, "no such value"), "the evaluator's score 0.7 is not one of its score config's labels"),
        (EvalResult(1.0, "great", ""), "the evaluator's label 'great' is not one of"),
        (EvalResult(None, None, "", error="judge answer matches no label: 'hmm'"), "judge answer matches no label"),
    ],
)
def test_results_become_categorical_scores_or_say_why_not(result: EvalResult, expected: Any) -> None:
    encoded = runner.encode(result, "categorical", CORRECTNESS)
    if isinstance(expected, str):
        assert isinstance(encoded, str) and encoded.startswith(expected)
    else:
        assert encoded == expected


def test_results_become_numeric_and_boolean_scores() -> None:
    assert runner.encode(EvalResult(4.0, None, ""), "numeric", [], 1, 5) == (4.0, None)
    assert (
        runner.encode(EvalResult(6.0, None, ""), "numeric", [], 1, 5) == "score 6 is above the score config's maximum 5"
    )
    assert runner.encode(EvalResult(None, "x", ""), "numeric", []) == "the evaluator gave no score"
    assert runner.encode(EvalResult(float("nan"), None, ""), "numeric", []) == (
        "the evaluator gave a score that is not a finite number (nan)"
    )
    assert runner.encode(EvalResult(1.0, "pass", ""), "boolean", []) == (1.0, "true")
    assert runner.encode(EvalResult(0.0, None, ""), "boolean", []) == (0.0, "false")
    assert isinstance(runner.encode(EvalResult(0.5, None, ""), "boolean", []), str)


class Crashing:
    name = "crashing"
    kind: Literal["code", "llm"] = "code"

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        raise ZeroDivisionError("division by zero")


class Unreachable:
    name = "unreachable"
    kind: Literal["code", "llm"] = "llm"

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        raise UpstreamError("judge down")


async def test_a_crashing_evaluator_is_the_items_error_and_a_transport_failure_is_kept_apart() -> None:
    scorers = [
        runner.Scorer("ev_1", "exact", base.create("exact_match", {}), None),
        runner.Scorer("ev_2", "crash", Crashing(), None),
        runner.Scorer("ev_3", "down", Unreachable(), None),
    ]
    scored = await runner.score_all(scorers, EvalInput(output="x", expected="x"))
    assert scored.results["ev_1"].label == "pass"
    assert scored.results["ev_2"].error == "evaluator failed: ZeroDivisionError: division by zero"
    assert list(scored.unreachable) == ["ev_3"] and str(scored.unreachable["ev_3"]) == "judge down"


def test_an_item_becomes_the_evaluators_input() -> None:
    item = {
        "item_id": "it_1",
        "input": {"question": "q", "context": ["doc a", "doc b"]},
        "expected_output": "a",
        "metadata": {"topic": "t"},
    }
    made = runner.input_from_item(item, "the answer", 12.5, 0.001)
    assert (made.input, made.output, made.expected, made.context) == (
        item["input"],
        "the answer",
        "a",
        ["doc a", "doc b"],
    )
    assert (made.metadata, made.latency_ms, made.cost_usd) == ({"topic": "t"}, 12.5, 0.001)
    assert made.variables["item"]["item_id"] == "it_1"
    from_metadata = runner.input_from_item({"input": "q", "metadata": {"context": "doc"}}, "a", None, None)
    assert from_metadata.context == "doc"


def test_a_span_becomes_the_evaluators_input() -> None:
    span = {
        "span_id": "00000000000000aa",
        "vendor": "openai",
        "operation": "chat",
        "model": "gpt-4o-mini",
        "request_body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is 2+2?"}]},
        "response_body": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}}]},
        "attributes": {"metadata": {"context": "arithmetic", "expected": "4"}},
        "latency_ms": 30.0,
        "cost_usd": None,
    }
    made = runner.input_from_span(span)
    assert made.input["messages"][0]["parts"] == [{"type": "text", "text": "What is 2+2?"}]
    assert made.output["messages"][0]["parts"] == [{"type": "text", "text": "4"}]
    assert (made.context, made.expected, made.latency_ms) == ("arithmetic", "4", 30.0)
    assert made.variables["span"]["span_id"] == "00000000000000aa"
