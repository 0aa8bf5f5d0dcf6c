"""The built-in judge templates: each declares what it uses, and renders without a placeholder left."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from glassgate.evals import base
from glassgate.evals.base import EvalInput
from glassgate.evals.judges.judge import BUILTIN, JudgeEvaluator, builtin_template
from glassgate.evals.judges.template import PLACEHOLDER, parse_template
from glassgate.evals.judges.verdict import Labels, Range

FULL_ITEM = EvalInput(
    input={
        "messages": [
            {"role": "system", "parts": [{"type": "text", "text": "You are a travel agent."}]},
            {"role": "user", "parts": [{"type": "text", "text": "What is the weather in Paris?"}]},
        ],
        "tools": [{"name": "get_weather", "description": "Weather by city", "parameters": {"type": "object"}}],
    },
    output={
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                }
            }
        ]
    },
    expected={"messages": [{"role": "assistant", "parts": [{"type": "text", "text": "It is sunny."}]}]},
    context=["Paris: sunny, 24 °C.", "Lyon: rain."],
    metadata={"topic": "travel"},
)


def template_files() -> set[str]:
    folder = resources.files("glassgate.evals").joinpath("templates")
    return {entry.name.removesuffix(".txt") for entry in folder.iterdir() if entry.name.endswith(".txt")}


def test_every_template_file_is_a_registered_judge_and_back() -> None:
    assert template_files() == set(BUILTIN)
    assert set(BUILTIN) <= set(base.registered())


@pytest.mark.parametrize("name", BUILTIN)
def test_each_template_declares_its_scale_and_exactly_the_variables_it_uses(name: str) -> None:
    template = builtin_template(name)
    assert template.description
    assert template.declared is not None and set(template.declared) == set(template.placeholders)
    assert isinstance(template.scale, Labels | Range)
    if isinstance(template.scale, Labels):
        assert max(template.scale.scores.values()) == 1 and min(template.scale.scores.values()) == 0
        for label in template.scale.scores:  # the prompt explains every label it asks for
            assert f'"{label}"' in template.text


@pytest.mark.parametrize("name", BUILTIN)
def test_each_template_renders_with_no_placeholder_left(name: str) -> None:
    evaluator = base.create(name, {})
    assert isinstance(evaluator, JudgeEvaluator)
    prompt = evaluator.prompt(FULL_ITEM)
    assert PLACEHOLDER.search(prompt) is None
    assert "{{" not in prompt and "}}" not in prompt
    if "output" in evaluator.template.placeholders:
        assert '[tool call] get_weather {"city":"Paris"}' in prompt
    if "context" in evaluator.template.placeholders:
        assert "Paris: sunny, 24 °C.\n\nLyon: rain." in prompt
    if "expected" in evaluator.template.placeholders:
        assert "It is sunny." in prompt


def test_the_tool_calls_template_reads_the_offered_tools_from_the_input() -> None:
    evaluator = base.create("tool_calls", {})
    assert isinstance(evaluator, JudgeEvaluator)
    prompt = evaluator.prompt(FULL_ITEM)
    assert '"name": "get_weather"' in prompt
    bare = evaluator.prompt(EvalInput(input="What is the weather?", output="Sunny."))
    assert "<tools_offered>\n(none)\n</tools_offered>" in bare  # optional: no tools offered
    assert "<reference_calls>\n(none)\n</reference_calls>" in bare


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "is empty"),
        ("---\nlabels: {a: 1, b: 0}\n---\n", "has a header but no prompt"),
        ("---\nlabels: [a, b\n---\nx {{output}}", "header is not valid YAML"),
        ("---\n- a\n---\nx", "header must be a mapping"),
        ("---\ncolour: red\n---\nx", "unknown header key\\(s\\) colour"),
        ("---\nvariables: output\n---\nx", "variables must be a list of names"),
        ("---\nvariables: [1]\n---\nx", "variables must be a list of names"),
        ("---\npaths: [a]\n---\nx", "paths must map variable names"),
        ("---\noptional: yes\n---\nx", "optional must be a list"),
        ("---\nlabels: {a: 1}\n---\nx", "at least two labels"),
        ("---\nlabels: {a: 1, b: 0}\nrange: [1, 5]\n---\nx", "labels or a range, not both"),
        ("---\nrange: [5]\n---\nx", "range must be \\[low, high\\]"),
        ("---\nlabels: [a, b]\n---\nx", "labels must map each label to its score"),
    ],
)
def test_bad_template_files(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_template(source, "t.txt")


def test_a_template_without_a_header_is_only_its_text() -> None:
    template = parse_template("Rate {{ output }} against {{expected}}; not {single} braces.", "inline")
    assert template.placeholders == ("output", "expected")
    assert template.scale is None and template.declared is None
    assert (
        template.render({"output": "A {{expected}}", "expected": "B"})
        == "Rate A {{expected}} against B; not {single} braces."
    )


def test_rendering_is_one_pass(tmp_path: Any) -> None:
    template = parse_template("---\nrange: [0, 10]\n---\n{{input}}|{{input}}", "t")
    assert template.render({"input": "{{input}}"}) == "{{input}}|{{input}}"
