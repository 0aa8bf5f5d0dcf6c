"""`exact_match`: the output equals the expected answer (score 1, label pass) or not (0, fail).

Params:
- `expected` (string): compare with this instead of the item's expected output.
- `ignore_case` (false): compare case-folded.
- `whitespace` ("strip"): "exact" compares as is; "strip" ignores leading and trailing
  whitespace; "collapse" also treats any run of whitespace as one space; "ignore" drops all of it.

When the item's expected output is JSON that is not text (an object, array, number or
boolean) and the output is text, the output is parsed as JSON and the values are compared
(key order and formatting do not matter; `1` and `true` stay different).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import orjson

from glassgate.evals.base import PASS_FAIL, EvalInput, EvalResult, JudgeClient, failed, passed
from glassgate.evals.code.reference import NO_EXPECTED, expected_text, first_difference
from glassgate.evals.params import Params
from glassgate.evals.text import answer_text, is_chat_like

_SPACES = re.compile(r"\s+")
WHITESPACE = ("exact", "strip", "collapse", "ignore")


class ExactMatch:
    name = "exact_match"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        p = Params(self.name, params, {"expected", "ignore_case", "whitespace"})
        self.expected = p.text("expected")
        self.ignore_case = p.flag("ignore_case", False)
        self.whitespace = p.choice("whitespace", WHITESPACE, "strip")

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        if self.expected is None and _is_json_value(item.expected) and isinstance(item.output, str):
            return _compare_json(item.output, item.expected)
        expected = expected_text(self.expected, item)
        if expected is None:
            return failed(NO_EXPECTED)
        output, wanted = self.normalize(answer_text(item.output)), self.normalize(expected)
        if output == wanted:
            return passed(True, "the output matches the expected value")
        return passed(False, f"the output differs from the expected value; {first_difference(output, wanted)}")

    def normalize(self, text: str) -> str:
        if self.whitespace == "strip":
            text = text.strip()
        elif self.whitespace == "collapse":
            text = _SPACES.sub(" ", text).strip()
        elif self.whitespace == "ignore":
            text = _SPACES.sub("", text)
        return text.casefold() if self.ignore_case else text


def _is_json_value(value: Any) -> bool:
    return value is not None and not isinstance(value, str) and not is_chat_like(value)


def _compare_json(output: str, expected: Any) -> EvalResult:
    try:
        parsed = orjson.loads(output)
    except orjson.JSONDecodeError as error:
        return passed(False, f"the expected value is JSON and the output is not ({error})")
    if same_json(parsed, expected):
        return passed(True, "the output, read as JSON, equals the expected value")
    return passed(False, "the output, read as JSON, differs from the expected value")


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: like ==, but booleans never equal numbers (Python says True == 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_json(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
