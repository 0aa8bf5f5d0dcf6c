"""LLM judges end to end against a scripted judge: prompts, verdicts and per-item errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glassgate.errors import UpstreamError
from glassgate.evals import base
from glassgate.evals.base import EvalInput, EvalResult
from glassgate.evals.judges.judge import JudgeEvaluator
from glassgate.evals.judges.variables import item_document
from tests.unit.evals.fakes import ScriptedJudge, UnreachableJudge

ITEM = EvalInput(
    input="When was the Eiffel Tower finished?",
    output="It was finished in 1889.",
    expected="1889",
    context="The Eiffel Tower was completed in March 1889.",
    metadata={"topic": "history", "docs": [{"text": "doc A"}, {"text": "doc B"}]},
    variables={"span": {"attributes": {"gen_ai.request.model": "gpt-4o"}}, "persona": "a historian"},
)


def judge_of(name: str, params: dict[str, Any] | None = None) -> JudgeEvaluator:
    evaluator = base.create(name, params or {})
    assert isinstance(evaluator, JudgeEvaluator)
    return evaluator


async def test_a_built_in_judge_asks_and_reads_the_verdict() -> None:
    judge = ScriptedJudge("EXPLANATION: 1889 is in the context.\nLABEL: factual")
    result = await judge_of("hallucination").evaluate(ITEM, judge)
    assert result == EvalResult(score=1.0, label="factual", explanation="1889 is in the context.")
    [(prompt, system)] = judge.calls
    assert "<context>\nThe Eiffel Tower was completed in March 1889.\n</context>" in prompt
    assert "<answer>\nIt was finished in 1889.\n</answer>" in prompt
    assert system is not None and system.endswith("LABEL: <exactly one of: factual, hallucinated>")


async def test_the_judge_sees_each_item_and_answers_deterministically() -> None:
    def answer(prompt: str) -> str:
        return "LABEL: correct" if "1889" in prompt.split("<answer>")[1] else "LABEL: incorrect"

    judge = ScriptedJudge(answer)
    evaluator = judge_of("correctness")
    right = await evaluator.evaluate(ITEM, judge)
    wrong = await evaluator.evaluate(EvalInput(input="q", output="1899", expected="1889"), judge)
    assert (right.label, right.score, wrong.label, wrong.score) == ("correct", 1.0, "incorrect", 0.0)


async def test_a_range_judge() -> None:
    result = await judge_of("summarization").evaluate(ITEM, ScriptedJudge('{"score": 4, "explanation": "Good."}'))
    assert result == EvalResult(score=4.0, label=None, explanation="Good.")


async def test_a_judge_answer_that_matches_no_label_is_an_item_error() -> None:
    result = await judge_of("toxicity").evaluate(ITEM, ScriptedJudge("I'd rather not say."))
    assert result.score is None and result.label is None
    assert result.error == 'judge answer matches no label: "I\'d rather not say." (labels: non_toxic, toxic)'


async def test_without_a_judge_the_item_says_so() -> None:
    result = await judge_of("relevance").evaluate(ITEM, None)
    assert result.error == "evaluator 'relevance' needs a judge model, and none is configured (evaluation.judge)"


async def test_an_unreachable_judge_raises_for_the_runner_to_retry() -> None:
    with pytest.raises(UpstreamError):
        await judge_of("relevance").evaluate(ITEM, UnreachableJudge())


@pytest.mark.parametrize(
    ("name", "item", "error"),
    [
        ("hallucination", EvalInput(input="q", output="a"), "variable 'context': the item has no context"),
        ("correctness", EvalInput(input="q", output="a"), "variable 'expected': the item has no expected output"),
        ("relevance", EvalInput(output="a"), "variable 'input': the item has no input"),
        ("toxicity", EvalInput(input="q"), "variable 'output': the item has no output"),
    ],
)
async def test_a_missing_column_is_an_item_error_and_the_judge_is_not_asked(
    name: str, item: EvalInput, error: str
) -> None:
    judge = ScriptedJudge("LABEL: whatever")
    assert (await judge_of(name).evaluate(item, judge)).error == error
    assert judge.calls == []


async def test_an_empty_answer_is_still_judged() -> None:
    judge = ScriptedJudge("LABEL: refused")
    result = await judge_of("refusal").evaluate(EvalInput(input="q", output=""), judge)
    assert result.label == "refused"
    assert "<response>\n\n</response>" in judge.calls[0][0]


async def test_built_in_labels_can_be_rescored() -> None:
    evaluator = judge_of("refusal", {"labels": {"Answered": 0, "refused": 1}})
    result = await evaluator.evaluate(ITEM, ScriptedJudge("LABEL: refused"))
    assert (result.label, result.score) == ("refused", 1.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"labels": {"answered": 1}}, "must give a score to exactly this judge's labels: answered, refused"),
        ({"labels": {"answered": 1, "refused": 0, "maybe": 0.5}}, "exactly this judge's labels"),
        ({"labels": ["answered"]}, "must map this judge's labels"),
        ({"labels": {"answered": "high", "refused": 0}}, "needs a finite number"),
        ({"variables": {"context": "$.metadata.docs"}}, "variables context are mapped but the template never uses"),
        ({"variables": {"input": "metadata.q"}}, "variable 'input': JSONPath 'metadata.q' must start with \\$"),
        ({"variables": ["input"]}, "param 'variables' must map variable names to JSONPath strings"),
        ({"max_chars": 0}, "param 'max_chars' must be an integer of at least 1"),
    ],
)
def test_bad_built_in_params(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"evaluator 'refusal'.*{message}"):
        base.create("refusal", params)


async def test_a_built_in_variable_can_come_from_elsewhere() -> None:
    judge = ScriptedJudge("LABEL: factual")
    evaluator = judge_of("hallucination", {"variables": {"context": "$.metadata.docs[*].text"}})
    await evaluator.evaluate(ITEM, judge)
    assert "<context>\ndoc A\n\ndoc B\n</context>" in judge.calls[0][0]
    missing = await evaluator.evaluate(EvalInput(input="q", output="a", metadata={"docs": []}), judge)
    assert missing.error == "variable 'context': path $.metadata.docs[*].text matched nothing"


async def test_variables_are_cut_to_max_chars() -> None:
    judge = ScriptedJudge("LABEL: non_toxic")
    await judge_of("toxicity", {"max_chars": 10}).evaluate(EvalInput(output="x" * 25), judge)
    assert "xxxxxxxxxx\n[… 15 more characters cut]" in judge.calls[0][0]


# --- llm_judge -----------------------------------------------------------------------------------


async def test_a_custom_judge_with_jsonpath_variables() -> None:
    judge = ScriptedJudge("Reasoning.\nLABEL: Yes")
    evaluator = judge_of(
        "llm_judge",
        {
            "template": "As {{persona}}, on {{topic}} with {{model}}: is {{output}} right for {{input}}?",
            "labels": {"yes": 1, "no": 0},
            "variables": {
                "topic": "$.metadata.topic",
                "model": "$.span.attributes['gen_ai.request.model']",
                "persona": "$.variables.persona",
            },
        },
    )
    result = await evaluator.evaluate(ITEM, judge)
    assert (result.label, result.score, result.explanation) == ("yes", 1.0, "Reasoning.")
    assert judge.calls[0][0] == (
        "As a historian, on history with gpt-4o: "
        "is It was finished in 1889. right for When was the Eiffel Tower finished??"
    )


def test_a_variable_the_item_carries_must_still_be_mapped() -> None:
    with pytest.raises(ValueError, match="unknown variable\\(s\\) persona"):
        base.create("llm_judge", {"template": "{{persona}}", "range": [0, 1]})


async def test_a_custom_judge_reports_a_path_that_matches_nothing() -> None:
    evaluator = judge_of(
        "llm_judge", {"template": "{{output}} / {{topic}}", "range": [0, 10], "variables": {"topic": "$.metadata.nope"}}
    )
    judge = ScriptedJudge("SCORE: 3")
    result = await evaluator.evaluate(ITEM, judge)
    assert result.error == "variable 'topic': path $.metadata.nope matched nothing"
    assert judge.calls == []
    ok = await evaluator.evaluate(EvalInput(output="a", metadata={"nope": "there"}), judge)
    assert ok.score == 3.0


async def test_a_custom_judge_may_mark_variables_optional() -> None:
    evaluator = judge_of(
        "llm_judge", {"template": "{{output}} vs {{expected}}", "labels": {"a": 1, "b": 0}, "optional": ["expected"]}
    )
    judge = ScriptedJudge("LABEL: a")
    await evaluator.evaluate(EvalInput(output="x"), judge)
    assert judge.calls[0][0] == "x vs (none)"


async def test_a_custom_judge_from_a_file_with_a_header(tmp_path: Path) -> None:
    path = tmp_path / "tone.txt"
    path.write_text(
        "---\ndescription: tone\nvariables: [output, audience]\nlabels: {formal: 1, casual: 0}\n"
        "paths: {audience: $.metadata.audience}\n---\nIs {{output}} formal enough for {{audience}}?\n",
        encoding="utf-8",
    )
    evaluator = judge_of("llm_judge", {"template_file": str(path)})
    judge = ScriptedJudge('{"label": "casual", "explanation": "Slang."}')
    result = await evaluator.evaluate(EvalInput(output="yo", metadata={"audience": "a bank"}), judge)
    assert result == EvalResult(score=0.0, label="casual", explanation="Slang.")
    assert judge.calls[0][0] == "Is yo formal enough for a bank?\n"
    rescaled = judge_of("llm_judge", {"template_file": str(path), "range": [1, 3]})
    assert (
        await rescaled.evaluate(EvalInput(output="yo", metadata={"audience": "x"}), ScriptedJudge("SCORE: 2"))
    ).score == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "param 'template' or 'template_file' is required"),
        (
            {"template": "a {{output}}", "template_file": "x.txt", "range": [0, 1]},
            "is required \\(one of them, not both\\)",
        ),
        (
            {"template": "{{output}} and {{colour}}", "labels": {"a": 1, "b": 0}},
            "unknown variable\\(s\\) colour; known: input",
        ),
        ({"template": "no variables here", "labels": {"a": 1, "b": 0}}, "uses no \\{\\{variables\\}\\}"),
        ({"template": "{{output}}"}, "param 'labels' or 'range' is required"),
        ({"template": "{{output}}", "labels": {"a": 1, "b": 0}, "range": [1, 5]}, "labels or a range, not both"),
        ({"template": "{{output}}", "range": [5, 1]}, "low bound must be below its high bound"),
        ({"template": "{{output}}", "labels": {"only": 1}}, "at least two labels"),
        ({"template_file": "/nonexistent/judge.txt", "range": [0, 1]}, "param 'template_file' cannot be read"),
        (
            {"template": "---\nvariables: [output, input]\nrange: [0, 1]\n---\n{{output}}"},
            "declares variables output, input but uses output",
        ),
        ({"template": "{{output}}", "range": [0, 1], "variables": {"x": "$..y"}}, "mapped but the template never"),
        ({"template": "{{x}}", "range": [0, 1], "variables": {"x": "$..y"}}, "variable 'x'.*recursive descent"),
        ({"template": "{{output}}", "range": [0, 1], "optional": "output"}, None),
    ],
)
def test_bad_custom_judges_fail_at_creation(params: dict[str, Any], message: str | None) -> None:
    if message is None:  # a single name is accepted as a list of one
        assert base.create("llm_judge", params).name == "llm_judge"
        return
    with pytest.raises(ValueError, match=f"evaluator 'llm_judge'.*{message}"):
        base.create("llm_judge", params)


def test_the_item_document() -> None:
    document = item_document(ITEM)
    assert set(document) == {
        "input",
        "output",
        "expected",
        "context",
        "metadata",
        "latency_ms",
        "cost_usd",
        "variables",
        "span",
    }
    assert document["span"] == {"attributes": {"gen_ai.request.model": "gpt-4o"}}
    assert document["variables"]["persona"] == "a historian"
    assert item_document(EvalInput())["span"] is None
