"""json_schema: outputs checked against a JSON Schema by the jsonschema package."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.evals import base
from glassgate.evals.base import EvalInput

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
    "additionalProperties": False,
}


async def judge(output: Any, **params: Any) -> tuple[float | None, str]:
    evaluator = base.create("json_schema", {"schema": SCHEMA, **params})
    result = await evaluator.evaluate(EvalInput(output=output), None)
    assert result.error is None
    return result.score, result.explanation


@pytest.mark.parametrize(
    "output",
    ['{"city": "Paris", "days": 3}', {"city": "Oslo", "days": 1}, '```json\n{"city": "Rome", "days": 2}\n```'],
)
async def test_valid_outputs_pass(output: Any) -> None:
    assert (await judge(output, strip_fences=True))[0] == 1.0


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ('{"city": "Paris"}', "'days' is a required property"),
        ('{"city": "Paris", "days": 0}', "$.days: 0 is less than the minimum of 1"),
        ('{"city": 1, "days": 2, "x": 1}', "$.city: 1 is not of type 'string'"),
        ("not json", "the output is not JSON"),
        ("", "the output is empty"),
    ],
)
async def test_invalid_outputs_fail_with_the_problem_and_its_path(output: str, said: str) -> None:
    score, explanation = await judge(output)
    assert score == 0.0 and said in explanation


async def test_a_chat_answer_is_read_for_its_text() -> None:
    answer = {"messages": [{"role": "assistant", "parts": [{"type": "text", "text": '{"city": "Lima", "days": 5}'}]}]}
    assert (await judge(answer))[0] == 1.0
