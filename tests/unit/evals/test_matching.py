"""exact_match, contains, regex and valid_json: pass/fail evaluators and their edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.evals import base
from glassgate.evals.base import EvalInput, EvalResult
from glassgate.evals.code.reference import NO_EXPECTED, common_length


async def run(name: str, params: dict[str, Any], **item: Any) -> EvalResult:
    return await base.create(name, params).evaluate(EvalInput(**item), None)


# --- exact_match ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "output", "expected", "score"),
    [
        ({}, "Paris", "Paris", 1.0),
        ({}, "Paris\n", "  Paris", 1.0),  # strip by default
        ({"whitespace": "exact"}, "Paris\n", "Paris", 0.0),
        ({}, "paris", "Paris", 0.0),
        ({"ignore_case": True}, "PARIS", "paris", 1.0),
        ({"ignore_case": True}, "STRASSE", "straße", 1.0),  # case folding, not lower()
        ({}, "New  York", "New York", 0.0),
        ({"whitespace": "collapse"}, "New \n York", "New York", 1.0),
        ({"whitespace": "ignore"}, "N e w", "New", 1.0),
        ({}, "", "", 1.0),
        ({}, None, "x", 0.0),
        ({}, "42", 42, 1.0),  # a JSON expected value: the output read as JSON
        ({}, "42.0", 42, 1.0),
        ({}, "true", True, 1.0),
        ({}, "1", True, 0.0),  # JSON true is not 1
        ({}, '{"b": [1, 2], "a": null}', {"a": None, "b": [1, 2]}, 1.0),
        ({}, '{"a": 1}', {"a": 1, "b": 2}, 0.0),
        ({}, "[1, 2]", [2, 1], 0.0),
        ({}, "not json", {"a": 1}, 0.0),
        ({}, {"choices": [{"message": {"content": "Paris"}}]}, "Paris", 1.0),  # a response body
        ({}, "The answer is 42.", {"messages": [{"role": "assistant", "content": "The answer is 42."}]}, 1.0),
        ({"expected": "fixed"}, "fixed", "something else", 1.0),  # the param wins
        ({"expected": "fixed"}, "fixed", None, 1.0),
    ],
)
async def test_exact_match(params: dict[str, Any], output: Any, expected: Any, score: float) -> None:
    result = await run("exact_match", params, output=output, expected=expected)
    assert (result.score, result.label, result.error) == (score, "pass" if score else "fail", None)


async def test_exact_match_says_where_texts_differ() -> None:
    result = await run("exact_match", {}, output="The cat sat", expected="The cat sits")
    assert "first difference at character 9: 'at' vs 'its'" in result.explanation


async def test_exact_match_without_expected_is_an_item_error() -> None:
    result = await run("exact_match", {}, output="x")
    assert result == EvalResult(score=None, label=None, explanation="", error=NO_EXPECTED)


# --- contains ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "output", "expected", "score", "said"),
    [
        ({"values": ["Paris", "France"]}, "Paris is in France", None, 1.0, "contains all of 'Paris', 'France'"),
        ({"values": ["Paris", "Spain"]}, "Paris is in France", None, 0.0, "lacks 'Spain' (1 of 2 found)"),
        ({"values": ["Paris", "Spain"], "mode": "any"}, "Paris", None, 1.0, "contains 'Paris'"),
        ({"values": ["Rome", "Spain"], "mode": "any"}, "Paris", None, 0.0, "none of 'Rome', 'Spain'"),
        ({"values": "paris"}, "PARIS", None, 0.0, "lacks 'paris'"),
        ({"values": "paris", "ignore_case": True}, "PARIS", None, 1.0, "contains 'paris'"),
        ({}, "It is 42, I think", "42", 1.0, "contains '42'"),
        ({}, "blue and green", ["blue", "green"], 1.0, "all of 'blue', 'green'"),  # a list expected
        ({"mode": "any"}, "green", ["blue", "green"], 1.0, "contains 'green'"),
        ({"expected": "x"}, "xyz", None, 1.0, "contains 'x'"),
        ({"values": [str(n) for n in range(8)]}, "", None, 0.0, "'4' and 3 more (0 of 8 found)"),
    ],
)
async def test_contains(params: dict[str, Any], output: Any, expected: Any, score: float, said: str) -> None:
    result = await run("contains", params, output=output, expected=expected)
    assert result.score == score
    assert said in result.explanation


async def test_contains_without_anything_to_look_for_is_an_item_error() -> None:
    assert (await run("contains", {}, output="x")).error == NO_EXPECTED
    assert (await run("contains", {}, output="x", expected="")).error == NO_EXPECTED


# --- regex ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "output", "score", "said"),
    [
        ({"pattern": r"\d{3}-\d{4}"}, "call 555-1234 now", 1.0, "matches '555-1234' at character 5"),
        ({"pattern": r"\d{3}-\d{4}"}, "no number", 0.0, "does not match the output"),
        ({"pattern": r"^yes$"}, "YES", 0.0, "does not match"),
        ({"pattern": r"^yes$", "ignore_case": True}, "YES", 1.0, "matches 'YES'"),
        ({"pattern": r"^b$"}, "a\nb\nc", 0.0, "does not match"),
        ({"pattern": r"^b$", "multiline": True}, "a\nb\nc", 1.0, "matches 'b'"),
        ({"pattern": r"[A-Z]+", "match": "full"}, " ABC \n", 1.0, "matches the whole output"),
        ({"pattern": r"[A-Z]+", "match": "full"}, "ABC d", 0.0, "does not match the whole output"),
        ({"pattern": r"sorry", "must_match": False}, "Here you go", 1.0, "does not match"),
        ({"pattern": r"sorry", "must_match": False}, "I'm sorry", 0.0, "matches 'sorry'"),
        ({"pattern": "z", "max_chars": 5}, "aaaaaaz", 0.0, "compared the first 5 of 7 characters"),
        ({"pattern": "a+"}, "a" * 200, 1.0, "'" + "a" * 80 + "…'"),
    ],
)
async def test_regex(params: dict[str, Any], output: str, score: float, said: str) -> None:
    result = await run("regex", params, output=output)
    assert result.score == score
    assert said in result.explanation


# --- valid_json ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "output", "score", "said"),
    [
        ({}, '{"a": 1}', 1.0, "valid JSON (object)"),
        ({}, "[1, 2]", 1.0, "(array)"),
        ({}, '"text"', 1.0, "(string)"),
        ({}, "null", 1.0, "(null)"),
        ({}, "{'a': 1}", 0.0, "not JSON"),
        ({}, '{"a": 1,}', 0.0, "not JSON"),
        ({}, "NaN", 0.0, "not JSON"),
        ({}, "", 0.0, "empty"),
        ({}, "   ", 0.0, "empty"),
        ({}, '```json\n{"a": 1}\n```', 0.0, "not JSON"),
        ({"strip_fences": True}, '```json\n{"a": 1}\n```', 1.0, "(object)"),
        ({"strip_fences": True}, "  ```\n[1]\n```  ", 1.0, "(array)"),
        ({"type": "object"}, "[1]", 0.0, "top level is array, not object"),
        ({"type": "number"}, "3.5", 1.0, "(number)"),
        ({"type": "number"}, "true", 0.0, "top level is boolean, not number"),
        ({}, {"already": "parsed"}, 1.0, "a JSON value (object)"),
        ({"type": "array"}, {"a": 1}, 0.0, "top level is object, not array"),
        ({}, {"choices": [{"message": {"content": '{"ok": true}'}}]}, 1.0, "valid JSON (object)"),
        ({}, None, 0.0, "empty"),
    ],
)
async def test_valid_json(params: dict[str, Any], output: Any, score: float, said: str) -> None:
    result = await run("valid_json", params, output=output)
    assert result.score == score
    assert said in result.explanation


@pytest.mark.parametrize(
    ("a", "b", "prefix", "suffix"),
    [("", "", 0, 0), ("abc", "abc", 3, 3), ("abcx", "abcy", 3, 0), ("xabc", "yabc", 0, 3), ("a", "ab", 1, 0)],
)
def test_common_length(a: str, b: str, prefix: int, suffix: int) -> None:
    assert common_length(a, b) == prefix
    assert common_length(a, b, suffix=True) == suffix
