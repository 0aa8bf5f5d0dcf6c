"""`contains`: the output contains given strings (score 1, label pass) or not (0, fail).

Params:
- `values` (a string or a list of strings): what to look for. Without it, the item's
  expected output is used: a list of strings as the values, anything else as one value read
  by `answer_text` (or the `expected` param, one string).
- `mode` ("all"): "all" needs every value, "any" needs at least one.
- `ignore_case` (false): compare case-folded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from glassgate.evals.base import PASS_FAIL, EvalInput, EvalResult, JudgeClient, failed, passed
from glassgate.evals.code.reference import NO_EXPECTED, expected_text
from glassgate.evals.params import Params
from glassgate.evals.text import answer_text

_SHOWN = 5  # values named in an explanation


class Contains:
    name = "contains"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        p = Params(self.name, params, {"values", "expected", "mode", "ignore_case"})
        self.values = p.texts("values")
        self.expected = p.text("expected")
        if self.values is not None and self.expected is not None:
            raise p.error("values", "and 'expected' cannot both be given")
        self.mode = p.choice("mode", ("all", "any"), "all")
        self.ignore_case = p.flag("ignore_case", False)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        values = self._values(item)
        if not values:
            return failed(NO_EXPECTED)
        output = answer_text(item.output)
        if self.ignore_case:
            output = output.casefold()
        found = [value for value in values if (value.casefold() if self.ignore_case else value) in output]
        missing = [value for value in values if value not in found]
        if self.mode == "any":
            if found:
                return passed(True, f"the output contains {_names(found)}")
            return passed(False, f"the output contains none of {_names(values)}")
        if not missing:
            return passed(True, f"the output contains {'all of ' if len(values) > 1 else ''}{_names(values)}")
        return passed(False, f"the output lacks {_names(missing)} ({len(found)} of {len(values)} found)")

    def _values(self, item: EvalInput) -> list[str]:
        if self.values is not None:
            return self.values
        if self.expected is None and isinstance(item.expected, list) and all(isinstance(v, str) for v in item.expected):
            return [value for value in item.expected if value]
        expected = expected_text(self.expected, item)
        return [expected] if expected else []


def _names(values: list[str]) -> str:
    shown = ", ".join(repr(value if len(value) <= 60 else value[:60] + "…") for value in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")
