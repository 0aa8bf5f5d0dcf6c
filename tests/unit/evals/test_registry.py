"""The built-in evaluators are registered like plugins; configuration errors name what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest

from glassgate.evals import base
from glassgate.evals.base import EvalInput, EvalResult, Evaluator, JudgeClient
from glassgate.evals.judges.judge import BUILTIN

CODE = [
    "exact_match",
    "contains",
    "regex",
    "valid_json",
    "levenshtein",
    "rouge_l",
    "embedding_similarity",
    "latency_threshold",
    "cost_threshold",
]
MINIMAL: dict[str, dict[str, Any]] = {
    "regex": {"pattern": "x"},
    "latency_threshold": {"max_ms": 100},
    "cost_threshold": {"max_usd": 0.01},
    "llm_judge": {"template": "Is {{output}} good?", "labels": {"good": 1, "bad": 0}},
}


def test_every_built_in_is_registered() -> None:
    assert {*CODE, "json_schema", *BUILTIN, "llm_judge"} <= set(base.registered())
    assert base.registered() == sorted(base.registered())


@pytest.mark.parametrize("name", [*CODE, *BUILTIN, "llm_judge"])
def test_each_builds_with_minimal_params_and_says_its_kind(name: str) -> None:
    evaluator = base.create(name, MINIMAL.get(name, {}))
    assert evaluator.name == name
    assert evaluator.kind == ("code" if name in CODE else "llm")


@pytest.mark.parametrize("name", [*CODE, *BUILTIN, "llm_judge"])
def test_an_unknown_param_is_named(name: str) -> None:
    with pytest.raises(ValueError, match=rf"evaluator '{name}': unknown param\(s\) colour; known: "):
        base.create(name, {**MINIMAL.get(name, {}), "colour": "blue"})


def test_an_unknown_evaluator_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown evaluator 'exact'; known: .*exact_match"):
        base.create("exact", {})


def test_params_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="params must be a mapping"):
        base.create("exact_match", ["ignore_case"])  # type: ignore[arg-type]


def test_json_schema_refuses_a_broken_schema_at_creation() -> None:
    with pytest.raises(ValueError, match=r"param 'schema'.*not a valid JSON Schema"):
        base.create("json_schema", {"schema": {"type": "objekt"}})
    with pytest.raises(ValueError, match=r"param 'schema'"):
        base.create("json_schema", {})


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("exact_match", {"ignore_case": "yes"}, "param 'ignore_case' must be true or false"),
        ("exact_match", {"whitespace": "squash"}, "param 'whitespace' must be one of collapse, exact, ignore, strip"),
        ("contains", {"values": []}, "param 'values' must be a non-empty list"),
        ("contains", {"values": ["a", 3]}, "param 'values' must be a non-empty list of non-empty strings"),
        ("contains", {"values": "a", "expected": "b"}, "'values' and 'expected' cannot both be given"),
        ("contains", {"mode": "some"}, "param 'mode' must be one of all, any"),
        ("regex", {}, "param 'pattern' is required"),
        ("regex", {"pattern": "(unclosed"}, "param 'pattern' is not a valid regular expression"),
        ("regex", {"pattern": "a" * 1001}, "param 'pattern' is over 1000 characters"),
        ("valid_json", {"type": "dict"}, "param 'type' must be one of object, array"),
        ("levenshtein", {"threshold": 1.5}, "param 'threshold' must be at most 1"),
        ("levenshtein", {"max_chars": 0}, "param 'max_chars' must be an integer of at least 1"),
        ("rouge_l", {"beta": -1}, "param 'beta' must be at least 0"),
        ("rouge_l", {"threshold": "high"}, "param 'threshold' must be a number"),
        ("embedding_similarity", {"embedder": "upstream"}, "only 'hashed' is built in here"),
        ("embedding_similarity", {"embedder": 3}, "must be 'hashed' or an object with an async embed"),
        ("embedding_similarity", {"threshold": -2}, "param 'threshold' must be at least -1"),
        ("latency_threshold", {}, "param 'max_ms' is required"),
        ("latency_threshold", {"max_ms": -1}, "param 'max_ms' must be at least 0"),
        ("cost_threshold", {"max_usd": float("nan")}, "param 'max_usd' must be a number"),
        ("cost_threshold", {"max_usd": True}, "param 'max_usd' must be a number"),
    ],
)
def test_bad_params_are_named(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"evaluator '{name}'.*{message}"):
        base.create(name, params)


class _Always:
    """A third-party evaluator: registered the same way as the built-ins."""

    name = "always_one"
    kind: Literal["code", "llm"] = "code"

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        return EvalResult(score=1.0, label=None, explanation="always")


async def test_a_plugin_registers_like_a_built_in() -> None:
    base.register("always_one", _Always)
    try:
        evaluator: Evaluator = base.create("always_one", {"x": 1})
        assert "always_one" in base.registered()
        assert (await evaluator.evaluate(EvalInput(), None)).score == 1.0
    finally:
        base._REGISTRY.pop("always_one")
